#include "landmark/scheduler.h"

#include <vector>

#include "gtest/gtest.h"

namespace lightcone::landmark {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(JitteredScheduler, ProbesEveryTargetAtAboutTheInterval) {
  JitteredScheduler s(3, {std::chrono::milliseconds(100), 0.2}, 42, 0);
  std::vector<int> counts(3);
  // Simulate 10 s in 1 ms steps.
  for (int64_t now = 0; now <= 10'000 * kMs; now += kMs) {
    for (int t = s.PopDue(now); t >= 0; t = s.PopDue(now)) ++counts[t];
  }
  for (int c : counts) {
    EXPECT_GE(c, 90);   // 100 expected; jitter is symmetric
    EXPECT_LE(c, 110);
  }
}

TEST(JitteredScheduler, GapsStayWithinTheJitterBounds) {
  JitteredScheduler s(1, {std::chrono::milliseconds(100), 0.2}, 7, 0);
  int64_t last = -1;
  for (int64_t now = 0; now <= 5'000 * kMs; now += kMs / 10) {
    if (s.PopDue(now) >= 0) {
      if (last >= 0) {
        EXPECT_GE(now - last, 80 * kMs - kMs / 10);
        EXPECT_LE(now - last, 120 * kMs + kMs / 10);
      }
      last = now;
    }
  }
}

TEST(JitteredScheduler, NothingDueBeforeTime) {
  JitteredScheduler s(1, {std::chrono::milliseconds(100), 0.0}, 1, 1000);
  EXPECT_EQ(s.PopDue(999), -1);
  EXPECT_EQ(s.PopDue(1000), 0);
  EXPECT_EQ(s.next_due_ns(), 1000 + 100 * kMs);
}

}  // namespace
}  // namespace lightcone::landmark
