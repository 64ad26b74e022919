// DelayQueue<Item>: a timer-ordered queue with its own timing thread. Items are pushed with
// a due time (CLOCK_MONOTONIC ns); the timing thread hands each item to a sink as close to
// its due time as it can, and never before it.
//
// How the timing thread waits: items sit in a min-heap keyed by (due time, arrival order).
// While the earliest item is more than `spin_window` away the thread sleeps on a condition
// variable with an absolute CLOCK_MONOTONIC deadline of (due - spin_window) (libstdc++ maps
// steady_clock waits to pthread_cond_clockwait, i.e. an absolute-time futex wait on an
// hrtimer), with its timer slack set to 1 ns. A push of a new earliest item wakes it. The
// last `spin_window` before the due time is busy-waited on clock_gettime so that wake-up
// latency of the scheduler does not show up as lateness. A larger window costs CPU (up to
// one full core when items are due more often than once per window) and buys accuracy.
//
// Limits: at most `max_items` items and `max_bytes` payload bytes (Item::size_bytes()) are
// queued; Push beyond either limit refuses the item (the caller counts the drop).
//
// Thread safety: Push, Size and the statistics may be called from any thread. Start/Stop
// from one owner thread. The sink runs on the timing thread only, never concurrently with
// itself. Items still queued at Stop are discarded (and counted).
//
// Item requirements: movable, and `size_t size_bytes() const`.
#ifndef LIGHTCONE_NETEM_DELAY_QUEUE_H_
#define LIGHTCONE_NETEM_DELAY_QUEUE_H_

#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "netem/clock.h"

namespace lightcone::netem {

inline constexpr size_t kDefaultMaxQueuedItems = 65'536;
inline constexpr size_t kDefaultMaxQueuedBytes = 64 * 1024 * 1024;
inline constexpr std::chrono::nanoseconds kDefaultSpinWindow = std::chrono::microseconds(80);
inline constexpr std::chrono::nanoseconds kMaxSpinWindow = std::chrono::milliseconds(10);
// Lateness (send time - due time) is kept in a histogram of 1 µs buckets up to this bound;
// later sends land in the last bucket.
inline constexpr size_t kLatenessHistogramBuckets = 4096;

struct DelayQueueOptions {
  size_t max_items = kDefaultMaxQueuedItems;
  size_t max_bytes = kDefaultMaxQueuedBytes;
  // Busy-wait this long before each due time instead of sleeping. Zero: sleep only.
  std::chrono::nanoseconds spin_window = kDefaultSpinWindow;
  // When > 0 the timing thread asks for SCHED_FIFO at this priority (1..99) so that other
  // busy processes on the machine cannot delay its wake-ups. Best effort: without the
  // privilege the thread stays SCHED_OTHER (see realtime_active()). Spinning at real-time
  // priority can hold a core; the kernel's RT throttling still leaves others 5%.
  int realtime_priority = 0;
};

// Lateness statistics of the items handed to the sink so far.
struct LatenessStats {
  uint64_t count = 0;
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

template <typename Item>
class DelayQueue {
 public:
  // Called on the timing thread with the item and the CLOCK_MONOTONIC time it was released.
  using Sink = std::function<void(Item& item, int64_t now_ns)>;

  explicit DelayQueue(DelayQueueOptions options) : options_(options) {
    options_.spin_window = std::clamp(options_.spin_window, std::chrono::nanoseconds(0),
                                      std::chrono::nanoseconds(kMaxSpinWindow));
    heap_.reserve(std::min<size_t>(options_.max_items, 4096));
  }
  ~DelayQueue() { Stop(); }

  DelayQueue(const DelayQueue&) = delete;
  DelayQueue& operator=(const DelayQueue&) = delete;

  // Starts the timing thread. REQUIRES: not started.
  void Start(Sink sink) {
    sink_ = std::move(sink);
    stop_.store(false);
    thread_ = std::thread([this] { Run(); });
  }

  // Stops and joins the timing thread; queued items are discarded. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    discarded_at_stop_ += heap_.size();
    heap_.clear();
    bytes_ = 0;
  }

  // Queues `item` for release at `due_ns`. Returns false (and keeps nothing) when the item
  // would exceed max_items or max_bytes.
  bool Push(Item item, int64_t due_ns) {
    const size_t size = item.size_bytes();
    bool new_earliest = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (heap_.size() >= options_.max_items || bytes_ + size > options_.max_bytes) {
        return false;
      }
      bytes_ += size;
      heap_.push_back(Entry{due_ns, next_sequence_++, std::move(item)});
      std::push_heap(heap_.begin(), heap_.end(), Later{});
      new_earliest = heap_.front().sequence == next_sequence_ - 1;
      if (new_earliest) earliest_due_ns_.store(due_ns, std::memory_order_relaxed);
    }
    if (new_earliest) cv_.notify_one();
    return true;
  }

  // Blocks until the timing thread has started and applied its scheduling options.
  void WaitStarted() const {
    while (!started_.load()) std::this_thread::yield();
  }

  // True when the timing thread runs at SCHED_FIFO (options.realtime_priority granted).
  // REQUIRES: WaitStarted() returned.
  bool realtime_active() const { return realtime_active_.load(); }

