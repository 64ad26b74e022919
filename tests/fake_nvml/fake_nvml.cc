// A fake libnvidia-ml.so.1 for tests, benchmarks and the demo. The agent loads it through
// the same dlopen path as the driver's library (NvmlGpuSource::Options::library_path or
// LD_LIBRARY_PATH) and cannot tell it apart from the real one at the ABI level.
//
// It is driven by a scenario file (JSON) named by the environment variable
// FAKE_NVML_SCENARIO, read at every nvmlInit. The scenario clock starts at that nvmlInit. Format (every field optional; docs/agent.md has the full description):
//
//   { "driver_version": "550.54.15", "nvml_version": "12.550.54.15",
//     "cuda_driver_version": 12040,
//     "confidential_computing": {"environment": 2, "enabled": true, "devtools_mode": false},
//     "attestation": {"root_pem": .., "root_key_pem": .., "ica_pem": .., "ica_key_pem": ..},
//     "hangs": [{"function": "nvmlDeviceGetPowerUsage", "gpu": 1, "after_s": 2,
//                "duration_s": 3600}],
//     "gpus": [{
//       "uuid": "GPU-..", "serial": "..", "name": "NVIDIA H100 80GB HBM3", "architecture": 9,
//       "board_part_number": "..", "board_id": 4352, "pci_bus_id": "00000000:18:00.0",
//       "pci_device_id": 590418142, "pci_subsystem_id": 381816030,
//       "vbios_version": "96.00.99.00.01", "inforom_version": "G520.0200.00.05",
//       "minor_number": 0,
//       "nvlinks": [{"active": true, "remote_pci_bus_id": "00000000:05:00.0"}],
//       "telemetry": {"power_mw": 312000, "temperature_c": [[0, 40], [2.5, 55]], ...},
//       "xids": [{"at_s": 0.5, "xid": 79}],
//       "lost_after_s": 4,
//       "unsupported": ["nvmlDeviceGetSerial"],
//       "attestation": {"hwmodel": "GH100 A01 GSP BROM", "leaf_serial_hex": "..",
//                       "vbios": "96.00.99.00.01"} }] }
//
// A telemetry value is a number (constant) or a list of [time_s, value] points: the value
// of the last point at or before now (the first point's before it). A hang makes the named
// function (on one GPU, or on all when "gpu" is absent) sleep until after_s + duration_s.
// After lost_after_s every call on that GPU returns NVML_ERROR_GPU_IS_LOST.
//
// Symbol set: the fake exports some entry points only under their older names
// (nvmlDeviceGetPciInfo_v2, nvmlDeviceGetCurrentClocksThrottleReasons), as an older driver
// would, so the agent's symbol fallback is exercised.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/gpu/nvml/nvml_abi.h"
#include "attest/report_builder.h"
#include "attest/test_ca.h"
#include "nlohmann/json.hpp"

#define FAKE_NVML_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr int kMaxGpus = 64;

struct Hang {
  std::string function;
  int gpu = -1;  // -1: every GPU and system calls
  double after_s = 0;
  double duration_s = 0;
};

struct Xid {
  double at_s = 0;
  unsigned long long xid = 0;
};

struct Gpu {
  json spec;  // the scenario object
  std::vector<Xid> xids;  // sorted by time
  std::optional<double> lost_after_s;
  std::set<std::string> unsupported;
};

struct Scenario {
  json spec;
  std::vector<Gpu> gpus;
  std::vector<Hang> hangs;
  Clock::time_point start;
  std::optional<lightcone::attest::TestCa> ca;
  // Devices issued by the test CA, one per GPU, made on first use.
  mutable std::mutex devices_mu;
  mutable std::map<int, lightcone::attest::TestDevice> devices;

  double Now() const {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }
};

std::mutex g_mu;
int g_init_count = 0;
// Never freed: a call hung in the fake may still hold it while the process exits.
std::shared_ptr<const Scenario>* g_scenario = new std::shared_ptr<const Scenario>();

std::shared_ptr<const Scenario> Current() {
  std::lock_guard<std::mutex> lock(g_mu);
  return *g_scenario;
}

void Complain(const std::string& what) { std::fprintf(stderr, "fake_nvml: %s\n", what.c_str()); }

