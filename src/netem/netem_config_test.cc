#include "netem/netem_config.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace lightcone::netem {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ParseNetemConfig, ReadsRelayOptionsAndLinks) {
  auto config = ParseNetemConfig(R"(
[relay]
spin_us = 40
max_queued_datagrams = 100
mapping_idle_timeout_s = 2.5
seed = 9

[[link]]
name = "tokyo"
listen = "127.0.0.1:0"
forward = "127.0.0.1:9000"
delay_ms = 10
return_delay_ms = 12.5
jitter_ms = 0.5
jitter = "normal"
loss = 0.01

[[link]]
listen = "127.0.0.1:0"
forward = "127.0.0.1:9001"
delay_ms = 0.25
)",
                                 "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->relay.spin_window, microseconds(40));
  EXPECT_EQ(config->relay.max_queued_datagrams, 100u);
  EXPECT_EQ(config->relay.mapping_idle_timeout, milliseconds(2500));
  EXPECT_EQ(config->relay.seed, 9u);
  ASSERT_EQ(config->links.size(), 2u);
  const LinkSpec& tokyo = config->links[0];
  EXPECT_EQ(tokyo.name, "tokyo");
  EXPECT_EQ(tokyo.delay, milliseconds(10));
  EXPECT_EQ(tokyo.effective_return_delay(), microseconds(12500));
  EXPECT_EQ(tokyo.jitter, microseconds(500));
  EXPECT_EQ(tokyo.jitter_distribution, JitterDistribution::kNormal);
  EXPECT_DOUBLE_EQ(tokyo.loss, 0.01);
  EXPECT_EQ(config->links[1].delay, microseconds(250));
  EXPECT_EQ(config->links[1].effective_return_delay(), microseconds(250));
}

struct BadConfig {
  const char* text;
  const char* expected_fragment;
};

TEST(ParseNetemConfig, RejectsBadConfigsWithAClearMessage) {
  const BadConfig cases[] = {
      {"[[link]\nlisten=", "line"},  // TOML syntax error
      {"", "no links"},
      {"[[link]]\nlisten=\"127.0.0.1:0\"\nforward=\"127.0.0.1:1\"\n", "delay_ms"},
      {"[[link]]\nforward=\"127.0.0.1:1\"\ndelay_ms=1\n", "listen"},
      {"[[link]]\nlisten=\"127.0.0.1:0\"\nforward=\"127.0.0.1:1\"\ndelay_ms=\"ten\"\n",
       "must be a number"},
      {"[[link]]\nlisten=\"127.0.0.1:0\"\nforward=\"127.0.0.1:1\"\ndelay_ms=-3\n", "delay_ms"},
      {"[[link]]\nlisten=\"127.0.0.1:0\"\nforward=\"127.0.0.1:1\"\ndelay_ms=1\nloss=3\n",
       "loss"},
      {"[[link]]\nlisten=\"127.0.0.1:0\"\nforward=\"127.0.0.1:1\"\ndelay_ms=1\ndelay=2\n",
       "unknown key 'delay'"},
      {"[relay]\nspin=3\n[[link]]\nlisten=\"127.0.0.1:0\"\nforward=\"127.0.0.1:1\"\ndelay_ms=1\n",
       "unknown key 'spin'"},
      {"[relay]\nspin_us=100000\n[[link]]\nlisten=\"a:0\"\nforward=\"b:1\"\ndelay_ms=1\n",
       "spin_us"},
      {"[relay]\nmax_queued_datagrams=0\n[[link]]\nlisten=\"a:0\"\nforward=\"b:1\"\ndelay_ms=1\n",
       "max_queued_datagrams"},
      {"links = 3\n", "unknown key 'links'"},
  };
  for (const BadConfig& c : cases) {
    auto config = ParseNetemConfig(c.text, "bad.toml");
    ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    const std::string message(config.status().message());
    EXPECT_NE(message.find("bad.toml"), std::string::npos) << message;
    EXPECT_NE(message.find(c.expected_fragment), std::string::npos) << message;
  }
}

TEST(LoadNetemConfig, MissingFileIsNotFound) {
  EXPECT_EQ(LoadNetemConfig("/nonexistent/netem.toml").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(LoadNetemConfig, ReadsAFile) {
  const std::string path = std::string(LIGHTCONE_BINARY_DIR) + "/netem_config_test.toml";
  {
    std::ofstream out(path);
    out << "[[link]]\nlisten = \"127.0.0.1:0\"\nforward = \"127.0.0.1:9\"\ndelay_ms = 3\n";
  }
  auto config = LoadNetemConfig(path);
  std::remove(path.c_str());
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->links.size(), 1u);
  EXPECT_EQ(config->links[0].delay, milliseconds(3));
}

}  // namespace
}  // namespace lightcone::netem
