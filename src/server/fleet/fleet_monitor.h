// FleetMonitor: the fleet server's analysis loop. One pass reads the store with a handful of
// bulk queries, computes every GPU's verdict (VerdictEngine, in parallel), appends the
// verdicts that changed, runs the diversion detectors (detectors.h) and raises / resolves
// alerts with dedup across passes. Start() runs passes on a background thread.
//
// Reads per pass: ListLandmarks, ListLicences, ListHosts, ListSites, ListShipments,
// ListDevices (paged by kMaxPageSize), MinRtts(nullopt, now - window) once,
// LatestVerdicts(nullopt), ListAlerts (open and acknowledged, paged); plus, for devices whose
// host enrolled since the previous pass (on the first pass: within identity_lookback), one
// ListDeviceEvents and one ListTopology each (only new rows, after the ids seen before):
// host changes and NVLink changes only happen at enrollment, which updates the host's
// last_seen. A device whose host changed within the verdict window (a host_changed event)
// is re-proven only from measurements made after the change: one MinRtts(id, change time)
// for each such device replaces its rows of the bulk query, so a reassembled ghost is never
// compliant on its old host's RTTs. Writes: AppendVerdicts in chunks, CreateAlert / ResolveAlert per change,
// DeleteTelemetrySamplesBefore(now - telemetry_retention) once.
//
// A verdict is appended when the device has none, when its status, reason or licence (the
// verdict's licence_id: the device's licence at decision time) changed, or when
// its latest is older than verdict_refresh (so history shows the GPU is still checked without
// writing every GPU every pass).
//
// Thread safety: RunPass may be called from one thread at a time (Start's thread, or the
// caller's when not started). Stop() is idempotent; the destructor stops.
#ifndef LIGHTCONE_SERVER_FLEET_FLEET_MONITOR_H_
#define LIGHTCONE_SERVER_FLEET_FLEET_MONITOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/fleet/detectors.h"
#include "server/fleet/licence_geometry.h"
#include "server/fleet/verdict_engine.h"
#include "server/store/store.h"

namespace lightcone::server::fleet {

// Most verdicts written by one AppendVerdicts call.
inline constexpr int kVerdictWriteChunk = 20'000;
// Most threads a pass uses for verdicts.
inline constexpr int kMaxVerdictThreads = 64;
// How long telemetry samples are kept by default (`--telemetry-retention-days`).
inline constexpr absl::Duration kDefaultTelemetryRetention = absl::Hours(24 * 30);

struct FleetMonitorOptions {
  // Time between the starts of two background passes.
  absl::Duration period = absl::Minutes(1);
  VerdictEngineOptions verdict;  // window, f, min landmarks, RTT floor.
  DetectorOptions detectors;
  // Threads computing verdicts (the machine's other work counts: default 2).
  int threads = 2;
  // Re-append an unchanged verdict when the latest stored one is older than this.
  absl::Duration verdict_refresh = absl::Hours(1);
  // First pass: examine identity/topology history of devices whose host enrolled within this.
  absl::Duration identity_lookback = absl::Hours(24 * 7);
  // Each pass deletes telemetry samples older than `now` - this (the health history of
  // GET /devices/{id}/telemetry); zero or negative keeps every sample.
  absl::Duration telemetry_retention = kDefaultTelemetryRetention;
};

struct PassReport {
  absl::Time time = absl::UnixEpoch();
  int64_t devices = 0;
  int64_t compliant = 0;
  int64_t violation = 0;
  int64_t unproven = 0;
  int64_t verdicts_written = 0;
  int64_t devices_examined_for_identity = 0;
  // Devices whose host changed within the verdict window (re-proven from later RTTs only).
  int64_t devices_moved_in_window = 0;
  int64_t alerts_raised = 0;
  int64_t alerts_resolved = 0;
  int64_t telemetry_samples_deleted = 0;  // Older than the retention.
  std::map<std::string, int64_t> raised_by_type;
  absl::Duration duration = absl::ZeroDuration();
  // Where the time went: bulk reads, computing verdicts, appending them, identity/topology
  // history queries, detectors plus alert writes.
  absl::Duration read_duration = absl::ZeroDuration();
  absl::Duration verdict_duration = absl::ZeroDuration();
  absl::Duration write_duration = absl::ZeroDuration();
  absl::Duration identity_duration = absl::ZeroDuration();
  absl::Duration detect_duration = absl::ZeroDuration();
};

class FleetMonitor {
 public:
  // REQUIRES: store outlives the monitor. `countries` may be shared with the region view;
  // nullptr loads the default atlas.
  FleetMonitor(Store* store, const FleetMonitorOptions& options,
               std::shared_ptr<CountryAreaCache> countries = nullptr);
  ~FleetMonitor();
  FleetMonitor(const FleetMonitor&) = delete;
  FleetMonitor& operator=(const FleetMonitor&) = delete;

  // One pass at `now`. Errors are the store's. Nothing is lost by a failed pass: the
  // history read position (events, topology) advances only when a pass succeeds, and alert
  // conditions are re-evaluated by the next pass.
  absl::StatusOr<PassReport> RunPass(absl::Time now);

  // Runs RunPass(absl::Now()) every period on a background thread until Stop(). Failed
  // passes are logged. Calling Start twice is a no-op.
  void Start();
  void Stop();

  // The report of the last successful pass, if any.
  std::optional<PassReport> last_report() const;

  const std::shared_ptr<CountryAreaCache>& countries() const { return countries_; }

 private:
  void Loop();

  Store* store_;
  FleetMonitorOptions options_;
  std::shared_ptr<CountryAreaCache> countries_;

  absl::Mutex pass_mu_;  // One pass at a time.
  // Memory across passes (see header comment).
  std::optional<absl::Time> last_pass_time_ ABSL_GUARDED_BY(pass_mu_);
  absl::flat_hash_map<int64_t, int64_t> last_event_id_ ABSL_GUARDED_BY(pass_mu_);
  absl::flat_hash_map<int64_t, TopologySnapshot> last_topology_ ABSL_GUARDED_BY(pass_mu_);
  // Latest host_changed event time per device, kept while inside the verdict window.
  absl::flat_hash_map<int64_t, absl::Time> last_host_change_ ABSL_GUARDED_BY(pass_mu_);

  mutable absl::Mutex mu_;
  std::optional<PassReport> last_report_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace lightcone::server::fleet

#endif  // LIGHTCONE_SERVER_FLEET_FLEET_MONITOR_H_
