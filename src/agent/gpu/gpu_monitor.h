// GpuMonitor keeps the agent's view of GPU health current: a telemetry thread reads a
// sample every `telemetry_interval`, an event thread waits for XID events and counts them
// per GPU and per XID code. Readers (the /metrics handler) take a snapshot at any time and
// never wait on NVML.
//
// When a read does not complete (NVML hung) the GPU keeps its last values and is flagged
// stale; a GPU that NVML reports lost is flagged lost. Both transitions are logged once.
//
// Thread-safe. Start/Stop are called by the owner; Stop waits at most one call deadline.
#ifndef LIGHTCONE_AGENT_GPU_GPU_MONITOR_H_
#define LIGHTCONE_AGENT_GPU_GPU_MONITOR_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "agent/gpu/gpu_source.h"

namespace lightcone::agent {

// What the agent currently knows about one GPU.
struct GpuState {
  GpuTelemetry latest;        // last successful read (stale/lost below are current)
  bool has_data = false;      // at least one read succeeded
  bool stale = true;          // the most recent read did not complete
  bool lost = false;          // NVML reported the GPU lost
  absl::Time last_success = absl::InfinitePast();
  std::map<uint64_t, uint64_t> xid_counts;  // XID code -> events seen since start
};

struct MonitorSnapshot {
  std::vector<GpuState> gpus;  // by GPU index
  uint64_t telemetry_rounds = 0;
  uint64_t telemetry_failures = 0;  // rounds in which no GPU could be read
  uint64_t event_errors = 0;
  uint64_t xid_events_unattributed = 0;  // events for a device the agent did not enumerate
  bool events_available = true;
  SourceStats source;
};

class GpuMonitor {
 public:
  struct Options {
    absl::Duration telemetry_interval = absl::Seconds(10);
    // Longest a single event wait blocks; also bounds how long Stop waits for it.
    absl::Duration event_wait = absl::Seconds(1);
    bool watch_events = true;
  };

  // REQUIRES: `source` outlives the monitor; inventory.gpus is indexed by GPU index.
  GpuMonitor(GpuSource* source, Inventory inventory, Options options);
  ~GpuMonitor();  // Stops.
  GpuMonitor(const GpuMonitor&) = delete;
  GpuMonitor& operator=(const GpuMonitor&) = delete;

  // Starts the telemetry and event threads. The first telemetry read happens at once.
  void Start();
  void Stop();

  // One synchronous telemetry round / event wait (what the threads run; tests call them).
  void PollTelemetryOnce();
  void PollEventsOnce(absl::Duration timeout);

  const Inventory& inventory() const { return inventory_; }
  MonitorSnapshot Snapshot() const;

 private:
  void TelemetryLoop();
  void EventLoop();

  GpuSource* source_;
  const Inventory inventory_;
  const Options options_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  MonitorSnapshot state_;

  std::thread telemetry_thread_;
  std::thread event_thread_;
};

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_GPU_GPU_MONITOR_H_
