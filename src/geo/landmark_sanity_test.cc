#include "geo/landmark_sanity.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <random>
#include <string>
#include <vector>

#include "geo/units.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "s2/s2edge_distances.h"
#include "s2/s2latlng.h"

namespace lightcone::geo {
namespace {

using ::testing::HasSubstr;

Dataset LoadRipe() {
  const std::string dir = std::string(LIGHTCONE_SHARED_DATA_DIR) + "/ripe-atlas-2018/";
  auto ds = Dataset::Load(dir + "hosts.csv", dir + "rtts.csv");
  EXPECT_TRUE(ds.ok()) << ds.status();
  return *std::move(ds);
}

// `from` moved `km` along the initial compass bearing `bearing_deg` (0 = north, 90 = east).
S2LatLng Move(const S2LatLng& from, double km, double bearing_deg) {
  const S2Point p = from.ToPoint();
  const S2Point east = S2Point(0, 0, 1).CrossProd(p).Normalize();
  const S2Point north = p.CrossProd(east).Normalize();
  const double b = bearing_deg * M_PI / 180.0;
  const S2Point dir = (north * std::cos(b) + east * std::sin(b)).Normalize();
  return S2LatLng(S2::GetPointOnRay(p, dir, KmToAngle(km)));
}

Dataset WithHostMoved(const Dataset& ds, int host, double km, double bearing_deg) {
  std::vector<Host> hosts = ds.hosts();
  hosts[host].position = Move(*hosts[host].position, km, bearing_deg);
  return Dataset::FromParts(std::move(hosts), ds.samples());
}

// The 2018 anchor mesh is physically consistent: no RTT beats light in vacuum for the
// declared positions (the fastest pair reaches 0.61 c), so nothing is flagged.
TEST(LandmarkSanity, RealDataHasNoImpossiblePositions) {
  const Dataset ds = LoadRipe();
  EXPECT_TRUE(FindLightSpeedViolations(ds, {}).empty());
  const LandmarkSanityResult result = CheckLandmarks(ds);
  EXPECT_TRUE(result.flagged.empty());
  EXPECT_EQ(result.violations, 0);
  EXPECT_EQ(result.is_flagged.size(), ds.hosts().size());
}

TEST(LandmarkSanity, LandmarkMoved2000KmIsFlaggedWithEvidence) {
  const Dataset real = LoadRipe();
  const int host = *real.IndexOf("de-fra-as48918");
  const Dataset moved = WithHostMoved(real, host, 2000, 45);
  const LandmarkSanityResult result = CheckLandmarks(moved);
  ASSERT_EQ(result.flagged.size(), 1u);
  EXPECT_EQ(result.flagged[0].host, host);
  EXPECT_EQ(result.flagged[0].id, "de-fra-as48918");
  EXPECT_TRUE(result.is_flagged[host]);
  EXPECT_GT(result.flagged[0].violations, 50);
  EXPECT_THAT(result.flagged[0].reason, HasSubstr("faster than light allows"));
  EXPECT_THAT(result.flagged[0].reason, HasSubstr("worst:"));
  EXPECT_THAT(result.flagged[0].reason, HasSubstr("needs >="));
}

// Every measured anchor, moved 2000 km east or south. Whenever the moved host contradicts at
// least two other hosts, it is flagged and nobody else is: the greedy attribution blames the
// moved host, never its honest partners. (With a single partner the data cannot tell which
// of the two is wrong.) A move is caught only when some partner's RTT rules out the declared
// position: isolated anchors (nearest partner > ~1000 km, 20+ ms) can move 2000 km unseen.
// Measured: 367 of 454 moves caught (81%).
TEST(LandmarkSanity, EveryAnchorMoved2000KmIsTheOneFlagged) {
  const Dataset real = LoadRipe();
  int trials = 0, caught = 0, attributable = 0;
  for (int host : real.PositionedHosts()) {
    bool measured = false;
    for (const RttSample& s : real.samples()) measured = measured || s.landmark == host || s.target == host;
    if (!measured) continue;
    for (double bearing : {90.0, 180.0}) {
      const Dataset moved = WithHostMoved(real, host, 2000, bearing);
      const auto violations = FindLightSpeedViolations(moved, {});
      std::set<int> partners;
      for (const auto& v : violations) partners.insert(v.landmark == host ? v.target : v.landmark);
      const LandmarkSanityResult result = AttributeViolations(moved, violations);
      ++trials;
      if (result.is_flagged[host]) ++caught;
      if (partners.size() >= 2) {
        ++attributable;
        EXPECT_TRUE(result.is_flagged[host]) << real.hosts()[host].id << " bearing " << bearing;
        EXPECT_EQ(result.flagged.size(), 1u) << real.hosts()[host].id << " bearing " << bearing;
      }
    }
  }
  std::printf("moved 2000 km: %d trials, %d with >= 2 contradicted hosts, %d caught\n", trials,
              attributable, caught);
  EXPECT_GE(caught, trials * 3 / 4);
}

TEST(LandmarkSanity, ExcludedHostsViolationsAreIgnored) {
  const Dataset real = LoadRipe();
  const int host = *real.IndexOf("de-fra-as48918");
  const Dataset moved = WithHostMoved(real, host, 2000, 45);
  const auto violations = FindLightSpeedViolations(moved, {});
  const LandmarkSanityResult result = AttributeViolations(moved, violations, host);
  EXPECT_TRUE(result.flagged.empty());
  EXPECT_EQ(result.violations, 0);
}

// Synthetic hosts on the sphere, RTTs at or above the light minimum: nothing is flagged.
TEST(LandmarkSanity, CleanSyntheticDataFlagsNone) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<Host> hosts;
  for (int i = 0; i < 60; ++i) {
    const double lat = std::asin(2 * unit(rng) - 1) * 180 / M_PI;
    hosts.push_back(Host{"h" + std::to_string(i), S2LatLng::FromDegrees(lat, 360 * unit(rng) - 180),
                         "", ""});
  }
  std::vector<RttSample> samples;
  for (int a = 0; a < 60; ++a) {
    for (int b = 0; b < 60; ++b) {
      if (a == b) continue;
      const double min_ms = MinRttMsForDistance(hosts[a].position->GetDistance(*hosts[b].position));
      // Half the pairs exactly at the light-speed limit, the rest slower.
      const double rtt_ms = (a + b) % 2 == 0 ? min_ms : min_ms * (1 + unit(rng)) + 5 * unit(rng);
      samples.push_back(RttSample{a, b, rtt_ms});
    }
  }
  const Dataset ds = Dataset::FromParts(std::move(hosts), std::move(samples));
  const LandmarkSanityResult result = CheckLandmarks(ds);
  EXPECT_TRUE(result.flagged.empty());
  EXPECT_EQ(result.violations, 0);
}

// Two hosts that contradict only each other: one is flagged (the larger shortfall), which is
// enough to make the rest consistent; a tolerance larger than the shortfall flags none.
TEST(LandmarkSanity, LonePairAndTolerance) {
  std::vector<Host> hosts = {
      Host{"a", S2LatLng::FromDegrees(0, 0), "", ""},
      Host{"b", S2LatLng::FromDegrees(0, 10), "", ""},  // ~1112 km: needs >= 7.42 ms.
      Host{"c", S2LatLng::FromDegrees(0, 20), "", ""},
  };
  std::vector<RttSample> samples = {{0, 1, 7.0}, {1, 0, 6.5}, {0, 2, 30}, {2, 1, 20}};
  const Dataset ds = Dataset::FromParts(hosts, samples);
  LandmarkSanityResult result = CheckLandmarks(ds);
  ASSERT_EQ(result.violations, 2);
  ASSERT_EQ(result.flagged.size(), 1u);
  EXPECT_EQ(result.flagged[0].violations, 2);
  EXPECT_THAT(result.flagged[0].reason, HasSubstr("2 RTTs faster than light allows"));
  EXPECT_THAT(result.flagged[0].reason, HasSubstr("worst: 6.500 ms"));
  EXPECT_FALSE(result.is_flagged[2]);

  result = CheckLandmarks(ds, LandmarkSanityOptions{.tolerance_ms = 1.0});
  EXPECT_TRUE(result.flagged.empty());
}

// One wrong host contradicting three honest ones is blamed, not the honest ones.
TEST(LandmarkSanity, MajorityAttribution) {
  std::vector<Host> hosts;
  for (int i = 0; i < 4; ++i) {
    hosts.push_back(Host{"h" + std::to_string(i), S2LatLng::FromDegrees(0, i * 0.1), "", ""});
  }
  hosts.push_back(Host{"liar", S2LatLng::FromDegrees(40, 0), "", ""});  // Really at (0, 0.15).
  std::vector<RttSample> samples;
  for (int a = 0; a < 5; ++a) {
    for (int b = 0; b < 5; ++b) {
      if (a != b) samples.push_back(RttSample{a, b, 1.0});
    }
  }
  const LandmarkSanityResult result = CheckLandmarks(Dataset::FromParts(hosts, samples));
  ASSERT_EQ(result.flagged.size(), 1u);
  EXPECT_EQ(result.flagged[0].id, "liar");
  EXPECT_THAT(result.flagged[0].reason, HasSubstr("8 RTTs faster than light allows for the declared position (with 4 hosts)"));
}

}  // namespace
}  // namespace lightcone::geo
