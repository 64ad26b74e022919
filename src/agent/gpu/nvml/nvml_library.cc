#include "agent/gpu/nvml/nvml_library.h"

#include <dlfcn.h>

#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lightcone::agent {
namespace {

// Resolves the first of `names` that the library exports into `*out`.
template <typename F>
void Resolve(void* handle, F** out, std::initializer_list<const char*> names,
             std::vector<std::string>* missing) {
  for (const char* name : names) {
    if (void* sym = dlsym(handle, name)) {
      *out = reinterpret_cast<F*>(sym);
      return;
    }
  }
  missing->push_back(*names.begin());
}

}  // namespace

absl::StatusOr<std::shared_ptr<const NvmlLibrary>> NvmlLibrary::Load(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    return absl::NotFoundError(absl::StrCat("cannot load NVML library '", path,
                                            "': ", err ? err : "unknown dlopen error",
                                            " (is the NVIDIA driver installed?)"));
  }
  std::shared_ptr<NvmlLibrary> lib(new NvmlLibrary());
  lib->handle_ = handle;
  NvmlFunctions& f = lib->fn_;
  std::vector<std::string>* m = &lib->missing_;
  Resolve(handle, &f.Init, {"nvmlInit_v2", "nvmlInit"}, m);
  Resolve(handle, &f.Shutdown, {"nvmlShutdown"}, m);
  Resolve(handle, &f.ErrorString, {"nvmlErrorString"}, m);
  Resolve(handle, &f.SystemGetDriverVersion, {"nvmlSystemGetDriverVersion"}, m);
  Resolve(handle, &f.SystemGetNVMLVersion, {"nvmlSystemGetNVMLVersion"}, m);
  Resolve(handle, &f.SystemGetCudaDriverVersion,
          {"nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"}, m);
  Resolve(handle, &f.SystemGetConfComputeState, {"nvmlSystemGetConfComputeState"}, m);
  Resolve(handle, &f.DeviceGetCount, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"}, m);
  Resolve(handle, &f.DeviceGetHandleByIndex,
          {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"}, m);
  Resolve(handle, &f.DeviceGetUUID, {"nvmlDeviceGetUUID"}, m);
  Resolve(handle, &f.DeviceGetSerial, {"nvmlDeviceGetSerial"}, m);
  Resolve(handle, &f.DeviceGetName, {"nvmlDeviceGetName"}, m);
  Resolve(handle, &f.DeviceGetArchitecture, {"nvmlDeviceGetArchitecture"}, m);
  Resolve(handle, &f.DeviceGetBoardPartNumber, {"nvmlDeviceGetBoardPartNumber"}, m);
  Resolve(handle, &f.DeviceGetBoardId, {"nvmlDeviceGetBoardId"}, m);
  // The unversioned nvmlDeviceGetPciInfo has another struct layout: no fallback to it.
  Resolve(handle, &f.DeviceGetPciInfo, {"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2"},
          m);
  Resolve(handle, &f.DeviceGetVbiosVersion, {"nvmlDeviceGetVbiosVersion"}, m);
  Resolve(handle, &f.DeviceGetInforomImageVersion, {"nvmlDeviceGetInforomImageVersion"}, m);
  Resolve(handle, &f.DeviceGetMinorNumber, {"nvmlDeviceGetMinorNumber"}, m);
  Resolve(handle, &f.DeviceGetNvLinkState, {"nvmlDeviceGetNvLinkState"}, m);
  Resolve(handle, &f.DeviceGetNvLinkRemotePciInfo, {"nvmlDeviceGetNvLinkRemotePciInfo_v2"}, m);
  Resolve(handle, &f.DeviceGetNvLinkErrorCounter, {"nvmlDeviceGetNvLinkErrorCounter"}, m);
  Resolve(handle, &f.DeviceGetPowerUsage, {"nvmlDeviceGetPowerUsage"}, m);
  Resolve(handle, &f.DeviceGetTotalEnergyConsumption, {"nvmlDeviceGetTotalEnergyConsumption"},
          m);
  Resolve(handle, &f.DeviceGetTemperature, {"nvmlDeviceGetTemperature"}, m);
  Resolve(handle, &f.DeviceGetFieldValues, {"nvmlDeviceGetFieldValues"}, m);
  Resolve(handle, &f.DeviceGetClockInfo, {"nvmlDeviceGetClockInfo"}, m);
  // Renamed from "throttle reasons" in driver 535; same ABI.
  Resolve(handle, &f.DeviceGetCurrentClocksEventReasons,
          {"nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"},
          m);
  Resolve(handle, &f.DeviceGetUtilizationRates, {"nvmlDeviceGetUtilizationRates"}, m);
  Resolve(handle, &f.DeviceGetMemoryInfo, {"nvmlDeviceGetMemoryInfo"}, m);
  Resolve(handle, &f.DeviceGetTotalEccErrors, {"nvmlDeviceGetTotalEccErrors"}, m);
  Resolve(handle, &f.DeviceGetRemappedRows, {"nvmlDeviceGetRemappedRows"}, m);
  Resolve(handle, &f.EventSetCreate, {"nvmlEventSetCreate"}, m);
  Resolve(handle, &f.DeviceRegisterEvents, {"nvmlDeviceRegisterEvents"}, m);
  // nvmlEventSetWait (v1) fills a prefix of nvmlEventData_t: safe as a fallback.
  Resolve(handle, &f.EventSetWait, {"nvmlEventSetWait_v2", "nvmlEventSetWait"}, m);
  Resolve(handle, &f.EventSetFree, {"nvmlEventSetFree"}, m);
  Resolve(handle, &f.DeviceGetConfComputeGpuAttestationReport,
          {"nvmlDeviceGetConfComputeGpuAttestationReport"}, m);
  Resolve(handle, &f.DeviceGetConfComputeGpuCertificate,
          {"nvmlDeviceGetConfComputeGpuCertificate"}, m);

  if (f.Init == nullptr || f.DeviceGetCount == nullptr || f.DeviceGetHandleByIndex == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not a usable NVML library: missing ",
                     absl::StrJoin(lib->missing_, ", ")));
  }
  return std::shared_ptr<const NvmlLibrary>(std::move(lib));
}

std::string NvmlLibrary::ErrorString(nvmlReturn_t rc) const {
  if (fn_.ErrorString != nullptr) {
    if (const char* s = fn_.ErrorString(rc)) return absl::StrCat(s, " (", rc, ")");
  }
  return absl::StrCat("NVML error ", rc);
}

}  // namespace lightcone::agent
