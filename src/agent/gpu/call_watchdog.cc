#include "agent/gpu/call_watchdog.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/logging.h"

namespace lightcone::agent {

namespace {

struct Task {
  std::string what;
  std::function<void()> fn;
  bool started = false;
  bool done = false;
  bool cancelled = false;
};

}  // namespace

struct CallWatchdog::State {
  std::string name;
  mutable std::mutex mu;
  std::condition_variable work_cv;  // worker waits for tasks
  std::condition_variable done_cv;  // callers wait for completion
  std::deque<std::shared_ptr<Task>> queue;
  std::shared_ptr<Task> current;
  absl::Time current_started;
  bool hung = false;
  bool stop = false;
  SourceStats stats;
};

CallWatchdog::CallWatchdog(Options options) : state_(std::make_shared<State>()) {
  state_->name = std::move(options.name);
  state_->stats.latency_buckets.assign(kLatencyBucketsSeconds.size(), 0);
  worker_ = std::thread(&CallWatchdog::WorkerLoop, state_);
}

CallWatchdog::~CallWatchdog() {
  bool detach = false;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
    detach = state_->hung;
  }
  state_->work_cv.notify_all();
  if (detach) {
    worker_.detach();
  } else {
    worker_.join();
  }
}

void CallWatchdog::WorkerLoop(std::shared_ptr<State> state) {
  std::unique_lock<std::mutex> lock(state->mu);
  while (true) {
    state->work_cv.wait(lock, [&] { return state->stop || !state->queue.empty(); });
    if (state->queue.empty()) return;  // stop requested and nothing left
    std::shared_ptr<Task> task = std::move(state->queue.front());
    state->queue.pop_front();
    if (task->cancelled) continue;
    task->started = true;
    state->current = task;
    state->current_started = absl::Now();
    lock.unlock();
    task->fn();
    task->fn = nullptr;  // release captures on the worker, not in a caller
    lock.lock();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - state->current_started);
    task->done = true;
    state->current.reset();
    SourceStats& s = state->stats;
    s.latency_count++;
    s.latency_seconds_sum += seconds;
    for (size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
      if (seconds <= kLatencyBucketsSeconds[i]) s.latency_buckets[i]++;
    }
    if (state->hung) {
      state->hung = false;
      s.hung = false;
      s.hung_call.clear();
      Logger("agent")->info("{}: call {} returned after {:.1f} s; resuming", state->name,
                            task->what, seconds);
    }
    state->done_cv.notify_all();
    if (state->stop && state->queue.empty()) return;
  }
}

absl::Status CallWatchdog::Run(absl::string_view what, absl::Duration deadline,
                               std::function<void()> fn) {
  auto task = std::make_shared<Task>();
  task->what = std::string(what);
  task->fn = std::move(fn);
  std::unique_lock<std::mutex> lock(state_->mu);
  if (state_->hung) {
    state_->stats.rejected++;
    return absl::UnavailableError(absl::StrCat(
        state_->name, ": not calling ", what, " because ", state_->stats.hung_call,
        " has been hung for ",
        absl::FormatDuration(absl::Trunc(absl::Now() - state_->current_started,
                                         absl::Milliseconds(1)))));
  }
  state_->stats.calls++;
  state_->queue.push_back(task);
  state_->work_cv.notify_one();
  const auto until = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(deadline);
  state_->done_cv.wait_until(lock, until, [&] { return task->done; });
  if (task->done) return absl::OkStatus();

  state_->stats.timeouts++;
  if (!task->started) {
    // Still queued behind a slow (not yet hung) call: drop it.
    task->cancelled = true;
    return absl::DeadlineExceededError(absl::StrCat(state_->name, ": ", what,
                                                    " did not start within ",
                                                    absl::FormatDuration(deadline)));
  }
  if (!state_->hung) {
    state_->hung = true;
    state_->stats.hung = true;
    state_->stats.hung_call = task->what;
    Logger("agent")->warn(
        "{}: call {} exceeded its {} deadline; data is stale until it returns", state_->name,
        task->what, absl::FormatDuration(deadline));
  }
  return absl::DeadlineExceededError(absl::StrCat(state_->name, ": ", what, " exceeded ",
                                                  absl::FormatDuration(deadline)));
}

SourceStats CallWatchdog::stats() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->stats;
}

}  // namespace lightcone::agent
