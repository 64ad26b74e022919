#include "geo/locate.h"

#include <random>
#include <string>
#include <vector>

#include "geo/country_atlas.h"
#include "geo/geo_testing.h"
#include "geo/units.h"
#include "gtest/gtest.h"
#include "s2/s2latlng.h"

namespace lightcone::geo {
namespace {

// Hosts scattered over Europe; RTTs inflated like real paths (never below light speed).
Dataset SyntheticEurope(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Host> hosts;
  for (int i = 0; i < n; ++i) {
    S2LatLng p = S2LatLng::FromDegrees(40 + 15 * u(rng), -5 + 30 * u(rng));
    hosts.push_back(Host{"h" + std::to_string(i), p, "XX", ""});
  }
  std::vector<RttSample> samples;
  for (int t = 0; t < n; ++t) {
    for (int l = 0; l < n; ++l) {
      if (l == t) continue;
      double min_rtt = MinRttMsForDistance(
          S1Angle(hosts[l].position->ToPoint(), hosts[t].position->ToPoint()));
      samples.push_back({l, t, min_rtt * (1.4 + 0.4 * u(rng)) + 0.3 + u(rng)});
    }
  }
  return Dataset::FromParts(std::move(hosts), std::move(samples));
}

TEST(RunLocate, LeaveOneOutOnConsistentDataIsSound) {
  Dataset d = SyntheticEurope(40, 1);
  auto estimator = Estimator::Fit(d);
  ASSERT_TRUE(estimator.ok()) << estimator.status();
  for (auto method : {EstimateMethod::kBest, EstimateMethod::kCbg, EstimateMethod::kShortestPing}) {
    LocateOptions options{.method = method, .leave_one_out = true};
    auto report = RunLocate(d, *estimator, nullptr, options);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->summary.targets, 40);
    EXPECT_EQ(report->summary.sound_violations, 0);
    for (const TargetResult& r : report->targets) {
      ASSERT_TRUE(r.sound.consistent.has_value());
      EXPECT_TRUE(*r.sound.consistent) << r.id;
      ASSERT_TRUE(r.estimate.has_value()) << r.estimate_error;
      // The estimate is clamped into the region, so its error is within the provable radius.
      EXPECT_LE(*r.error_km, r.sound.radius_km + 1e-6) << r.id;
      EXPECT_FALSE(r.sound.proven_outside.has_value());
    }
    ASSERT_TRUE(report->summary.median_error_km.has_value());
  }
}

TEST(RunLocate, TargetsWithoutPositionAreLocated) {
  Dataset base = SyntheticEurope(20, 2);
  std::vector<Host> hosts = base.hosts();
  std::vector<RttSample> samples = base.samples();
  // Host 0 becomes a target of unknown position; its outgoing pings are dropped.
  hosts[0].position.reset();
  std::erase_if(samples, [](const RttSample& s) { return s.landmark == 0; });
  Dataset d = Dataset::FromParts(hosts, samples);
  auto estimator = Estimator::Fit(d);
  ASSERT_TRUE(estimator.ok());
  auto report = RunLocate(d, *estimator, nullptr, {});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->targets.size(), 1u);
  EXPECT_EQ(report->targets[0].id, "h0");
  EXPECT_FALSE(report->targets[0].error_km.has_value());
  EXPECT_GT(report->targets[0].sound.radius_km, 0);
  const nlohmann::json j = ToJson(*report);
  EXPECT_EQ(j["summary"]["targets"], 1);
  EXPECT_TRUE(j["targets"][0]["error_km"].is_null());
}

// The figures issue 2 asks of the engine on the real RIPE Atlas anchor mesh.
TEST(RunLocate, RipeAtlasLeaveOneOut) {
  const std::string dir = std::string(LIGHTCONE_SOURCE_DIR) + "/data/ripe-atlas-2018/";
  auto d = Dataset::Load(dir + "hosts.csv", dir + "rtts.csv");
  ASSERT_TRUE(d.ok()) << d.status();
  auto estimator = Estimator::Fit(*d);
  ASSERT_TRUE(estimator.ok());
  auto atlas = CountryAtlas::LoadDefault();
  ASSERT_TRUE(atlas.ok()) << atlas.status();
  std::vector<std::string> codes = {"CN", "HK", "MO"};
  auto polygon = atlas->Union(codes);
  ASSERT_TRUE(polygon.ok());
  AreaIndex china(*std::move(polygon), KmToAngle(kCountryBorderMarginKm));
  LocateOptions options{.method = EstimateMethod::kBest, .leave_one_out = true,
                        .prove_outside_codes = codes};
  auto report = RunLocate(*d, *estimator, &china, options);
  ASSERT_TRUE(report.ok());
  const LocateSummary& s = report->summary;
  std::cout << FormatSummaryTable(*report);
  EXPECT_EQ(s.sound_violations, 0);
  EXPECT_LE(*s.median_error_km, 29.0);
  // Issue 2 asks for p80 <= 200 km; the engine measures 278 km here and that target is not
  // met (see estimator_eval_test's DISABLED_BestMeetsTheP80Target for what was tried). This
  // bound guards against regressions from today's figure, it is not the target.
  EXPECT_LE(*s.p80_error_km, 300.0);
  EXPECT_GE(*s.proven_outside_fraction, 0.92);
  EXPECT_NEAR(*s.median_radius_km, 307, 10);  // The independent script's figure.
}

}  // namespace
}  // namespace lightcone::geo
