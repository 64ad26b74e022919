#include "netem/clock.h"

#include "gtest/gtest.h"

namespace lightcone::netem {
namespace {

TEST(RealtimeToMonotonicNs, MapsNowToNow) {
  for (int i = 0; i < 100; ++i) {
    const int64_t mono_before = MonotonicNowNs();
    const int64_t converted = RealtimeToMonotonicNs(ClockNs(CLOCK_REALTIME));
    const int64_t mono_after = MonotonicNowNs();
    // The realtime instant was read between the two monotonic reads; allow the bracket
    // tolerance on either side.
    EXPECT_GE(converted, mono_before - kMaxClockBracketNs);
    EXPECT_LE(converted, mono_after + kMaxClockBracketNs);
  }
}

TEST(RealtimeToMonotonicNs, PreservesDifferences) {
  const int64_t real = ClockNs(CLOCK_REALTIME);
  const int64_t a = RealtimeToMonotonicNs(real);
  const int64_t b = RealtimeToMonotonicNs(real - 10'000'000);
  // Two conversions may use different samples; they agree to within the bracket tolerance.
  EXPECT_NEAR(static_cast<double>(a - b), 10'000'000.0, 2.0 * kMaxClockBracketNs + 1000);
}

}  // namespace
}  // namespace lightcone::netem
