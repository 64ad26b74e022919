#include "agent/gpu/nvml/nvml_gpu_source.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/gpu/inventory.h"
#include "core/logging.h"

namespace lightcone::agent {
namespace {

constexpr int kMaxEventsPerWait = 256;     // drained per WaitEvents call
constexpr unsigned int kMaxGpus = 64;      // more than any host has; bounds enumeration
constexpr double kMilli = 1e-3;
constexpr double kMegahertzToHertz = 1e6;

// Reads fields of one device; remembers whether NVML said the GPU is lost.
struct DeviceReader {
  const NvmlFunctions& f;
  nvmlDevice_t device;
  bool lost = false;

  bool Ok(nvmlReturn_t rc) {
    if (rc == NVML_ERROR_GPU_IS_LOST) lost = true;
    return rc == NVML_SUCCESS;
  }

  std::string String(nvmlReturn_t (*fn)(nvmlDevice_t, char*, unsigned int), unsigned int size) {
    if (lost) return "";
    std::string buf(size, '\0');
    if (!Ok(NvmlLibrary::Call(fn, device, buf.data(), size))) return "";
    buf.resize(strnlen(buf.data(), size));
    return buf;
  }

  std::optional<uint32_t> Uint(nvmlReturn_t (*fn)(nvmlDevice_t, unsigned int*)) {
    unsigned int v = 0;
    if (lost || !Ok(NvmlLibrary::Call(fn, device, &v))) return std::nullopt;
    return v;
  }
};

std::string BusId(const nvmlPciInfo_t& pci) {
  return std::string(pci.busId, strnlen(pci.busId, sizeof(pci.busId)));
}

GpuInventory ReadGpuInventory(const NvmlFunctions& f, nvmlDevice_t device, int index) {
  DeviceReader r{f, device};
  GpuInventory g;
  g.index = index;
  g.uuid = r.String(f.DeviceGetUUID, NVML_DEVICE_UUID_V2_BUFFER_SIZE);
  g.serial = r.String(f.DeviceGetSerial, NVML_DEVICE_SERIAL_BUFFER_SIZE);
  g.name = r.String(f.DeviceGetName, NVML_DEVICE_NAME_V2_BUFFER_SIZE);
  nvmlDeviceArchitecture_t arch = 0;
  if (!r.lost && r.Ok(NvmlLibrary::Call(f.DeviceGetArchitecture, device, &arch))) {
    g.architecture = ArchitectureName(arch);
  }
  g.board_part_number = r.String(f.DeviceGetBoardPartNumber, NVML_DEVICE_PART_NUMBER_BUFFER_SIZE);
  g.board_id = r.Uint(f.DeviceGetBoardId);
  nvmlPciInfo_t pci{};
  if (!r.lost && r.Ok(NvmlLibrary::Call(f.DeviceGetPciInfo, device, &pci))) {
    g.pci_bus_id = BusId(pci);
    g.pci_device_id = pci.pciDeviceId;
    g.pci_subsystem_id = pci.pciSubSystemId;
  }
  g.vbios_version = r.String(f.DeviceGetVbiosVersion, NVML_DEVICE_VBIOS_VERSION_BUFFER_SIZE);
  g.inforom_version =
      r.String(f.DeviceGetInforomImageVersion, NVML_DEVICE_INFOROM_VERSION_BUFFER_SIZE);
  g.minor_number = r.Uint(f.DeviceGetMinorNumber);
  for (unsigned int link = 0; link < NVML_NVLINK_MAX_LINKS && !r.lost; ++link) {
    nvmlEnableState_t state = 0;
    const nvmlReturn_t rc = NvmlLibrary::Call(f.DeviceGetNvLinkState, device, link, &state);
    if (!r.Ok(rc)) {
      // No such link (or no NVLink at all): links are numbered densely, stop here.
      if (rc == NVML_ERROR_INVALID_ARGUMENT || NvmlFieldAbsent(rc)) break;
      continue;
    }
    NvLinkInfo l;
    l.link = static_cast<int>(link);
    l.active = state != 0;
    nvmlPciInfo_t remote{};
    if (l.active && r.Ok(NvmlLibrary::Call(f.DeviceGetNvLinkRemotePciInfo, device, link, &remote))) {
      l.remote_pci_bus_id = BusId(remote);
    }
    g.nvlinks.push_back(std::move(l));
  }
  g.lost = r.lost;
  return g;
}

GpuTelemetry ReadGpuTelemetry(const NvmlFunctions& f, nvmlDevice_t device, int index) {
  DeviceReader r{f, device};
  GpuTelemetry t;
  t.index = index;
  using L = NvmlLibrary;
  if (auto mw = r.Uint(f.DeviceGetPowerUsage)) t.power_watts = *mw * kMilli;
  unsigned long long mj = 0;
  if (!r.lost && r.Ok(L::Call(f.DeviceGetTotalEnergyConsumption, device, &mj))) {
    t.energy_joules = static_cast<double>(mj) * kMilli;
  }
  unsigned int celsius = 0;
  if (!r.lost && r.Ok(L::Call(f.DeviceGetTemperature, device, NVML_TEMPERATURE_GPU, &celsius))) {
    t.gpu_temperature_celsius = celsius;
  }
  nvmlFieldValue_t field{};
  field.fieldId = NVML_FI_DEV_MEMORY_TEMP;
  if (!r.lost && r.Ok(L::Call(f.DeviceGetFieldValues, device, 1, &field)) &&
      field.nvmlReturn == NVML_SUCCESS) {
    switch (field.valueType) {
      case NVML_VALUE_TYPE_DOUBLE: t.memory_temperature_celsius = field.value.dVal; break;
      case NVML_VALUE_TYPE_UNSIGNED_INT: t.memory_temperature_celsius = field.value.uiVal; break;
      case NVML_VALUE_TYPE_SIGNED_INT: t.memory_temperature_celsius = field.value.siVal; break;
      case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
        t.memory_temperature_celsius = static_cast<double>(field.value.ullVal);
        break;
      default: break;
    }
  }
  const std::pair<nvmlClockType_t, std::optional<double>*> clocks[] = {
      {NVML_CLOCK_GRAPHICS, &t.graphics_clock_hertz},
      {NVML_CLOCK_SM, &t.sm_clock_hertz},
      {NVML_CLOCK_MEM, &t.memory_clock_hertz},
      {NVML_CLOCK_VIDEO, &t.video_clock_hertz}};
  for (const auto& [type, out] : clocks) {
    unsigned int mhz = 0;
    if (!r.lost && r.Ok(L::Call(f.DeviceGetClockInfo, device, type, &mhz))) {
      *out = mhz * kMegahertzToHertz;
    }
  }
  unsigned long long reasons = 0;
  if (!r.lost && r.Ok(L::Call(f.DeviceGetCurrentClocksEventReasons, device, &reasons))) {
    t.clock_event_reasons = reasons;
  }
  nvmlUtilization_t util{};
  if (!r.lost && r.Ok(L::Call(f.DeviceGetUtilizationRates, device, &util))) {
    t.gpu_utilization_ratio = util.gpu / 100.0;
    t.memory_utilization_ratio = util.memory / 100.0;
  }
  nvmlMemory_t mem{};
  if (!r.lost && r.Ok(L::Call(f.DeviceGetMemoryInfo, device, &mem))) {
    t.memory_total_bytes = mem.total;
    t.memory_used_bytes = mem.used;
    t.memory_free_bytes = mem.free;
  }
  unsigned long long ecc = 0;
  if (!r.lost && r.Ok(L::Call(f.DeviceGetTotalEccErrors, device, NVML_MEMORY_ERROR_TYPE_CORRECTED,
                              NVML_AGGREGATE_ECC, &ecc))) {
    t.ecc_corrected_total = ecc;
  }
  if (!r.lost && r.Ok(L::Call(f.DeviceGetTotalEccErrors, device,
                              NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_AGGREGATE_ECC, &ecc))) {
    t.ecc_uncorrected_total = ecc;
  }
  unsigned int corr = 0, unc = 0, pending = 0, failure = 0;
  if (!r.lost &&
      r.Ok(L::Call(f.DeviceGetRemappedRows, device, &corr, &unc, &pending, &failure))) {
    t.remapped_rows_correctable = corr;
    t.remapped_rows_uncorrectable = unc;
    t.remap_pending = pending != 0;
    t.remap_failure = failure != 0;
  }
  static constexpr std::pair<nvmlNvLinkErrorCounter_t, const char*> kCounters[] = {
      {NVML_NVLINK_ERROR_DL_REPLAY, "replay"},
      {NVML_NVLINK_ERROR_DL_RECOVERY, "recovery"},
      {NVML_NVLINK_ERROR_DL_CRC_FLIT, "crc_flit"},
      {NVML_NVLINK_ERROR_DL_CRC_DATA, "crc_data"},
      {NVML_NVLINK_ERROR_DL_ECC_DATA, "ecc_data"}};
  int active_links = 0;
  bool any_link = false;
  for (unsigned int link = 0; link < NVML_NVLINK_MAX_LINKS && !r.lost; ++link) {
    nvmlEnableState_t state = 0;
    const nvmlReturn_t rc = L::Call(f.DeviceGetNvLinkState, device, link, &state);
    if (!r.Ok(rc)) break;
    any_link = true;
    if (state == 0) continue;
    ++active_links;
    for (const auto& [counter, name] : kCounters) {
      unsigned long long v = 0;
      if (r.Ok(L::Call(f.DeviceGetNvLinkErrorCounter, device, link, counter, &v))) {
        t.nvlink_errors_total[name] += v;
      }
    }
  }
  if (any_link) t.nvlink_active_links = active_links;
  t.lost = r.lost;
  return t;
}

}  // namespace

NvmlGpuSource::NvmlGpuSource(Options options, std::shared_ptr<const NvmlLibrary> lib)
    : options_(std::move(options)),
      lib_(std::move(lib)),
      watchdog_(std::make_unique<CallWatchdog>(CallWatchdog::Options{.name = "nvml"})),
      event_watchdog_(
          std::make_unique<CallWatchdog>(CallWatchdog::Options{.name = "nvml-events"})) {}

absl::StatusOr<std::unique_ptr<NvmlGpuSource>> NvmlGpuSource::Create(Options options) {
  auto lib = NvmlLibrary::Load(options.library_path);
  if (!lib.ok()) return lib.status();
  std::unique_ptr<NvmlGpuSource> source(new NvmlGpuSource(std::move(options), *std::move(lib)));

  struct InitResult {
    nvmlReturn_t init = NVML_ERROR_UNKNOWN;
    nvmlReturn_t count_rc = NVML_ERROR_UNKNOWN;
    std::vector<nvmlDevice_t> devices;
    nvmlEventSet_t event_set = nullptr;
  };
  auto result = std::make_shared<InitResult>();
  std::shared_ptr<const NvmlLibrary> l = source->lib_;
  const bool watch_events = source->options_.watch_xid_events;
  absl::Status run = source->watchdog_->Run("nvmlInit", source->options_.call_deadline, [=] {
    const NvmlFunctions& f = l->fn();
    result->init = f.Init();
    if (result->init != NVML_SUCCESS) return;
    unsigned int count = 0;
    result->count_rc = f.DeviceGetCount(&count);
    if (result->count_rc != NVML_SUCCESS) return;
    count = std::min(count, kMaxGpus);
    for (unsigned int i = 0; i < count; ++i) {
      nvmlDevice_t d = nullptr;
      // A device that cannot be opened keeps its slot (null) so indices stay NVML's.
      if (f.DeviceGetHandleByIndex(i, &d) != NVML_SUCCESS) d = nullptr;
      result->devices.push_back(d);
    }
    if (!watch_events) return;
    nvmlEventSet_t set = nullptr;
    if (NvmlLibrary::Call(f.EventSetCreate, &set) != NVML_SUCCESS) return;
    for (nvmlDevice_t d : result->devices) {
      if (d != nullptr) {
        NvmlLibrary::Call(f.DeviceRegisterEvents, d, nvmlEventTypeXidCriticalError, set);
      }
    }
    result->event_set = set;
  });
  if (!run.ok()) return run;
  if (result->init != NVML_SUCCESS) {
    return absl::FailedPreconditionError(
        absl::StrCat("nvmlInit failed: ", source->lib_->ErrorString(result->init)));
  }
  if (result->count_rc != NVML_SUCCESS) {
    return absl::FailedPreconditionError(absl::StrCat(
        "nvmlDeviceGetCount failed: ", source->lib_->ErrorString(result->count_rc)));
  }
  source->devices_ = std::move(result->devices);
  source->event_set_ = result->event_set;
  Logger("agent")->info("NVML loaded from {}: {} GPU(s){}", source->options_.library_path,
                        source->devices_.size(),
                        source->event_set_ ? "" : ", XID events unavailable");
  return source;
}

NvmlGpuSource::~NvmlGpuSource() {
  if (watchdog_->stats().hung || event_watchdog_->stats().hung) return;
  std::shared_ptr<const NvmlLibrary> l = lib_;
  nvmlEventSet_t set = event_set_;
  (void)watchdog_->Run("nvmlShutdown", options_.call_deadline, [l, set] {
    if (set != nullptr) NvmlLibrary::Call(l->fn().EventSetFree, set);
    NvmlLibrary::Call(l->fn().Shutdown);
  });
}

absl::StatusOr<Inventory> NvmlGpuSource::ReadInventory() {
  Inventory inventory;
  inventory.host = ReadHostFacts(options_.machine_id_path);
  auto host = std::make_shared<HostInventory>();
  std::shared_ptr<const NvmlLibrary> l = lib_;
  absl::Status s = watchdog_->Run("system inventory", options_.call_deadline, [l, host] {
    const NvmlFunctions& f = l->fn();
    char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {};
    if (NvmlLibrary::Call(f.SystemGetDriverVersion, buf, sizeof(buf)) == NVML_SUCCESS) {
      host->driver_version = std::string(buf, strnlen(buf, sizeof(buf)));
    }
    char nvml[NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE] = {};
    if (NvmlLibrary::Call(f.SystemGetNVMLVersion, nvml, sizeof(nvml)) == NVML_SUCCESS) {
      host->nvml_version = std::string(nvml, strnlen(nvml, sizeof(nvml)));
    }
    int cuda = 0;
    if (NvmlLibrary::Call(f.SystemGetCudaDriverVersion, &cuda) == NVML_SUCCESS) {
      host->cuda_driver_version = cuda;
    }
    nvmlConfComputeSystemState_t cc{};
    if (NvmlLibrary::Call(f.SystemGetConfComputeState, &cc) == NVML_SUCCESS) {
      host->cc_environment = cc.environment;
      host->cc_enabled = cc.ccFeature != 0;
      host->cc_devtools_mode = cc.devToolsMode != 0;
    }
  });
  if (!s.ok()) return s;
  inventory.host.driver_version = host->driver_version;
  inventory.host.nvml_version = host->nvml_version;
  inventory.host.cuda_driver_version = host->cuda_driver_version;
  inventory.host.cc_environment = host->cc_environment;
  inventory.host.cc_enabled = host->cc_enabled;
  inventory.host.cc_devtools_mode = host->cc_devtools_mode;

  for (size_t i = 0; i < devices_.size(); ++i) {
    const int index = static_cast<int>(i);
    nvmlDevice_t d = devices_[i];
    if (d == nullptr) {
      inventory.gpus.push_back(GpuInventory{.index = index, .lost = true});
      continue;
    }
    auto gpu = std::make_shared<GpuInventory>();
    absl::Status gs = watchdog_->Run(absl::StrCat("inventory of GPU ", index),
                                     options_.call_deadline,
                                     [l, d, index, gpu] { *gpu = ReadGpuInventory(l->fn(), d, index); });
    if (!gs.ok()) return gs;
    inventory.gpus.push_back(std::move(*gpu));
  }
  return inventory;
}

absl::StatusOr<TelemetrySample> NvmlGpuSource::ReadTelemetry() {
  TelemetrySample sample;
  sample.time = absl::Now();
  std::shared_ptr<const NvmlLibrary> l = lib_;
  int fresh = 0;
  absl::Status last_error;
  for (size_t i = 0; i < devices_.size(); ++i) {
    const int index = static_cast<int>(i);
    nvmlDevice_t d = devices_[i];
    if (d == nullptr) {
      sample.gpus.push_back(GpuTelemetry{.index = index, .lost = true});
      continue;
    }
    auto t = std::make_shared<GpuTelemetry>();
    absl::Status s = watchdog_->Run(absl::StrCat("telemetry of GPU ", index),
                                    options_.call_deadline,
                                    [l, d, index, t] { *t = ReadGpuTelemetry(l->fn(), d, index); });
    if (s.ok()) {
      ++fresh;
      sample.gpus.push_back(std::move(*t));
    } else {
      last_error = s;
      sample.gpus.push_back(GpuTelemetry{.index = index, .stale = true});
    }
  }
  if (fresh == 0 && !last_error.ok()) return last_error;
  return sample;
}

absl::StatusOr<std::vector<XidEvent>> NvmlGpuSource::WaitEvents(absl::Duration timeout) {
  if (event_set_ == nullptr) {
    return absl::UnimplementedError("NVML XID events are not available on this host");
  }
  auto events = std::make_shared<std::vector<XidEvent>>();
  auto error = std::make_shared<nvmlReturn_t>(NVML_SUCCESS);
  std::shared_ptr<const NvmlLibrary> l = lib_;
  nvmlEventSet_t set = event_set_;
  std::vector<nvmlDevice_t> devices = devices_;
  const unsigned int timeout_ms =
      static_cast<unsigned int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  absl::Status s = event_watchdog_->Run(
      "nvmlEventSetWait", timeout + options_.call_deadline,
      [l, set, devices, timeout_ms, events, error] {
        unsigned int wait_ms = timeout_ms;
        for (int n = 0; n < kMaxEventsPerWait; ++n) {
          nvmlEventData_t data{};
          const nvmlReturn_t rc = l->fn().EventSetWait(set, &data, wait_ms);
          wait_ms = 0;  // after the first event, only drain what is already queued
          if (rc == NVML_ERROR_TIMEOUT) return;
          if (rc != NVML_SUCCESS) {
            *error = rc;
            return;
          }
          if ((data.eventType & nvmlEventTypeXidCriticalError) == 0) continue;
          auto it = std::find(devices.begin(), devices.end(), data.device);
          events->push_back(XidEvent{
              .gpu_index = it == devices.end() ? -1 : static_cast<int>(it - devices.begin()),
              .xid = data.eventData});
        }
      });
  if (!s.ok()) return s;
  if (*error != NVML_SUCCESS && events->empty()) {
    return absl::InternalError(
        absl::StrCat("nvmlEventSetWait failed: ", lib_->ErrorString(*error)));
  }
  return std::move(*events);
}

absl::StatusOr<AttestationEvidence> NvmlGpuSource::Attest(int gpu_index,
                                                          const std::array<uint8_t, 32>& nonce) {
  if (gpu_index < 0 || gpu_index >= gpu_count() || devices_[gpu_index] == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("no GPU with index ", gpu_index));
  }
  struct Result {
    nvmlReturn_t report_rc = NVML_ERROR_UNKNOWN;
    nvmlReturn_t cert_rc = NVML_ERROR_UNKNOWN;
    nvmlConfComputeGpuAttestationReport_t report{};
    nvmlConfComputeGpuCertificate_t cert{};
  };
  auto r = std::make_shared<Result>();
  std::memcpy(r->report.nonce, nonce.data(), nonce.size());
  std::shared_ptr<const NvmlLibrary> l = lib_;
  nvmlDevice_t d = devices_[gpu_index];
  absl::Status s = watchdog_->Run(absl::StrCat("attestation of GPU ", gpu_index),
                                  options_.attestation_deadline, [l, d, r] {
                                    const NvmlFunctions& f = l->fn();
                                    r->report_rc = NvmlLibrary::Call(
                                        f.DeviceGetConfComputeGpuAttestationReport, d, &r->report);
                                    if (r->report_rc != NVML_SUCCESS) return;
                                    r->cert_rc = NvmlLibrary::Call(
                                        f.DeviceGetConfComputeGpuCertificate, d, &r->cert);
                                  });
  if (!s.ok()) return s;
  for (nvmlReturn_t rc : {r->report_rc, r->cert_rc}) {
    if (rc == NVML_SUCCESS) continue;
    const std::string what = absl::StrCat("attestation of GPU ", gpu_index, ": ",
                                          lib_->ErrorString(rc));
    if (NvmlFieldAbsent(rc)) return absl::UnimplementedError(what);
    if (rc == NVML_ERROR_GPU_IS_LOST) return absl::UnavailableError(what);
    return absl::InternalError(what);
  }
  if (r->report.attestationReportSize > sizeof(r->report.attestationReport) ||
      r->cert.attestationCertChainSize > sizeof(r->cert.attestationCertChain) ||
      r->cert.certChainSize > sizeof(r->cert.certChain)) {
    return absl::InternalError(absl::StrCat("attestation of GPU ", gpu_index,
                                            ": NVML returned sizes larger than its buffers"));
  }
  AttestationEvidence e;
  e.nonce = nonce;
  e.report.assign(r->report.attestationReport,
                  r->report.attestationReport + r->report.attestationReportSize);
  const char* pem = reinterpret_cast<const char*>(r->cert.attestationCertChain);
  e.attestation_cert_chain_pem.assign(pem, strnlen(pem, r->cert.attestationCertChainSize));
  e.cert_chain.assign(r->cert.certChain, r->cert.certChain + r->cert.certChainSize);
  return e;
}

SourceStats NvmlGpuSource::stats() const { return watchdog_->stats(); }

}  // namespace lightcone::agent