std::shared_ptr<Scenario> Load(std::string* error) {
  const char* path = std::getenv("FAKE_NVML_SCENARIO");
  if (path == nullptr) {
    *error = "FAKE_NVML_SCENARIO is not set";
    return nullptr;
  }
  std::ifstream in(path);
  if (!in) {
    *error = std::string("cannot read scenario ") + path;
    return nullptr;
  }
  auto sc = std::make_shared<Scenario>();
  try {
    sc->spec = json::parse(in);
    for (const json& g : sc->spec.value("gpus", json::array())) {
      Gpu gpu;
      gpu.spec = g;
      for (const json& x : g.value("xids", json::array())) {
        gpu.xids.push_back({x.at("at_s").get<double>(), x.at("xid").get<unsigned long long>()});
      }
      std::stable_sort(gpu.xids.begin(), gpu.xids.end(),
                       [](const Xid& a, const Xid& b) { return a.at_s < b.at_s; });
      if (g.contains("lost_after_s")) gpu.lost_after_s = g["lost_after_s"].get<double>();
      for (const json& u : g.value("unsupported", json::array())) {
        gpu.unsupported.insert(u.get<std::string>());
      }
      for (const json& h : g.value("hangs", json::array())) {
        sc->hangs.push_back({h.at("function").get<std::string>(),
                             static_cast<int>(sc->gpus.size()), h.value("after_s", 0.0),
                             h.value("duration_s", 3600.0)});
      }
      sc->gpus.push_back(std::move(gpu));
      if (sc->gpus.size() > static_cast<size_t>(kMaxGpus)) break;
    }
    for (const json& h : sc->spec.value("hangs", json::array())) {
      sc->hangs.push_back({h.at("function").get<std::string>(), h.value("gpu", -1),
                           h.value("after_s", 0.0), h.value("duration_s", 3600.0)});
    }
    if (sc->spec.contains("attestation")) {
      const json& a = sc->spec["attestation"];
      auto ca = lightcone::attest::TestCa::FromPem(
          a.at("root_pem").get<std::string>(), a.at("root_key_pem").get<std::string>(),
          a.at("ica_pem").get<std::string>(), a.at("ica_key_pem").get<std::string>());
      if (!ca.ok()) {
        *error = "attestation CA: " + ca.status().ToString();
        return nullptr;
      }
      sc->ca = *std::move(ca);
    }
  } catch (const std::exception& e) {
    *error = std::string("scenario ") + path + ": " + e.what();
    return nullptr;
  }
  sc->start = Clock::now();
  return sc;
}

// Sleeps while a hang for `function` on `gpu` is active.
void MaybeHang(const Scenario& sc, const char* function, int gpu) {
  for (const Hang& h : sc.hangs) {
    if (h.function != function || (h.gpu != -1 && h.gpu != gpu)) continue;
    const double now = sc.Now();
    const double end = h.after_s + h.duration_s;
    if (now >= h.after_s && now < end) {
      std::this_thread::sleep_for(std::chrono::duration<double>(end - now));
    }
  }
}

int IndexOf(nvmlDevice_t device) {
  return static_cast<int>(reinterpret_cast<uintptr_t>(device)) - 1;
}

nvmlDevice_t HandleOf(int index) {
  return reinterpret_cast<nvmlDevice_t>(static_cast<uintptr_t>(index + 1));
}

// Common entry of a device function: scenario, hang, GPU lookup, lost and unsupported.
// Returns NVML_SUCCESS and sets *gpu when the call should proceed.
nvmlReturn_t Enter(const char* function, nvmlDevice_t device,
                   std::shared_ptr<const Scenario>* sc, const Gpu** gpu) {
  *sc = Current();
  if (!*sc) return NVML_ERROR_UNINITIALIZED;
  const int index = IndexOf(device);
  if (index < 0 || index >= static_cast<int>((*sc)->gpus.size())) {
    return NVML_ERROR_INVALID_ARGUMENT;
  }
  MaybeHang(**sc, function, index);
  *gpu = &(*sc)->gpus[index];
  if ((*gpu)->lost_after_s && (*sc)->Now() >= *(*gpu)->lost_after_s) {
    return NVML_ERROR_GPU_IS_LOST;
  }
  if ((*gpu)->unsupported.count(function)) return NVML_ERROR_NOT_SUPPORTED;
  return NVML_SUCCESS;
}

