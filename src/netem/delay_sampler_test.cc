#include "netem/delay_sampler.h"

#include <chrono>

#include "gtest/gtest.h"

namespace lightcone::netem {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(DelaySampler, NoJitterGivesTheExactDelay) {
  DelaySampler sampler(1);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sampler.Sample(milliseconds(10), nanoseconds(0), JitterDistribution::kUniform),
              milliseconds(10));
  }
}

TEST(DelaySampler, JitterNeverMakesTheDelayNegative) {
  DelaySampler sampler(7);
  for (JitterDistribution d : {JitterDistribution::kUniform, JitterDistribution::kNormal}) {
    int zeros = 0;
    for (int i = 0; i < 20000; ++i) {
      nanoseconds delay = sampler.Sample(milliseconds(1), milliseconds(5), d);
      EXPECT_GE(delay.count(), 0);
      zeros += delay.count() == 0;
    }
    // With jitter five times the delay many draws fall below zero and are clamped.
    EXPECT_GT(zeros, 1000) << JitterDistributionName(d);
  }
}

TEST(DelaySampler, UniformJitterStaysInItsRange) {
  DelaySampler sampler(3);
  nanoseconds low = milliseconds(100), high = milliseconds(0);
  for (int i = 0; i < 20000; ++i) {
    nanoseconds delay = sampler.Sample(milliseconds(10), milliseconds(2), JitterDistribution::kUniform);
    low = std::min(low, delay);
    high = std::max(high, delay);
  }
  EXPECT_GE(low, milliseconds(8));
  EXPECT_LE(high, milliseconds(12));
  // The draws do spread over the range.
  EXPECT_LT(low, milliseconds(9));
  EXPECT_GT(high, milliseconds(11));
}

TEST(DelaySampler, LossProbabilityIsHonoured) {
  DelaySampler sampler(5);
  int dropped_never = 0, dropped_always = 0, dropped_half = 0;
  for (int i = 0; i < 10000; ++i) {
    dropped_never += sampler.Drop(0.0);
    dropped_always += sampler.Drop(1.0);
    dropped_half += sampler.Drop(0.5);
  }
  EXPECT_EQ(dropped_never, 0);
  EXPECT_EQ(dropped_always, 10000);
  EXPECT_GT(dropped_half, 4500);
  EXPECT_LT(dropped_half, 5500);
}

TEST(DelaySampler, SameSeedSameDraws) {
  DelaySampler a(42), b(42);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(a.Sample(milliseconds(5), milliseconds(1), JitterDistribution::kNormal),
              b.Sample(milliseconds(5), milliseconds(1), JitterDistribution::kNormal));
  }
}

}  // namespace
}  // namespace lightcone::netem
