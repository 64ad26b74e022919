// Clock reads in integer nanoseconds. CLOCK_MONOTONIC for intervals and deadlines;
// CLOCK_REALTIME for wall-clock records and to compare with kernel packet timestamps
// (SO_TIMESTAMPNS / SO_TIMESTAMPING report CLOCK_REALTIME).
#ifndef LIGHTCONE_CORE_CLOCK_H_
#define LIGHTCONE_CORE_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace lightcone {

inline int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline int64_t MonotonicNs() { return ClockNs(CLOCK_MONOTONIC); }
inline int64_t RealtimeNs() { return ClockNs(CLOCK_REALTIME); }

}  // namespace lightcone

#endif  // LIGHTCONE_CORE_CLOCK_H_
