// Clock helpers for the relay. Every due time is in CLOCK_MONOTONIC nanoseconds; kernel
// receive timestamps (SO_TIMESTAMPNS) are CLOCK_REALTIME and are converted on arrival.
#ifndef LIGHTCONE_NETEM_CLOCK_H_
#define LIGHTCONE_NETEM_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace lightcone::netem {

inline int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline int64_t MonotonicNowNs() { return ClockNs(CLOCK_MONOTONIC); }

inline int64_t TimespecToNs(const timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A realtime read bracketed by two monotonic reads further apart than this was interrupted
// (preempted); RealtimeToMonotonicNs then tries again.
inline constexpr int64_t kMaxClockBracketNs = 2'000;
inline constexpr int kMaxClockBracketAttempts = 8;

// Converts a CLOCK_REALTIME instant (a kernel packet timestamp) to CLOCK_MONOTONIC by
// sampling both clocks now: the realtime read is bracketed by two monotonic reads and the
// midpoint is used. If the thread was preempted inside the bracket the sample is retried
// (the tightest of up to kMaxClockBracketAttempts is used), so the conversion error stays
// well under a microsecond. A realtime step between the packet's arrival and this call
// shifts the result by the step; NTP slewing does not matter at these time scales.
inline int64_t RealtimeToMonotonicNs(int64_t realtime_ns) {
  int64_t best_offset = 0;
  int64_t best_bracket = INT64_MAX;
  for (int attempt = 0; attempt < kMaxClockBracketAttempts; ++attempt) {
    const int64_t mono_before = ClockNs(CLOCK_MONOTONIC);
    const int64_t real = ClockNs(CLOCK_REALTIME);
    const int64_t mono_after = ClockNs(CLOCK_MONOTONIC);
    const int64_t bracket = mono_after - mono_before;
    if (bracket < best_bracket) {
      best_bracket = bracket;
      best_offset = real - (mono_before + bracket / 2);
    }
    if (bracket <= kMaxClockBracketNs) break;
  }
  return realtime_ns - best_offset;
}

}  // namespace lightcone::netem

#endif  // LIGHTCONE_NETEM_CLOCK_H_
