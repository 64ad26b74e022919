// Real processes on loopback with the user-space delay emulator (`lightcone netem`) in the
// path: the landmark must measure the emulated distance, and a relay near the landmark must
// never make a far device look near.
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/net_processes.h"
#include "tests/integration/subprocess.h"

namespace lightcone {
namespace {

using namespace lightcone::testing;  // NOLINT: test helpers

// Starts `lightcone netem` with one link forwarding to `forward` with `delay_ms` each way;
// returns the link's listen address.
std::string StartNetem(Subprocess** out, std::unique_ptr<Subprocess>* holder,
                       const std::string& forward, double delay_ms) {
  *holder = std::make_unique<Subprocess>(std::vector<std::string>{
      kBin + "/lightcone", "netem", "--link",
      "127.0.0.1:0=" + forward + ",delay_ms=" + std::to_string(delay_ms) + ",name=path"});
  *out = holder->get();
  std::string ready = (*holder)->WaitForLine("\"ready\"");
  EXPECT_FALSE(ready.empty()) << (*holder)->Stderr();
  std::string link = (*holder)->WaitForLine("\"listen\"");
  if (link.empty()) return "";
  return json::parse(link)["listen"];
}

TEST(LandmarkNetem, MeasuresTenMillisecondsEachWayAsTwentyMillisecondRtt) {
  Agent agent = StartAgent();
  Subprocess* netem;
  std::unique_ptr<Subprocess> holder;
  std::string via = StartNetem(&netem, &holder, agent.address, 10.0);
  ASSERT_FALSE(via.empty());
  int rc = 0;
  json s = Probe(via, kDeviceA, agent.public_keys[kDeviceA], 30, &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(s["accepted"], 30) << s.dump();
  int64_t min_rtt = s["min_rtt_ns"];
  // Soundness: an emulated 20 ms round trip can never be measured shorter.
  EXPECT_GE(min_rtt, 20'000'000);
  // Accuracy target of issue 3 (kernel timestamps at both ends of the landmark).
  EXPECT_LE(min_rtt, 20'200'000) << s.dump();
}

// The device is 30 ms (one way) from the landmark; a relay sits next to the landmark and
// forwards its challenges to the device. The reply must still take the full path: the
// measured RTT reflects the device's true distance (>= 60 ms), never the relay's (~0 ms).
TEST(LandmarkNetem, RelayNearTheLandmarkCannotShortenTheDevicesDistance) {
  Agent agent = StartAgent();
  Subprocess* netem;
  std::unique_ptr<Subprocess> holder;
  std::string far_path = StartNetem(&netem, &holder, agent.address, 30.0);
  ASSERT_FALSE(far_path.empty());
  Relay relay = StartRelay(far_path, "pass");
  int rc = 0;
  json s = Probe(relay.address, kDeviceA, agent.public_keys[kDeviceA], 10, &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(s["accepted"], 10) << s.dump();
  for (const auto& rtt : s["rtt_ns"]) EXPECT_GE(rtt.get<int64_t>(), 60'000'000);
  // The relay answering on its own cannot produce a valid signature: see the forgery tests
  // in landmark_agent_test (tamper, swap-device).
}

}  // namespace
}  // namespace lightcone
