// Real processes on loopback: `lightcone landmark` probing `lightcone-agent`, directly and
// through a misbehaving relay (evil_relay). Every forgery must be rejected and counted under
// its own reason; the agent must survive a flood of garbage.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <random>
#include <string>
#include <vector>

#include "core/wire.h"
#include "core/wire_address.h"
#include "core/wire_record.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/net_processes.h"
#include "tests/integration/subprocess.h"

namespace lightcone {
namespace {

using nlohmann::json;
using namespace lightcone::testing;  // NOLINT: test helpers

TEST(LandmarkAgent, DirectProbeAcceptsEverySignedReply) {
  Agent agent = StartAgent();
  int rc = 0;
  json s = Probe(agent.address, kDeviceA, agent.public_keys[kDeviceA], 5, &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(s["sent"], 5);
  EXPECT_EQ(s["accepted"], 5);
  EXPECT_EQ(s["rejected_total"], 0);
  EXPECT_GT(s["min_rtt_ns"].get<int64_t>(), 0);
  EXPECT_LT(s["min_rtt_ns"].get<int64_t>(), 500'000'000);  // a loopback reply, within the timeout
  EXPECT_EQ(agent.process->Terminate(), 0);
  json stats = json::parse(agent.process->WaitForLine("\"stats\""));
  EXPECT_EQ(stats["answered"], 5);
}

TEST(LandmarkAgent, WrongPublicKeyNeverVerifies) {
  Agent agent = StartAgent();
  int rc = 0;
  // Device A probed, but the landmark holds B's key: A's key id is unknown to it.
  json s = Probe(agent.address, kDeviceA, agent.public_keys[kDeviceB], 3, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(s["accepted"], 0);
  EXPECT_EQ(s["rejected"]["unknown_key"], 3);
}

TEST(LandmarkAgent, UnknownDeviceGetsNoReply) {
  Agent agent = StartAgent();
  int rc = 0;
  json s = Probe(agent.address, "cccccccc-0000-4000-8000-000000000003",
                 agent.public_keys[kDeviceA], 3, &rc, {}, 100);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(s["accepted"], 0);
  EXPECT_EQ(s["timeouts"], 3);
  EXPECT_EQ(agent.process->Terminate(), 0);
  json stats = json::parse(agent.process->WaitForLine("\"stats\""));
  EXPECT_EQ(stats["unknown_device"], 3);
  EXPECT_EQ(stats["answered"], 0);
}

struct RelayCase {
  std::string mode;
  std::string counter;  // the landmark's counter that must count every probe
};

class RelayRejection : public ::testing::TestWithParam<RelayCase> {};

TEST_P(RelayRejection, IsRejectedAndCounted) {
  Agent agent = StartAgent();
  std::vector<std::string> extra;
  if (GetParam().mode == "swap-device") extra = {"--swap-device", kDeviceB};
  Relay relay = StartRelay(agent.address, GetParam().mode, extra);
  int rc = 0;
  std::vector<std::string> probe_extra;
  // So that the landmark knows B's key as another target's key.
  if (GetParam().mode == "swap-device") probe_extra = {"--other-pubkey", agent.public_keys[kDeviceB]};
  json s = Probe(relay.address, kDeviceA, agent.public_keys[kDeviceA], 4, &rc, probe_extra);
  EXPECT_EQ(rc, 1) << s.dump();
  EXPECT_EQ(s["accepted"], 0) << s.dump();
  EXPECT_EQ(s["rejected"][GetParam().counter], 4) << s.dump();
  EXPECT_EQ(s["rejected_total"], 4) << s.dump();
}

INSTANTIATE_TEST_SUITE_P(
    Forgeries, RelayRejection,
    ::testing::Values(RelayCase{"tamper", "bad_signature"},
                      RelayCase{"wrong-landmark", "wrong_landmark"},
                      RelayCase{"swap-device", "other_device_key"},
                      RelayCase{"truncate", "truncated"},
                      RelayCase{"oversize", "oversized"}),
    [](const auto& info) {
      std::string name = info.param.mode;
      for (char& c : name) if (c == '-') c = '_';
      return name;
    });

TEST(LandmarkAgent, ReplayedRepliesAreRejectedAfterTheFirst) {
  Agent agent = StartAgent();
  Relay relay = StartRelay(agent.address, "replay");
  int rc = 0;
  json s = Probe(relay.address, kDeviceA, agent.public_keys[kDeviceA], 4, &rc,
                 {"--linger-ms", "200"});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(s["accepted"], 4) << s.dump();
  EXPECT_EQ(s["rejected"]["replay"], 8) << s.dump();  // two copies of each reply
}

TEST(LandmarkAgent, SurvivesAGarbageFloodAndStillAnswers) {
  Agent agent = StartAgent();
  auto target = wire::ResolveEndpoint(agent.address);
  ASSERT_TRUE(target.ok());
  // The flood comes from another loopback address so it has its own rate-limit bucket.
  auto from = wire::ResolveEndpoint("127.0.0.2:0");
  ASSERT_TRUE(from.ok());
  auto fd = wire::BindUdpSocket(*from);
  ASSERT_TRUE(fd.ok());
  std::mt19937 rng(1234);
  std::vector<uint8_t> buf(1500);
  constexpr int kFlood = 20000;
  for (int i = 0; i < kFlood; ++i) {
    size_t n = rng() % buf.size();
    for (size_t j = 0; j < n; ++j) buf[j] = static_cast<uint8_t>(rng());
    if (i % 3 == 0 && n >= 4) {  // valid header, wrong everything else
      buf[0] = 'L';
      buf[1] = 'C';
      buf[2] = 1;
      buf[3] = 1 + rng() % 3;
    }
    sendto(*fd, buf.data(), n, 0, reinterpret_cast<const sockaddr*>(&target->address), target->length);
  }
  close(*fd);
  int rc = 0;
  json s = Probe(agent.address, kDeviceA, agent.public_keys[kDeviceA], 5, &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(s["accepted"], 5);
  EXPECT_EQ(agent.process->Terminate(), 0);  // still alive, stops cleanly
  json stats = json::parse(agent.process->WaitForLine("\"stats\""));
  EXPECT_EQ(stats["answered"], 5);
  uint64_t rejected = 0;
  for (auto& [k, v] : stats["rejected"].items()) rejected += v.get<uint64_t>();
  EXPECT_GT(rejected + stats["rate_limited"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats["unknown_device"], 0);
}

int FreeUdpPort() {
  auto e = wire::ResolveEndpoint("127.0.0.1:0");
  auto fd = wire::BindUdpSocket(*e);
  auto bound = wire::LocalEndpoint(*fd);
  close(*fd);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&bound->address)->sin_port);
}

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = (std::filesystem::temp_directory_path() /
                      (name + "-" + std::to_string(getpid()))).string();
  std::ofstream(path) << text;
  return path;
}

// The daemon: an agent-initiated target (the agent opens the flow with hellos) and a
// direct one; batches are signed and name only accepted measurements.
TEST(LandmarkAgent, DaemonProbesDirectAndAgentInitiatedTargetsAndSignsBatches) {
  int landmark_port = FreeUdpPort();
  std::string landmark_address = "127.0.0.1:" + std::to_string(landmark_port);
  std::string agent_config = WriteFile("lc-agent-toml",
      "keepalive_ms = 100\n[[landmarks]]\nid = \"" + kLandmarkId + "\"\naddress = \"" +
      landmark_address + "\"\n");
  Agent initiated = StartAgent(agent_config, {kDeviceA});
  Agent direct = StartAgent();
  std::string key_file = (std::filesystem::temp_directory_path() /
                          ("lc-lm-key-" + std::to_string(getpid()))).string();
  std::filesystem::remove(key_file);
  Subprocess keygen({kBin + "/lightcone", "landmark", "keygen", "--out", key_file});
  ASSERT_EQ(keygen.Wait(), 0);
  std::string landmark_pub = json::parse(keygen.Stdout())["public_key"];
  std::string out_file = key_file + ".jsonl";
  std::string config = WriteFile("lc-lm-toml",
      "id = \"" + kLandmarkId + "\"\nlisten = \"" + landmark_address + "\"\nkey_file = \"" +
      key_file + "\"\noutput = \"" + out_file + "\"\ninterval_ms = 20\ntimeout_ms = 500\n" +
      "window_ms = 300\n"
      "[[targets]]\ndevice = \"" + kDeviceA + "\"\npublic_keys = [\"" +
      initiated.public_keys[kDeviceA] + "\"]\n"
      "[[targets]]\ndevice = \"" + kDeviceB + "\"\naddress = \"" + direct.address +
      "\"\npublic_keys = [\"" + direct.public_keys[kDeviceB] + "\"]\n");
  Subprocess landmark({kBin + "/lightcone", "landmark", "run", "--config", config});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(landmark.Terminate(), 0) << landmark.Stderr();
  std::ifstream in(out_file);
  std::map<std::string, int> records_per_device;
  int batches = 0;
  for (std::string line; std::getline(in, line);) {
    auto batch = wire::BatchFromJsonLine(line);
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_TRUE(wire::VerifyBatch(*batch).ok());
    EXPECT_EQ(crypto::HexEncode(batch->landmark_public_key), landmark_pub);
    ++batches;
    for (const auto& r : batch->records) {
      ++records_per_device[wire::FormatId(r.device_id)];
      EXPECT_GT(r.rtt_ns, 0);
      std::string key = wire::FormatId(r.device_id) == kDeviceA ? initiated.public_keys[kDeviceA]
                                                                : direct.public_keys[kDeviceB];
      auto pub = crypto::ParsePublicKey(key);
      EXPECT_TRUE(wire::VerifyReply(wire::RecordReply(r), *pub));
    }
  }
  EXPECT_GE(batches, 2);
  EXPECT_GE(records_per_device[kDeviceA], 1) << landmark.Stderr();  // via the agent's flow
  EXPECT_GE(records_per_device[kDeviceB], 1) << landmark.Stderr();
  std::filesystem::remove(key_file);
  std::filesystem::remove(out_file);
  std::filesystem::remove(config);
  std::filesystem::remove(agent_config);
}

}  // namespace
}  // namespace lightcone