  size_t Size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return heap_.size();
  }

  uint64_t discarded_at_stop() const {
    std::lock_guard<std::mutex> lock(mu_);
    return discarded_at_stop_;
  }

  // The timing thread's CPU time so far (0 before Start).
  int64_t thread_cpu_ns() const {
    std::lock_guard<std::mutex> lock(cpu_mu_);
    if (!cpu_clock_valid_) return final_cpu_ns_;
    timespec ts;
    if (clock_gettime(cpu_clock_, &ts) != 0) return final_cpu_ns_;
    return TimespecToNs(ts);
  }

  LatenessStats Lateness() const {
    LatenessStats stats;
    std::array<uint64_t, kLatenessHistogramBuckets> counts;
    for (size_t i = 0; i < counts.size(); ++i) {
      counts[i] = lateness_histogram_[i].load(std::memory_order_relaxed);
      stats.count += counts[i];
    }
    stats.max_us = static_cast<double>(max_lateness_ns_.load(std::memory_order_relaxed)) / 1e3;
    if (stats.count == 0) return stats;
    auto percentile = [&](double p) {
      const uint64_t rank = static_cast<uint64_t>(p * static_cast<double>(stats.count - 1));
      uint64_t seen = 0;
      for (size_t i = 0; i < counts.size(); ++i) {
        seen += counts[i];
        if (seen > rank) return static_cast<double>(i);
      }
      return static_cast<double>(counts.size() - 1);
    };
    stats.p50_us = percentile(0.50);
    stats.p99_us = percentile(0.99);
    return stats;
  }

 private:
  struct Entry {
    int64_t due_ns;
    uint64_t sequence;
    Item item;
  };
  // std heap functions build a max-heap; "later" ordering makes the earliest the top.
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      if (a.due_ns != b.due_ns) return a.due_ns > b.due_ns;
      return a.sequence > b.sequence;
    }
  };

  void Run() {
    // Timer slack (default 50 µs) would add directly to every wake-up.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    {
      std::lock_guard<std::mutex> cpu_lock(cpu_mu_);
      cpu_clock_valid_ = pthread_getcpuclockid(pthread_self(), &cpu_clock_) == 0;
    }
    if (options_.realtime_priority > 0) {
      sched_param param{};
      param.sched_priority = std::clamp(options_.realtime_priority, 1, 99);
      realtime_active_.store(pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0);
    }
    started_.store(true);
    const int64_t spin_ns = options_.spin_window.count();
    std::vector<Entry> batch;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_.load(std::memory_order_relaxed)) {
      if (heap_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const int64_t due_ns = heap_.front().due_ns;
      int64_t now_ns = MonotonicNowNs();
      if (due_ns - now_ns > spin_ns) {
        const auto deadline = std::chrono::steady_clock::time_point(
            std::chrono::nanoseconds(due_ns - spin_ns));
        cv_.wait_until(lock, deadline);
        continue;
      }
      if (due_ns > now_ns) {
        earliest_due_ns_.store(due_ns, std::memory_order_relaxed);
        lock.unlock();
        // A push of an earlier item lowers earliest_due_ns_ and ends the spin sooner.
        while (MonotonicNowNs() < earliest_due_ns_.load(std::memory_order_relaxed) &&
               !stop_.load(std::memory_order_relaxed)) {
          __builtin_ia32_pause();
        }
        lock.lock();
        continue;
      }
      while (!heap_.empty() && heap_.front().due_ns <= now_ns) {
        std::pop_heap(heap_.begin(), heap_.end(), Later{});
        bytes_ -= heap_.back().item.size_bytes();
        batch.push_back(std::move(heap_.back()));
        heap_.pop_back();
      }
      earliest_due_ns_.store(heap_.empty() ? std::numeric_limits<int64_t>::max()
                                           : heap_.front().due_ns,
                             std::memory_order_relaxed);
      lock.unlock();
      for (Entry& entry : batch) {
        const int64_t send_ns = MonotonicNowNs();
        RecordLateness(send_ns - entry.due_ns);
        sink_(entry.item, send_ns);
      }
      batch.clear();
      lock.lock();
    }
    lock.unlock();
    std::lock_guard<std::mutex> cpu_lock(cpu_mu_);
    final_cpu_ns_ = ClockNs(CLOCK_THREAD_CPUTIME_ID);
    cpu_clock_valid_ = false;
  }

  void RecordLateness(int64_t lateness_ns) {
    if (lateness_ns < 0) lateness_ns = 0;
    size_t bucket = static_cast<size_t>(lateness_ns / 1000);
    if (bucket >= kLatenessHistogramBuckets) bucket = kLatenessHistogramBuckets - 1;
    lateness_histogram_[bucket].fetch_add(1, std::memory_order_relaxed);
    if (lateness_ns > max_lateness_ns_.load(std::memory_order_relaxed)) {
      max_lateness_ns_.store(lateness_ns, std::memory_order_relaxed);
    }
  }

  DelayQueueOptions options_;
  Sink sink_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> started_{false};
  std::atomic<bool> realtime_active_{false};
  std::vector<Entry> heap_;  // guarded by mu_
  size_t bytes_ = 0;          // guarded by mu_
  uint64_t next_sequence_ = 0;
  uint64_t discarded_at_stop_ = 0;
  std::atomic<int64_t> earliest_due_ns_{std::numeric_limits<int64_t>::max()};
  std::array<std::atomic<uint64_t>, kLatenessHistogramBuckets> lateness_histogram_{};
  std::atomic<int64_t> max_lateness_ns_{0};
  mutable std::mutex cpu_mu_;
  clockid_t cpu_clock_{};        // guarded by cpu_mu_
  bool cpu_clock_valid_ = false;  // guarded by cpu_mu_
  int64_t final_cpu_ns_ = 0;      // guarded by cpu_mu_
};

}  // namespace lightcone::netem

#endif  // LIGHTCONE_NETEM_DELAY_QUEUE_H_