nvmlReturn_t EnterSystem(const char* function, std::shared_ptr<const Scenario>* sc) {
  *sc = Current();
  if (!*sc) return NVML_ERROR_UNINITIALIZED;
  MaybeHang(**sc, function, -1);
  for (const json& u : (*sc)->spec.value("unsupported", json::array())) {
    if (u == function) return NVML_ERROR_NOT_SUPPORTED;
  }
  return NVML_SUCCESS;
}

// The value of telemetry series `key` now, or nullopt when the scenario has none.
std::optional<double> Value(const Scenario& sc, const Gpu& gpu, const char* key) {
  auto telemetry = gpu.spec.find("telemetry");
  if (telemetry == gpu.spec.end()) return std::nullopt;
  auto it = telemetry->find(key);
  if (it == telemetry->end()) return std::nullopt;
  const json& v = *it;
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  if (!v.is_array() || v.empty()) return std::nullopt;
  const double now = sc.Now();
  double out = v[0].at(1).get<double>();
  for (const json& point : v) {
    if (point.at(0).get<double>() <= now) out = point.at(1).get<double>();
  }
  return out;
}

nvmlReturn_t CopyString(const std::string& s, char* out, unsigned int length) {
  if (out == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (s.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(out, s.c_str(), s.size() + 1);
  return NVML_SUCCESS;
}

nvmlReturn_t DeviceString(const char* function, nvmlDevice_t device, const char* key, char* out,
                          unsigned int length) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter(function, device, &sc, &gpu); rc != NVML_SUCCESS) return rc;
  if (!gpu->spec.contains(key)) return NVML_ERROR_NOT_SUPPORTED;
  return CopyString(gpu->spec[key].get<std::string>(), out, length);
}

nvmlReturn_t DeviceUint(const char* function, nvmlDevice_t device, const char* key,
                        unsigned int* out) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter(function, device, &sc, &gpu); rc != NVML_SUCCESS) return rc;
  if (out == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (!gpu->spec.contains(key)) return NVML_ERROR_NOT_SUPPORTED;
  *out = gpu->spec[key].get<unsigned int>();
  return NVML_SUCCESS;
}

template <typename T>
nvmlReturn_t TelemetryValue(const char* function, nvmlDevice_t device, const char* key, T* out) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter(function, device, &sc, &gpu); rc != NVML_SUCCESS) return rc;
  if (out == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  std::optional<double> v = Value(*sc, *gpu, key);
  if (!v) return NVML_ERROR_NOT_SUPPORTED;
  *out = static_cast<T>(*v);
  return NVML_SUCCESS;
}

void FillPci(const std::string& bus_id, unsigned int device_id, unsigned int subsystem_id,
             nvmlPciInfo_t* pci) {
  std::memset(pci, 0, sizeof(*pci));
  std::snprintf(pci->busId, sizeof(pci->busId), "%s", bus_id.c_str());
  // Legacy form: 4-digit domain. "00000000:18:00.0" -> "0000:18:00.0".
  std::string legacy = bus_id.size() > 8 ? bus_id.substr(4) : bus_id;
  std::snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%s", legacy.c_str());
  unsigned int domain = 0, bus = 0, dev = 0;
  std::sscanf(bus_id.c_str(), "%x:%x:%x", &domain, &bus, &dev);
  pci->domain = domain;
  pci->bus = bus;
  pci->device = dev;
  pci->pciDeviceId = device_id;
  pci->pciSubSystemId = subsystem_id;
}

struct EventSet {
  std::mutex mu;
  std::set<int> registered;
  std::map<int, size_t> delivered;  // GPU index -> XIDs already returned
};

}  // namespace

// ---- Library and system --------------------------------------------------------------

