#include "netem/link_spec.h"

#include <chrono>

#include "gtest/gtest.h"

namespace lightcone::netem {
namespace {

using std::chrono::milliseconds;
using std::chrono::microseconds;

TEST(ParseLinkFlag, ReadsAllOptions) {
  auto spec = ParseLinkFlag(
      "127.0.0.1:0=127.0.0.1:9000,delay_ms=10,return_delay_ms=12.5,jitter_ms=0.25,"
      "jitter=normal,loss=0.1,name=tokyo");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->listen, "127.0.0.1:0");
  EXPECT_EQ(spec->forward, "127.0.0.1:9000");
  EXPECT_EQ(spec->delay, milliseconds(10));
  EXPECT_EQ(spec->effective_return_delay(), microseconds(12500));
  EXPECT_EQ(spec->jitter, microseconds(250));
  EXPECT_EQ(spec->jitter_distribution, JitterDistribution::kNormal);
  EXPECT_DOUBLE_EQ(spec->loss, 0.1);
  EXPECT_EQ(spec->name, "tokyo");
}

TEST(ParseLinkFlag, ReturnDelayDefaultsToDelay) {
  auto spec = ParseLinkFlag("[::1]:0=[::1]:9000,delay_ms=7");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->effective_return_delay(), milliseconds(7));
  EXPECT_EQ(spec->jitter.count(), 0);
  EXPECT_EQ(spec->loss, 0.0);
}

TEST(ParseLinkFlag, RejectsBadInput) {
  const char* bad[] = {
      "",
      "127.0.0.1:0",                                       // no forward
      "127.0.0.1:0=127.0.0.1:9000",                        // no delay
      "127.0.0.1:0=127.0.0.1:9000,delay_ms=abc",           // not a number
      "127.0.0.1:0=127.0.0.1:9000,delay_ms=-1",            // negative
      "127.0.0.1:0=127.0.0.1:9000,delay_ms=1e9",           // too large
      "127.0.0.1:0=127.0.0.1:9000,delay_ms=1,loss=1.5",    // loss > 1
      "127.0.0.1:0=127.0.0.1:9000,delay_ms=1,loss=-0.1",   // loss < 0
      "127.0.0.1:0=127.0.0.1:9000,delay_ms=1,colour=red",  // unknown option
      "127.0.0.1:0=127.0.0.1:9000,delay_ms",               // not KEY=VALUE
      "127.0.0.1:0=127.0.0.1:9000,delay_ms=1,jitter=pareto",
      "127.0.0.1:0=127.0.0.1:9000,delay_ms=nan",
  };
  for (const char* text : bad) {
    auto spec = ParseLinkFlag(text);
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseLinkFlag, ErrorNamesTheProblem) {
  auto spec = ParseLinkFlag("127.0.0.1:0=127.0.0.1:9000,delay_ms=1,colour=red");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(std::string(spec.status().message()).find("colour"), std::string::npos);
}

TEST(ValidateLinkSpec, RejectsNegativeDelay) {
  LinkSpec spec;
  spec.listen = "127.0.0.1:0";
  spec.forward = "127.0.0.1:1";
  spec.delay = milliseconds(-1);
  EXPECT_EQ(ValidateLinkSpec(spec).code(), absl::StatusCode::kInvalidArgument);
  spec.delay = milliseconds(1);
  EXPECT_TRUE(ValidateLinkSpec(spec).ok());
  spec.return_delay = milliseconds(-5);
  EXPECT_EQ(ValidateLinkSpec(spec).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::netem
