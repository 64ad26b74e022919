#include "agent/config.h"

#include "absl/strings/str_cat.h"
#include "agent/responder.h"
#include "gtest/gtest.h"

namespace lightcone::agent {
namespace {

TEST(AgentConfig, ParsesFullConfig) {
  auto config = ParseAgentConfig(R"(
listen = "127.0.0.1:9000"
keys_file = "/run/lightcone/keys.json"
key_rotation_seconds = 3600
key_overlap_seconds = 60
keepalive_ms = 5000
[rate_limit]
per_source_per_second = 50.0
burst = 100.0
[[devices]]
id = "GPU-0123abcd-4567-89ab-cdef-0123456789ab"
name = "gpu0"
[[landmarks]]
id = "11111111-2222-3333-4444-555555555555"
address = "10.0.0.1:7448"
)", "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "127.0.0.1:9000");
  EXPECT_EQ(config->key_rotation_period, std::chrono::seconds(3600));
  EXPECT_EQ(config->key_overlap, std::chrono::seconds(60));
  EXPECT_EQ(config->keepalive_interval, std::chrono::milliseconds(5000));
  EXPECT_DOUBLE_EQ(config->rate_per_source_per_second, 50.0);
  ASSERT_EQ(config->devices.size(), 1u);
  EXPECT_EQ(wire::FormatId(config->devices[0].id), "0123abcd-4567-89ab-cdef-0123456789ab");
  EXPECT_EQ(config->devices[0].name, "gpu0");
  ASSERT_EQ(config->landmarks.size(), 1u);
  EXPECT_EQ(config->landmarks[0].address, "10.0.0.1:7448");
}

TEST(AgentConfig, DefaultsWhenEmpty) {
  auto config = ParseAgentConfig("", "empty.toml");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->listen, kDefaultListen);
  EXPECT_EQ(config->key_rotation_period, kDefaultKeyRotationPeriod);
  EXPECT_TRUE(config->devices.empty());
}

TEST(AgentConfig, RejectsBadInput) {
  EXPECT_EQ(ParseAgentConfig("listen = ", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAgentConfig("[[devices]]\nid = \"nope\"\n", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAgentConfig("[[devices]]\nname = \"gpu0\"\n", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAgentConfig("key_rotation_seconds = 0\n", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAgentConfig("[rate_limit]\nper_source_per_second = -1.0\n", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  const char* twice = R"(
[[devices]]
id = "0123abcd-4567-89ab-cdef-0123456789ab"
[[devices]]
id = "0123abcd-4567-89ab-cdef-0123456789ab"
)";
  EXPECT_EQ(ParseAgentConfig(twice, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadAgentConfig("/nonexistent/agent.toml").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(AgentConfigTest, ParsesTheServerSection) {
  auto c = ParseAgentConfig(R"(
advertise_address = "10.0.0.17:7447"
[server]
url = "https://fleet.example.net:8443"
token_file = "/etc/lightcone/agent.token"
site = "SIN-DC1"
ca_file = "/etc/lightcone/fleet-ca.pem"
enroll_interval = 120
telemetry_interval = 15
)", "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->advertise_address, "10.0.0.17:7447");
  EXPECT_EQ(c->server.url, "https://fleet.example.net:8443");
  EXPECT_EQ(c->server.token_file, "/etc/lightcone/agent.token");
  EXPECT_EQ(c->server.site, "SIN-DC1");
  EXPECT_EQ(c->server.ca_file, "/etc/lightcone/fleet-ca.pem");
  EXPECT_EQ(c->server.enroll_interval, std::chrono::seconds(120));
  EXPECT_EQ(c->server.telemetry_interval, std::chrono::seconds(15));
  auto none = ParseAgentConfig("", "x");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->server.url.empty());
  EXPECT_TRUE(none->advertise_address.empty());
}

TEST(AgentConfigTest, ParsesHostnameAndMetricsListen) {
  auto c = ParseAgentConfig(R"(
metrics_listen = ""
[server]
url = "http://127.0.0.1:8080"
hostname = "sin-a-1"
)", "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.hostname, "sin-a-1");
  ASSERT_TRUE(c->metrics_listen.has_value());
  EXPECT_EQ(*c->metrics_listen, "");
  auto port = ParseAgentConfig("metrics_listen = \"127.0.0.1:9500\"\n", "x");
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(port->metrics_listen, std::optional<std::string>("127.0.0.1:9500"));
  auto none = ParseAgentConfig("", "x");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->metrics_listen.has_value());
  EXPECT_TRUE(none->server.hostname.empty());
}

TEST(AgentConfigTest, RejectsBadServerSections) {
  for (const char* text : {
           "[server]\ntoken = \"t\"\n",  // no url
           "[server]\nurl = \"http://h\"\ntoken = \"t\"\ntoken_file = \"f\"\n",
           "[server]\nurl = \"http://h\"\nenroll_interval = 0\n",
           "[server]\nurl = \"http://h\"\ntelemetry_interval = -1\n",
       }) {
    EXPECT_EQ(ParseAgentConfig(text, "x").status().code(), absl::StatusCode::kInvalidArgument)
        << text;
  }
}

TEST(AgentConfigTest, BusyPollIsParsedAndBounded) {
  auto config = ParseAgentConfig("busy_poll_us = 200\n", "x.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->busy_poll_us, 200);
  EXPECT_EQ(ParseAgentConfig("", "x.toml")->busy_poll_us, 0);
  EXPECT_EQ(ParseAgentConfig("busy_poll_us = -1\n", "x.toml").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAgentConfig(absl::StrCat("busy_poll_us = ", Responder::kMaxBusyPollUs + 1, "\n"),
                             "x.toml")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::agent
