// A jittered probe schedule: each target is due every `interval`, each gap stretched or
// shrunk by a uniform random factor in [1 - jitter, 1 + jitter] so that probes from many
// landmarks do not synchronize and an observer cannot predict the next challenge time.
// Initial times are spread over one interval. Not thread-safe.
#ifndef LIGHTCONE_LANDMARK_SCHEDULER_H_
#define LIGHTCONE_LANDMARK_SCHEDULER_H_

#include <chrono>
#include <cstdint>
#include <queue>
#include <random>
#include <utility>
#include <vector>

namespace lightcone::landmark {

class JitteredScheduler {
 public:
  static constexpr double kMaxJitterFraction = 0.9;

  struct Options {
    std::chrono::nanoseconds interval = std::chrono::seconds(1);
    double jitter_fraction = 0.2;  // clamped to [0, kMaxJitterFraction]
  };

  JitteredScheduler(size_t targets, Options options, uint64_t seed, int64_t start_ns);

  // When the earliest target is due (INT64_MAX with no targets).
  int64_t next_due_ns() const;

  // The index of a target due at or before `now_ns`, rescheduled one jittered interval after
  // its due time; -1 when none is due.
  int PopDue(int64_t now_ns);

 private:
  int64_t JitteredInterval();

  Options options_;
  std::mt19937_64 rng_;
  using Entry = std::pair<int64_t, int>;  // due time, target
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue_;
};

}  // namespace lightcone::landmark

#endif  // LIGHTCONE_LANDMARK_SCHEDULER_H_