// Unlike the driver, every nvmlInit reloads the scenario and restarts its clock, so that
// tests in one process (whose earlier sources may have skipped nvmlShutdown because a call
// was hung) each start from their own scenario.
FAKE_NVML_EXPORT nvmlReturn_t nvmlInit_v2() {
  std::string error;
  std::shared_ptr<Scenario> sc = Load(&error);
  if (!sc) {
    Complain(error);
    return NVML_ERROR_UNKNOWN;
  }
  MaybeHang(*sc, "nvmlInit_v2", -1);
  std::lock_guard<std::mutex> lock(g_mu);
  *g_scenario = std::move(sc);
  ++g_init_count;
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlInit() { return nvmlInit_v2(); }

FAKE_NVML_EXPORT nvmlReturn_t nvmlShutdown() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
  if (--g_init_count == 0) g_scenario->reset();
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT const char* nvmlErrorString(nvmlReturn_t rc) {
  switch (rc) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    default: return "Unknown Error";
  }
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  std::shared_ptr<const Scenario> sc;
  if (nvmlReturn_t rc = EnterSystem("nvmlSystemGetDriverVersion", &sc); rc != NVML_SUCCESS) {
    return rc;
  }
  return CopyString(sc->spec.value("driver_version", "550.54.15"), version, length);
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char* version, unsigned int length) {
  std::shared_ptr<const Scenario> sc;
  if (nvmlReturn_t rc = EnterSystem("nvmlSystemGetNVMLVersion", &sc); rc != NVML_SUCCESS) {
    return rc;
  }
  return CopyString(sc->spec.value("nvml_version", "12.550.54.15"), version, length);
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int* version) {
  std::shared_ptr<const Scenario> sc;
  if (nvmlReturn_t rc = EnterSystem("nvmlSystemGetCudaDriverVersion_v2", &sc);
      rc != NVML_SUCCESS) {
    return rc;
  }
  if (version == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *version = sc->spec.value("cuda_driver_version", 12040);
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlSystemGetConfComputeState(nvmlConfComputeSystemState_t* state) {
  std::shared_ptr<const Scenario> sc;
  if (nvmlReturn_t rc = EnterSystem("nvmlSystemGetConfComputeState", &sc); rc != NVML_SUCCESS) {
    return rc;
  }
  if (state == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (!sc->spec.contains("confidential_computing")) return NVML_ERROR_NOT_SUPPORTED;
  const json& cc = sc->spec["confidential_computing"];
  state->environment = cc.value("environment", 0u);
  state->ccFeature = cc.value("enabled", false) ? 1 : 0;
  state->devToolsMode = cc.value("devtools_mode", false) ? 1 : 0;
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  std::shared_ptr<const Scenario> sc;
  if (nvmlReturn_t rc = EnterSystem("nvmlDeviceGetCount_v2", &sc); rc != NVML_SUCCESS) return rc;
  if (count == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *count = static_cast<unsigned int>(sc->gpus.size());
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                            nvmlDevice_t* device) {
  std::shared_ptr<const Scenario> sc;
  if (nvmlReturn_t rc = EnterSystem("nvmlDeviceGetHandleByIndex_v2", &sc); rc != NVML_SUCCESS) {
    return rc;
  }
  if (device == nullptr || index >= sc->gpus.size()) return NVML_ERROR_INVALID_ARGUMENT;
  *device = HandleOf(static_cast<int>(index));
  return NVML_SUCCESS;
}

// ---- Identity ---------------------------------------------------------------------------

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char* s, unsigned int n) {
  return DeviceString("nvmlDeviceGetUUID", d, "uuid", s, n);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t d, char* s, unsigned int n) {
  return DeviceString("nvmlDeviceGetSerial", d, "serial", s, n);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char* s, unsigned int n) {
  return DeviceString("nvmlDeviceGetName", d, "name", s, n);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetBoardPartNumber(nvmlDevice_t d, char* s,
                                                           unsigned int n) {
  return DeviceString("nvmlDeviceGetBoardPartNumber", d, "board_part_number", s, n);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetVbiosVersion(nvmlDevice_t d, char* s, unsigned int n) {
  return DeviceString("nvmlDeviceGetVbiosVersion", d, "vbios_version", s, n);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetInforomImageVersion(nvmlDevice_t d, char* s,
                                                               unsigned int n) {
  return DeviceString("nvmlDeviceGetInforomImageVersion", d, "inforom_version", s, n);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t d,
                                                        nvmlDeviceArchitecture_t* arch) {
  return DeviceUint("nvmlDeviceGetArchitecture", d, "architecture", arch);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetBoardId(nvmlDevice_t d, unsigned int* id) {
  return DeviceUint("nvmlDeviceGetBoardId", d, "board_id", id);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t d, unsigned int* minor) {
  return DeviceUint("nvmlDeviceGetMinorNumber", d, "minor_number", minor);
}

// Exported only as _v2 (no _v3): the agent must fall back.
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t d, nvmlPciInfo_t* pci) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceGetPciInfo_v2", d, &sc, &gpu); rc != NVML_SUCCESS) {
    return rc;
  }
  if (pci == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (!gpu->spec.contains("pci_bus_id")) return NVML_ERROR_NOT_SUPPORTED;
  FillPci(gpu->spec["pci_bus_id"].get<std::string>(), gpu->spec.value("pci_device_id", 0u),
          gpu->spec.value("pci_subsystem_id", 0u), pci);
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t d, unsigned int link,
                                                       nvmlEnableState_t* active) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceGetNvLinkState", d, &sc, &gpu); rc != NVML_SUCCESS) {
    return rc;
  }
  if (!gpu->spec.contains("nvlinks")) return NVML_ERROR_NOT_SUPPORTED;
  const json& links = gpu->spec["nvlinks"];
  if (active == nullptr || link >= links.size()) return NVML_ERROR_INVALID_ARGUMENT;
  *active = links[link].value("active", false) ? 1 : 0;
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t d,
                                                                  unsigned int link,
                                                                  nvmlPciInfo_t* pci) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceGetNvLinkRemotePciInfo_v2", d, &sc, &gpu);
      rc != NVML_SUCCESS) {
    return rc;
  }
  const json links = gpu->spec.value("nvlinks", json::array());
  if (pci == nullptr || link >= links.size()) return NVML_ERROR_INVALID_ARGUMENT;
  if (!links[link].contains("remote_pci_bus_id")) return NVML_ERROR_NOT_SUPPORTED;
  FillPci(links[link]["remote_pci_bus_id"].get<std::string>(), 0, 0, pci);
  return NVML_SUCCESS;
}

// ---- Telemetry ----------------------------------------------------------------------------

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int* mw) {
  return TelemetryValue("nvmlDeviceGetPowerUsage", d, "power_mw", mw);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d,
                                                                  unsigned long long* mj) {
  return TelemetryValue("nvmlDeviceGetTotalEnergyConsumption", d, "energy_mj", mj);
}
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d,
                                                       nvmlTemperatureSensors_t sensor,
                                                       unsigned int* c) {
  if (sensor != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
  return TelemetryValue("nvmlDeviceGetTemperature", d, "temperature_c", c);
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int count,
                                                       nvmlFieldValue_t* values) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceGetFieldValues", d, &sc, &gpu); rc != NVML_SUCCESS) {
    return rc;
  }
  if (values == nullptr || count < 0) return NVML_ERROR_INVALID_ARGUMENT;
  for (int i = 0; i < count; ++i) {
    nvmlFieldValue_t& f = values[i];
    std::optional<double> v;
    if (f.fieldId == NVML_FI_DEV_MEMORY_TEMP) v = Value(*sc, *gpu, "memory_temperature_c");
    if (!v) {
      f.nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
      continue;
    }
    f.nvmlReturn = NVML_SUCCESS;
    f.valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
    f.value.uiVal = static_cast<unsigned int>(*v);
  }
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, nvmlClockType_t type,
                                                     unsigned int* mhz) {
  static const char* const kKeys[] = {"clock_graphics_mhz", "clock_sm_mhz", "clock_mem_mhz",
                                      "clock_video_mhz"};
  if (type < 0 || type > 3) return NVML_ERROR_INVALID_ARGUMENT;
  return TelemetryValue("nvmlDeviceGetClockInfo", d, kKeys[type], mhz);
}

