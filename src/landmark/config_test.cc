#include "landmark/config.h"

#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"

namespace lightcone::landmark {
namespace {

constexpr char kKey[] = "b0d09982449f191804ff6920ee792195cbe34744a94395d01d2f1d64ead86022";

TEST(LandmarkConfig, ParsesTargets) {
  std::string text = std::string(R"(
id = "11111111-2222-3333-4444-555555555555"
listen = "127.0.0.1:0"
key_file = "/tmp/k"
interval_ms = 50
timeout_ms = 200
window_s = 5
[[targets]]
device = "GPU-0123abcd-4567-89ab-cdef-0123456789ab"
address = "127.0.0.1:7447"
public_keys = [")") + kKey + R"("]
[[targets]]
device = "0123abcd-4567-89ab-cdef-0123456789ac"
public_keys = [")" + kKey + R"("]
)";
  auto c = ParseLandmarkConfig(text, "lm.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->interval, std::chrono::milliseconds(50));
  EXPECT_EQ(c->window, std::chrono::seconds(5));
  ASSERT_EQ(c->targets.size(), 2u);
  EXPECT_EQ(c->targets[0].address, "127.0.0.1:7447");
  EXPECT_TRUE(c->targets[1].address.empty());  // agent-initiated
}

TEST(LandmarkConfig, ServerSectionReplacesStaticTargets) {
  auto c = ParseLandmarkConfig(R"(
id = "11111111-2222-3333-4444-555555555555"
key_file = "/k"
[server]
url = "http://127.0.0.1:8080"
token_file = "/etc/lightcone/landmark.token"
landmark_id = 3
state_dir = "/tmp/lm"
targets_poll_ms = 250
)", "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->targets.empty());
  EXPECT_EQ(c->server.url, "http://127.0.0.1:8080");
  EXPECT_EQ(c->server.token_file, "/etc/lightcone/landmark.token");
  EXPECT_EQ(c->server.landmark_id, 3);
  EXPECT_EQ(c->server.state_dir, "/tmp/lm");
  EXPECT_EQ(c->server.targets_poll_interval, std::chrono::milliseconds(250));
  EXPECT_TRUE(ValidateLandmarkConfig(*c, "x").ok());

  auto top = ParseLandmarkConfig(
      "id = \"11111111-2222-3333-4444-555555555555\"\nserver_landmark_id = 9\n", "x");
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ(top->server.landmark_id, 9);
  // Neither targets nor a server.
  EXPECT_EQ(ValidateLandmarkConfig(*top, "x").code(), absl::StatusCode::kInvalidArgument);
  // A server without a token.
  LandmarkConfig no_token = *c;
  no_token.server.token_file.clear();
  EXPECT_EQ(ValidateLandmarkConfig(no_token, "x").code(), absl::StatusCode::kInvalidArgument);
  // [server] without url (none on the command line either): targets are still required.
  auto no_url = ParseLandmarkConfig(
      "id = \"11111111-2222-3333-4444-555555555555\"\n[server]\ntoken = \"t\"\n", "x");
  ASSERT_TRUE(no_url.ok()) << no_url.status();
  EXPECT_EQ(ValidateLandmarkConfig(*no_url, "x").code(), absl::StatusCode::kInvalidArgument);
}

TEST(LandmarkConfig, RejectsBadInput) {
  EXPECT_EQ(ParseLandmarkConfig("", "x").status().code(), absl::StatusCode::kInvalidArgument);
  std::string no_keys = R"(
id = "11111111-2222-3333-4444-555555555555"
[[targets]]
device = "0123abcd-4567-89ab-cdef-0123456789ab"
public_keys = []
)";
  EXPECT_EQ(ParseLandmarkConfig(no_keys, "x").status().code(), absl::StatusCode::kInvalidArgument);
  std::string bad_key = R"(
id = "11111111-2222-3333-4444-555555555555"
[[targets]]
device = "0123abcd-4567-89ab-cdef-0123456789ab"
public_keys = ["abc"]
)";
  EXPECT_EQ(ParseLandmarkConfig(bad_key, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadLandmarkConfig("/nonexistent.toml").status().code(), absl::StatusCode::kNotFound);
}

TEST(LandmarkKey, GenerateThenLoadGivesTheSameKey) {
  std::string path = std::filesystem::temp_directory_path() /
                     ("lc-landmark-key-" + std::to_string(getpid()));
  std::filesystem::remove(path);
  auto made = GenerateLandmarkKeyFile(path);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto loaded = LoadLandmarkKey(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key(), made->public_key());
  EXPECT_EQ(GenerateLandmarkKeyFile(path).status().code(), absl::StatusCode::kAlreadyExists);
  std::filesystem::remove(path);
  EXPECT_EQ(LoadLandmarkKey(path).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lightcone::landmark
