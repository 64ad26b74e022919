// NvmlGpuSource: GpuSource over the NVIDIA driver's NVML library, loaded with dlopen.
//
// Every NVML call runs through a CallWatchdog with a deadline, so a call that hangs inside
// the driver costs a caller at most its deadline: telemetry of the GPUs it could not read
// comes back stale, and the rest of the agent (challenge responder, /metrics) never waits on
// NVML. Blocking event waits run on a second watchdog so they never delay telemetry.
//
// Thread-safe. GPUs are enumerated once, in Create; a GPU that later vanishes is reported as
// lost, not removed.
#ifndef LIGHTCONE_AGENT_GPU_NVML_NVML_GPU_SOURCE_H_
#define LIGHTCONE_AGENT_GPU_NVML_NVML_GPU_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/gpu/call_watchdog.h"
#include "agent/gpu/gpu_source.h"
#include "agent/gpu/nvml/nvml_library.h"

namespace lightcone::agent {

class NvmlGpuSource : public GpuSource {
 public:
  struct Options {
    // dlopen name or path of the NVML library (config: nvml.library_path).
    std::string library_path = "libnvidia-ml.so.1";
    // Longest a caller waits for one batch of NVML calls (one GPU's telemetry, say).
    absl::Duration call_deadline = absl::Seconds(2);
    // Longest a caller waits for an attestation report and its certificates.
    absl::Duration attestation_deadline = absl::Seconds(20);
    // Subscribe to XID events (nvmlEventSetCreate / nvmlDeviceRegisterEvents).
    bool watch_xid_events = true;
    std::string machine_id_path = "/etc/machine-id";
  };

  // Loads NVML, initialises it and enumerates the GPUs. kNotFound when the library is
  // missing; kDeadlineExceeded when nvmlInit hangs; kFailedPrecondition when nvmlInit fails.
  static absl::StatusOr<std::unique_ptr<NvmlGpuSource>> Create(Options options);

  // Calls nvmlShutdown unless a call is still hung inside NVML.
  ~NvmlGpuSource() override;

  int gpu_count() const { return static_cast<int>(devices_.size()); }
  const NvmlLibrary& library() const { return *lib_; }

  absl::StatusOr<Inventory> ReadInventory() override;
  absl::StatusOr<TelemetrySample> ReadTelemetry() override;
  absl::StatusOr<std::vector<XidEvent>> WaitEvents(absl::Duration timeout) override;
  absl::StatusOr<AttestationEvidence> Attest(int gpu_index,
                                             const std::array<uint8_t, 32>& nonce) override;
  SourceStats stats() const override;

 private:
  NvmlGpuSource(Options options, std::shared_ptr<const NvmlLibrary> lib);

  Options options_;
  std::shared_ptr<const NvmlLibrary> lib_;
  std::vector<nvmlDevice_t> devices_;
  nvmlEventSet_t event_set_ = nullptr;
  std::unique_ptr<CallWatchdog> watchdog_;        // all calls but event waits
  std::unique_ptr<CallWatchdog> event_watchdog_;  // nvmlEventSetWait only
};

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_GPU_NVML_NVML_GPU_SOURCE_H_