// Exported only under the pre-535 name: the agent must fall back.
FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d,
                                                                        unsigned long long* r) {
  return TelemetryValue("nvmlDeviceGetCurrentClocksThrottleReasons", d, "clock_event_reasons",
                        r);
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d,
                                                            nvmlUtilization_t* util) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceGetUtilizationRates", d, &sc, &gpu);
      rc != NVML_SUCCESS) {
    return rc;
  }
  std::optional<double> g = Value(*sc, *gpu, "utilization_gpu_pct");
  std::optional<double> m = Value(*sc, *gpu, "utilization_memory_pct");
  if (util == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (!g || !m) return NVML_ERROR_NOT_SUPPORTED;
  util->gpu = static_cast<unsigned int>(*g);
  util->memory = static_cast<unsigned int>(*m);
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t* mem) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceGetMemoryInfo", d, &sc, &gpu); rc != NVML_SUCCESS) {
    return rc;
  }
  std::optional<double> total = Value(*sc, *gpu, "memory_total_bytes");
  std::optional<double> used = Value(*sc, *gpu, "memory_used_bytes");
  if (mem == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (!total || !used) return NVML_ERROR_NOT_SUPPORTED;
  mem->total = static_cast<unsigned long long>(*total);
  mem->used = static_cast<unsigned long long>(*used);
  mem->free = mem->total - std::min(mem->total, mem->used);
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d,
                                                          nvmlMemoryErrorType_t type,
                                                          nvmlEccCounterType_t,
                                                          unsigned long long* count) {
  return TelemetryValue("nvmlDeviceGetTotalEccErrors", d,
                        type == NVML_MEMORY_ERROR_TYPE_CORRECTED ? "ecc_corrected"
                                                                 : "ecc_uncorrected",
                        count);
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t d, unsigned int* corr,
                                                        unsigned int* unc,
                                                        unsigned int* pending,
                                                        unsigned int* failure) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceGetRemappedRows", d, &sc, &gpu); rc != NVML_SUCCESS) {
    return rc;
  }
  if (!corr || !unc || !pending || !failure) return NVML_ERROR_INVALID_ARGUMENT;
  std::optional<double> c = Value(*sc, *gpu, "remapped_correctable");
  if (!c) return NVML_ERROR_NOT_SUPPORTED;
  *corr = static_cast<unsigned int>(*c);
  *unc = static_cast<unsigned int>(Value(*sc, *gpu, "remapped_uncorrectable").value_or(0));
  *pending = static_cast<unsigned int>(Value(*sc, *gpu, "remap_pending").value_or(0));
  *failure = static_cast<unsigned int>(Value(*sc, *gpu, "remap_failure").value_or(0));
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkErrorCounter(nvmlDevice_t d, unsigned int link,
                                                              nvmlNvLinkErrorCounter_t counter,
                                                              unsigned long long* value) {
  static const char* const kKeys[] = {"nvlink_replay_errors", "nvlink_recovery_errors",
                                      "nvlink_crc_flit_errors", "nvlink_crc_data_errors",
                                      "nvlink_ecc_data_errors"};
  if (counter < 0 || counter >= NVML_NVLINK_ERROR_COUNT) return NVML_ERROR_INVALID_ARGUMENT;
  (void)link;  // the scenario gives one value per GPU, the same on every link
  return TelemetryValue("nvmlDeviceGetNvLinkErrorCounter", d, kKeys[counter], value);
}

