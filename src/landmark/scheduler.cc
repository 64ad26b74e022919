#include "landmark/scheduler.h"

#include <algorithm>
#include <limits>

namespace lightcone::landmark {

JitteredScheduler::JitteredScheduler(size_t targets, Options options, uint64_t seed,
                                     int64_t start_ns)
    : options_(options), rng_(seed) {
  options_.jitter_fraction = std::clamp(options_.jitter_fraction, 0.0, kMaxJitterFraction);
  std::uniform_real_distribution<double> spread(0.0, 1.0);
  for (size_t i = 0; i < targets; ++i) {
    int64_t offset = targets == 1 ? 0
                                  : static_cast<int64_t>(spread(rng_) *
                                                         static_cast<double>(options_.interval.count()));
    queue_.push({start_ns + offset, static_cast<int>(i)});
  }
}

int64_t JitteredScheduler::next_due_ns() const {
  return queue_.empty() ? std::numeric_limits<int64_t>::max() : queue_.top().first;
}

int64_t JitteredScheduler::JitteredInterval() {
  std::uniform_real_distribution<double> factor(1.0 - options_.jitter_fraction,
                                                1.0 + options_.jitter_fraction);
  return std::max<int64_t>(
      1, static_cast<int64_t>(static_cast<double>(options_.interval.count()) * factor(rng_)));
}

int JitteredScheduler::PopDue(int64_t now_ns) {
  if (queue_.empty() || queue_.top().first > now_ns) return -1;
  Entry e = queue_.top();
  queue_.pop();
  // Schedule from the due time (not from now) so a late loop does not drift the rate, but
  // never in the past, so a stalled loop does not burst.
  int64_t next = std::max(e.first + JitteredInterval(), now_ns);
  queue_.push({next, e.second});
  return e.second;
}

}  // namespace lightcone::landmark
