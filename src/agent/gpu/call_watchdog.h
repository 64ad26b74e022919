// CallWatchdog runs calls into a library that may hang (NVML) on one worker thread and
// bounds how long a caller waits for them.
//
// A call that exceeds its deadline keeps running on the worker (a thread blocked inside a
// driver cannot be cancelled); the caller gets kDeadlineExceeded at the deadline and moves
// on. Until that call returns, the watchdog is "hung": later calls are refused at once with
// kUnavailable instead of piling up behind it, so no caller ever waits longer than its own
// deadline. The hang is logged once when it starts and once when it ends.
//
// Thread-safe. The destructor does not wait for a hung call: the worker is detached and
// keeps only state it owns (callers must capture by value whatever their function uses).
#ifndef LIGHTCONE_AGENT_GPU_CALL_WATCHDOG_H_
#define LIGHTCONE_AGENT_GPU_CALL_WATCHDOG_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/gpu/gpu_source.h"

namespace lightcone::agent {

class CallWatchdog {
 public:
  struct Options {
    std::string name = "nvml";  // names the watchdog in logs
  };

  explicit CallWatchdog(Options options);
  ~CallWatchdog();
  CallWatchdog(const CallWatchdog&) = delete;
  CallWatchdog& operator=(const CallWatchdog&) = delete;

  // Runs `fn` on the worker and waits until it returns or `deadline` passes.
  // Returns OK when fn returned in time; kDeadlineExceeded when it did not (fn may still
  // run later or be running now: it must own everything it touches); kUnavailable when an
  // earlier call is still hung, in which case fn is not run.
  // REQUIRES: deadline > 0; not called from inside `fn`.
  absl::Status Run(absl::string_view what, absl::Duration deadline, std::function<void()> fn);

  // Counters and the latency histogram of completed calls.
  SourceStats stats() const;

 private:
  struct State;
  static void WorkerLoop(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
  std::thread worker_;
};

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_GPU_CALL_WATCHDOG_H_
