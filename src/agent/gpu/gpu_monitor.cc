#include "agent/gpu/gpu_monitor.h"

#include <chrono>
#include <utility>

#include "core/logging.h"

namespace lightcone::agent {

namespace {
constexpr absl::Duration kEventErrorBackoff = absl::Seconds(5);

bool IsPowerOfTen(uint64_t n) {
  while (n >= 10 && n % 10 == 0) n /= 10;
  return n == 1;
}
}  // namespace

GpuMonitor::GpuMonitor(GpuSource* source, Inventory inventory, Options options)
    : source_(source), inventory_(std::move(inventory)), options_(options) {
  state_.gpus.resize(inventory_.gpus.size());
  for (size_t i = 0; i < inventory_.gpus.size(); ++i) {
    state_.gpus[i].latest.index = static_cast<int>(i);
    state_.gpus[i].lost = inventory_.gpus[i].lost;
  }
  state_.events_available = options_.watch_events;
}

GpuMonitor::~GpuMonitor() { Stop(); }

void GpuMonitor::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  telemetry_thread_ = std::thread(&GpuMonitor::TelemetryLoop, this);
  if (options_.watch_events) event_thread_ = std::thread(&GpuMonitor::EventLoop, this);
}

void GpuMonitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (telemetry_thread_.joinable()) telemetry_thread_.join();
  if (event_thread_.joinable()) event_thread_.join();
}

void GpuMonitor::PollTelemetryOnce() {
  absl::StatusOr<TelemetrySample> sample = source_->ReadTelemetry();
  std::lock_guard<std::mutex> lock(mu_);
  state_.telemetry_rounds++;
  if (!sample.ok()) {
    state_.telemetry_failures++;
    for (GpuState& g : state_.gpus) g.stale = true;
    return;
  }
  for (GpuTelemetry& t : sample->gpus) {
    if (t.index < 0 || static_cast<size_t>(t.index) >= state_.gpus.size()) continue;
    GpuState& g = state_.gpus[t.index];
    if (t.lost && !g.lost) {
      Logger("agent")->warn("GPU {} ({}) is lost: NVML reports it fell off the bus or vanished",
                            t.index, inventory_.gpus[t.index].uuid);
    } else if (!t.lost && g.lost && !t.stale) {
      Logger("agent")->info("GPU {} ({}) answers again", t.index, inventory_.gpus[t.index].uuid);
    }
    if (t.stale) {
      g.stale = true;
      continue;
    }
    g.lost = t.lost;
    g.stale = false;
    if (t.lost) continue;  // keep the last values; the lost flag says they are old
    g.latest = std::move(t);
    g.has_data = true;
    g.last_success = sample->time;
  }
}

void GpuMonitor::PollEventsOnce(absl::Duration timeout) {
  absl::StatusOr<std::vector<XidEvent>> events = source_->WaitEvents(timeout);
  std::lock_guard<std::mutex> lock(mu_);
  if (!events.ok()) {
    if (events.status().code() == absl::StatusCode::kUnimplemented) {
      state_.events_available = false;
    } else {
      state_.event_errors++;
    }
    return;
  }
  for (const XidEvent& e : *events) {
    if (e.gpu_index < 0 || static_cast<size_t>(e.gpu_index) >= state_.gpus.size()) {
      state_.xid_events_unattributed++;
      continue;
    }
    const uint64_t n = ++state_.gpus[e.gpu_index].xid_counts[e.xid];
    // An XID storm must not flood the log: the counter has every event, the log has the
    // 1st, 10th, 100th, ... of each code.
    if (IsPowerOfTen(n)) {
      Logger("agent")->warn("GPU {} ({}): XID {} (seen {} time(s))", e.gpu_index,
                            inventory_.gpus[e.gpu_index].uuid, e.xid, n);
    }
  }
}

void GpuMonitor::TelemetryLoop() {
  auto next = std::chrono::steady_clock::now();
  const auto interval = absl::ToChronoNanoseconds(options_.telemetry_interval);
  while (true) {
    PollTelemetryOnce();
    next += interval;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // a slow round does not cause a burst of catch-up rounds
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_cv_.wait_until(lock, next, [&] { return stopping_; })) return;
  }
}

void GpuMonitor::EventLoop() {
  while (true) {
    uint64_t errors_before = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      errors_before = state_.event_errors;
    }
    PollEventsOnce(options_.event_wait);
    std::unique_lock<std::mutex> lock(mu_);
    if (!state_.events_available) return;
    if (state_.event_errors != errors_before) {
      // A failing or hung event wait returns at once: back off instead of spinning.
      if (stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(kEventErrorBackoff),
                            [&] { return stopping_; })) {
        return;
      }
    }
  }
}

MonitorSnapshot GpuMonitor::Snapshot() const {
  MonitorSnapshot s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = state_;
  }
  s.source = source_->stats();
  return s;
}

}  // namespace lightcone::agent
