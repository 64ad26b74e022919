// NvmlLibrary: the NVML shared library loaded with dlopen and its entry points resolved by
// name. The agent never links against NVML: a host without the driver still runs the agent,
// and tests put the fake library at the same place.
//
// Versioned entry points are resolved newest first with fallback (nvmlInit_v2 -> nvmlInit,
// nvmlDeviceGetPciInfo_v3 -> _v2, ...). Only older forms with the same ABI are accepted as
// fallbacks. An entry point that is missing is a null pointer; Call() turns it into
// NVML_ERROR_FUNCTION_NOT_FOUND, which callers treat like NVML_ERROR_NOT_SUPPORTED.
//
// Immutable after Load; thread-safe. The library is never dlclose'd: a call hung inside it
// may still be running on a watchdog thread when the agent shuts down.
#ifndef LIGHTCONE_AGENT_GPU_NVML_NVML_LIBRARY_H_
#define LIGHTCONE_AGENT_GPU_NVML_NVML_LIBRARY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/gpu/nvml/nvml_abi.h"

namespace lightcone::agent {

struct NvmlFunctions {
  nvmlReturn_t (*Init)() = nullptr;
  nvmlReturn_t (*Shutdown)() = nullptr;
  const char* (*ErrorString)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*SystemGetDriverVersion)(char*, unsigned int) = nullptr;
  nvmlReturn_t (*SystemGetNVMLVersion)(char*, unsigned int) = nullptr;
  nvmlReturn_t (*SystemGetCudaDriverVersion)(int*) = nullptr;
  nvmlReturn_t (*SystemGetConfComputeState)(nvmlConfComputeSystemState_t*) = nullptr;
  nvmlReturn_t (*DeviceGetCount)(unsigned int*) = nullptr;
  nvmlReturn_t (*DeviceGetHandleByIndex)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*DeviceGetUUID)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*DeviceGetSerial)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*DeviceGetName)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*DeviceGetArchitecture)(nvmlDevice_t, nvmlDeviceArchitecture_t*) = nullptr;
  nvmlReturn_t (*DeviceGetBoardPartNumber)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*DeviceGetBoardId)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*DeviceGetPciInfo)(nvmlDevice_t, nvmlPciInfo_t*) = nullptr;
  nvmlReturn_t (*DeviceGetVbiosVersion)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*DeviceGetInforomImageVersion)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*DeviceGetMinorNumber)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*DeviceGetNvLinkState)(nvmlDevice_t, unsigned int, nvmlEnableState_t*) = nullptr;
  nvmlReturn_t (*DeviceGetNvLinkRemotePciInfo)(nvmlDevice_t, unsigned int,
                                                nvmlPciInfo_t*) = nullptr;
  nvmlReturn_t (*DeviceGetNvLinkErrorCounter)(nvmlDevice_t, unsigned int,
                                               nvmlNvLinkErrorCounter_t,
                                               unsigned long long*) = nullptr;
  nvmlReturn_t (*DeviceGetPowerUsage)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*DeviceGetTotalEnergyConsumption)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*DeviceGetTemperature)(nvmlDevice_t, nvmlTemperatureSensors_t,
                                       unsigned int*) = nullptr;
  nvmlReturn_t (*DeviceGetFieldValues)(nvmlDevice_t, int, nvmlFieldValue_t*) = nullptr;
  nvmlReturn_t (*DeviceGetClockInfo)(nvmlDevice_t, nvmlClockType_t, unsigned int*) = nullptr;
  nvmlReturn_t (*DeviceGetCurrentClocksEventReasons)(nvmlDevice_t,
                                                     unsigned long long*) = nullptr;
  nvmlReturn_t (*DeviceGetUtilizationRates)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*DeviceGetMemoryInfo)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*DeviceGetTotalEccErrors)(nvmlDevice_t, nvmlMemoryErrorType_t,
                                          nvmlEccCounterType_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*DeviceGetRemappedRows)(nvmlDevice_t, unsigned int*, unsigned int*,
                                        unsigned int*, unsigned int*) = nullptr;
  nvmlReturn_t (*EventSetCreate)(nvmlEventSet_t*) = nullptr;
  nvmlReturn_t (*DeviceRegisterEvents)(nvmlDevice_t, unsigned long long,
                                       nvmlEventSet_t) = nullptr;
  nvmlReturn_t (*EventSetWait)(nvmlEventSet_t, nvmlEventData_t*, unsigned int) = nullptr;
  nvmlReturn_t (*EventSetFree)(nvmlEventSet_t) = nullptr;
  nvmlReturn_t (*DeviceGetConfComputeGpuAttestationReport)(
      nvmlDevice_t, nvmlConfComputeGpuAttestationReport_t*) = nullptr;
  nvmlReturn_t (*DeviceGetConfComputeGpuCertificate)(nvmlDevice_t,
                                                     nvmlConfComputeGpuCertificate_t*) = nullptr;
};

class NvmlLibrary {
 public:
  // Loads the library at `path` (a file name is searched the dlopen way) and resolves its
  // entry points. kNotFound when the library cannot be loaded; kFailedPrecondition when it
  // lacks nvmlInit, nvmlDeviceGetCount or nvmlDeviceGetHandleByIndex in any form.
  static absl::StatusOr<std::shared_ptr<const NvmlLibrary>> Load(const std::string& path);

  const NvmlFunctions& fn() const { return fn_; }

  // NVML's text for `rc` ("Not Supported"), or "NVML error <rc>".
  std::string ErrorString(nvmlReturn_t rc) const;

  // Entry points the library does not export (for diagnostics).
  const std::vector<std::string>& missing() const { return missing_; }

  // Calls `f(args...)`, or returns NVML_ERROR_FUNCTION_NOT_FOUND when `f` is null.
  template <typename F, typename... Args>
  static nvmlReturn_t Call(F* f, Args... args) {
    if (f == nullptr) return NVML_ERROR_FUNCTION_NOT_FOUND;
    return f(args...);
  }

 private:
  NvmlLibrary() = default;
  void* handle_ = nullptr;
  NvmlFunctions fn_;
  std::vector<std::string> missing_;
};

// True for return codes that mean "this field is not available here" rather than a fault.
inline bool NvmlFieldAbsent(nvmlReturn_t rc) {
  return rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_FUNCTION_NOT_FOUND ||
         rc == NVML_ERROR_NO_PERMISSION || rc == NVML_ERROR_NO_DATA ||
         rc == NVML_ERROR_NOT_FOUND;
}

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_GPU_NVML_NVML_LIBRARY_H_