// ---- Events -------------------------------------------------------------------------------

FAKE_NVML_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t* set) {
  std::shared_ptr<const Scenario> sc;
  if (nvmlReturn_t rc = EnterSystem("nvmlEventSetCreate", &sc); rc != NVML_SUCCESS) return rc;
  if (set == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *set = reinterpret_cast<nvmlEventSet_t>(new EventSet());
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d,
                                                       unsigned long long event_types,
                                                       nvmlEventSet_t set) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceRegisterEvents", d, &sc, &gpu); rc != NVML_SUCCESS) {
    return rc;
  }
  if (set == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if ((event_types & nvmlEventTypeXidCriticalError) == 0) return NVML_SUCCESS;
  auto* es = reinterpret_cast<EventSet*>(set);
  std::lock_guard<std::mutex> lock(es->mu);
  es->registered.insert(IndexOf(d));
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t* data,
                                                  unsigned int timeout_ms) {
  std::shared_ptr<const Scenario> sc;
  if (nvmlReturn_t rc = EnterSystem("nvmlEventSetWait_v2", &sc); rc != NVML_SUCCESS) return rc;
  if (set == nullptr || data == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  auto* es = reinterpret_cast<EventSet*>(set);
  const double deadline = sc->Now() + timeout_ms / 1000.0;
  while (true) {
    double next_event = deadline;
    {
      std::lock_guard<std::mutex> lock(es->mu);
      const double now = sc->Now();
      for (int gpu : es->registered) {
        const std::vector<Xid>& xids = sc->gpus[gpu].xids;
        size_t& done = es->delivered[gpu];
        if (done >= xids.size()) continue;
        if (xids[done].at_s <= now) {
          *data = nvmlEventData_t{};
          data->device = HandleOf(gpu);
          data->eventType = nvmlEventTypeXidCriticalError;
          data->eventData = xids[done].xid;
          ++done;
          return NVML_SUCCESS;
        }
        next_event = std::min(next_event, xids[done].at_s);
      }
      if (now >= deadline) return NVML_ERROR_TIMEOUT;
    }
    // Block like the driver does: wake only for the next event or the deadline.
    std::this_thread::sleep_for(std::chrono::duration<double>(
        std::max(0.0, std::min(next_event, deadline) - sc->Now())));
  }
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  delete reinterpret_cast<EventSet*>(set);
  return NVML_SUCCESS;
}

// ---- Attestation --------------------------------------------------------------------------

namespace {

// The test-CA device of GPU `index`, issued on first use.
// The pointer stays valid while `sc` lives (map nodes are stable).
nvmlReturn_t DeviceFor(const Scenario& sc, const Gpu& gpu, int index,
                       const lightcone::attest::TestDevice** out) {
  if (!sc.ca) return NVML_ERROR_NOT_SUPPORTED;
  std::lock_guard<std::mutex> lock(sc.devices_mu);
  auto it = sc.devices.find(index);
  if (it == sc.devices.end()) {
    const json a = gpu.spec.value("attestation", json::object());
    lightcone::attest::TestDeviceOptions options;
    options.hwmodel = a.value("hwmodel", options.hwmodel);
    const std::string serial_hex = a.value("leaf_serial_hex", "");
    for (size_t i = 0; i + 1 < serial_hex.size(); i += 2) {
      options.leaf_serial.push_back(
          static_cast<uint8_t>(std::stoul(serial_hex.substr(i, 2), nullptr, 16)));
    }
    auto device = sc.ca->IssueDevice(options);
    if (!device.ok()) {
      Complain("IssueDevice: " + device.status().ToString());
      return NVML_ERROR_UNKNOWN;
    }
    it = sc.devices.emplace(index, *std::move(device)).first;
  }
  *out = &it->second;
  return NVML_SUCCESS;
}

}  // namespace

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetConfComputeGpuAttestationReport(
    nvmlDevice_t d, nvmlConfComputeGpuAttestationReport_t* report) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceGetConfComputeGpuAttestationReport", d, &sc, &gpu);
      rc != NVML_SUCCESS) {
    return rc;
  }
  if (report == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  const lightcone::attest::TestDevice* dev = nullptr;
  if (nvmlReturn_t rc = DeviceFor(*sc, *gpu, IndexOf(d), &dev); rc != NVML_SUCCESS) return rc;
  const lightcone::attest::TestDevice& device = *dev;
  lightcone::attest::ReportSpec spec;
  std::memcpy(spec.nonce.data(), report->nonce, spec.nonce.size());
  spec.fwid = device.fwid;
  spec.driver_version = sc->spec.value("driver_version", spec.driver_version);
  spec.vbios_version =
      gpu->spec.value("attestation", json::object()).value("vbios", spec.vbios_version);
  auto bytes = lightcone::attest::BuildSpdmReport(spec, device.leaf_key);
  if (!bytes.ok()) {
    Complain("BuildSpdmReport: " + bytes.status().ToString());
    return NVML_ERROR_UNKNOWN;
  }
  if (bytes->size() > sizeof(report->attestationReport)) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(report->attestationReport, bytes->data(), bytes->size());
  report->attestationReportSize = static_cast<unsigned int>(bytes->size());
  report->isCecAttestationReportPresent = 0;
  report->cecAttestationReportSize = 0;
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT nvmlReturn_t nvmlDeviceGetConfComputeGpuCertificate(
    nvmlDevice_t d, nvmlConfComputeGpuCertificate_t* cert) {
  std::shared_ptr<const Scenario> sc;
  const Gpu* gpu = nullptr;
  if (nvmlReturn_t rc = Enter("nvmlDeviceGetConfComputeGpuCertificate", d, &sc, &gpu);
      rc != NVML_SUCCESS) {
    return rc;
  }
  if (cert == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  const lightcone::attest::TestDevice* dev = nullptr;
  if (nvmlReturn_t rc = DeviceFor(*sc, *gpu, IndexOf(d), &dev); rc != NVML_SUCCESS) return rc;
  const lightcone::attest::TestDevice& device = *dev;
  if (device.chain_pem.size() > sizeof(cert->attestationCertChain) ||
      device.leaf_pem.size() > sizeof(cert->certChain)) {
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  std::memcpy(cert->attestationCertChain, device.chain_pem.data(), device.chain_pem.size());
  cert->attestationCertChainSize = static_cast<unsigned int>(device.chain_pem.size());
  std::memcpy(cert->certChain, device.leaf_pem.data(), device.leaf_pem.size());
  cert->certChainSize = static_cast<unsigned int>(device.leaf_pem.size());
  return NVML_SUCCESS;
}
