#include "agent/responder_rate_limit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "gtest/gtest.h"

namespace lightcone::agent {
namespace {

sockaddr_storage V4(const char* ip, int port) {
  sockaddr_storage s{};
  auto* in = reinterpret_cast<sockaddr_in*>(&s);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  inet_pton(AF_INET, ip, &in->sin_addr);
  return s;
}

constexpr int64_t kSecondNs = 1'000'000'000;

TEST(SourceRateLimiter, AllowsBurstThenLimits) {
  SourceRateLimiter limiter({10.0, 5.0});
  auto a = V4("10.0.0.1", 1);
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += limiter.Allow(a, kSecondNs);
  EXPECT_EQ(allowed, 5);
}

TEST(SourceRateLimiter, RefillsAtTheConfiguredRate) {
  SourceRateLimiter limiter({10.0, 5.0});
  auto a = V4("10.0.0.1", 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limiter.Allow(a, kSecondNs));
  EXPECT_FALSE(limiter.Allow(a, kSecondNs));
  // 0.3 s later: 3 tokens.
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limiter.Allow(a, kSecondNs + 3 * kSecondNs / 10);
  EXPECT_EQ(allowed, 3);
}

TEST(SourceRateLimiter, SourcesAreIndependentAndPortsDoNotMatter) {
  SourceRateLimiter limiter({1.0, 2.0});
  auto a1 = V4("10.0.0.1", 1);
  auto a2 = V4("10.0.0.1", 2);  // same host, other port: same bucket
  auto b = V4("10.0.0.2", 1);
  EXPECT_TRUE(limiter.Allow(a1, 0));
  EXPECT_TRUE(limiter.Allow(a2, 0));
  EXPECT_FALSE(limiter.Allow(a1, 0));
  EXPECT_TRUE(limiter.Allow(b, 0));
}

TEST(SourceRateLimiter, ManySourcesDoNotGrowTheTable) {
  SourceRateLimiter limiter({1.0, 1.0, 16});
  char ip[32];
  for (int i = 0; i < 1000; ++i) {
    std::snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
    EXPECT_TRUE(limiter.Allow(V4(ip, 1), i));  // each new source starts with a full bucket
  }
}

}  // namespace
}  // namespace lightcone::agent
