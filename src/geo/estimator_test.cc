#include "geo/estimator.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "geo/units.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "s2/s2earth.h"

namespace lightcone::geo {
namespace {

using ::testing::HasSubstr;

constexpr EstimateMethod kAllMethods[] = {EstimateMethod::kBest, EstimateMethod::kCbg,
                                          EstimateMethod::kShortestPing};

// A synthetic world: landmarks on a lat/lon grid over Europe, RTT = distance at 2/3 c plus
// a per-host access delay, all pairs measured; one extra target host with no position.
struct World {
  Dataset dataset;
  int target = 0;
  S2LatLng truth;
};

double Rtt(const S2LatLng& a, const S2LatLng& b, double access_ms) {
  return AngleToKm(a.GetDistance(b)) * kTwoThirdsCRttMsPerKm * 1.2 + access_ms;
}

World MakeWorld(const S2LatLng& truth) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Host> hosts;
  std::vector<double> access;
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) {
      hosts.push_back(Host{"h" + std::to_string(hosts.size()),
                           S2LatLng::FromDegrees(40 + 3 * i, -5 + 4 * j), "", ""});
      access.push_back(0.2 + u(rng));
    }
  }
  std::vector<RttSample> samples;
  const int n = static_cast<int>(hosts.size());
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      if (a != b) samples.push_back({a, b, Rtt(*hosts[a].position, *hosts[b].position, access[a] + access[b])});
    }
  }
  hosts.push_back(Host{"target", std::nullopt, "", ""});
  for (int a = 0; a < n; ++a) samples.push_back({a, n, Rtt(*hosts[a].position, truth, access[a] + 0.5)});
  return World{Dataset::FromParts(std::move(hosts), std::move(samples)), n, truth};
}

std::vector<Observation> ObservationsOf(const Dataset& ds, int target) {
  std::vector<Observation> obs;
  for (const RttSample& s : ds.SamplesForTarget(target)) obs.push_back({s.landmark, s.rtt_ms});
  return obs;
}

TEST(Estimator, LocatesASyntheticTargetWithEveryMethod) {
  const World w = MakeWorld(S2LatLng::FromDegrees(47.3, 3.1));
  auto est = Estimator::Fit(w.dataset);
  ASSERT_TRUE(est.ok()) << est.status();
  const auto obs = ObservationsOf(w.dataset, w.target);
  for (EstimateMethod m : kAllMethods) {
    auto e = est->Locate(obs, m);
    ASSERT_TRUE(e.ok()) << e.status();
    const double err_km = S2Earth::ToKm(e->position.GetDistance(w.truth));
    EXPECT_EQ(e->landmarks_used, 36) << EstimateMethodName(m);
    EXPECT_GT(e->uncertainty_km, 0) << EstimateMethodName(m);
    // Grid spacing is ~330 km: shortest ping is off by up to half of it, the others do better.
    EXPECT_LT(err_km, m == EstimateMethod::kShortestPing ? 250 : 120) << EstimateMethodName(m);
  }
  const double best_km =
      S2Earth::ToKm(est->Locate(obs, EstimateMethod::kBest)->position.GetDistance(w.truth));
  const double sp_km =
      S2Earth::ToKm(est->Locate(obs, EstimateMethod::kShortestPing)->position.GetDistance(w.truth));
  EXPECT_LT(best_km, sp_km);
}

// Beyond cbg_beyond_rtt_ms from every landmark, kBest hands the target to kCbg (its
// posterior there is a ring whose mean falls between distant landmarks).
TEST(Estimator, FarTargetIsLocatedByCbg) {
  const World w = MakeWorld(S2LatLng::FromDegrees(42.0, 70.0));  // ~4,500 km east of the grid.
  const auto obs = ObservationsOf(w.dataset, w.target);
  double rtt_min = obs.front().rtt_ms;
  for (const Observation& o : obs) rtt_min = std::min(rtt_min, o.rtt_ms);
  EstimatorOptions options;
  ASSERT_GT(rtt_min, options.cbg_beyond_rtt_ms);
  auto est = Estimator::Fit(w.dataset, options);
  ASSERT_TRUE(est.ok()) << est.status();
  auto best = est->Locate(obs, EstimateMethod::kBest);
  auto cbg = est->Locate(obs, EstimateMethod::kCbg);
  ASSERT_TRUE(best.ok() && cbg.ok());
  EXPECT_TRUE(best->position.ApproxEquals(cbg->position, S1Angle::Radians(1e-12)));
  EXPECT_DOUBLE_EQ(best->uncertainty_km, cbg->uncertainty_km);

  // With the hand-over off, the likelihood model answers (somewhere else).
  options.cbg_beyond_rtt_ms = 1e9;
  auto own = Estimator::Fit(w.dataset, options)->Locate(obs, EstimateMethod::kBest);
  ASSERT_TRUE(own.ok());
  EXPECT_FALSE(own->position.ApproxEquals(cbg->position, S1Angle::Radians(1e-6)));
}

// RTTs so long that every cap covers the globe: every method still answers with a valid
// position and a finite radius no larger than half the Earth's circumference (CBG's grid
// then surrounds the globe and has no meaningful centroid).
TEST(Estimator, GlobeSpanningCapsGiveAValidEstimate) {
  const World w = MakeWorld(S2LatLng::FromDegrees(47.3, 3.1));
  auto est = Estimator::Fit(w.dataset);
  ASSERT_TRUE(est.ok()) << est.status();
  std::vector<Observation> obs = ObservationsOf(w.dataset, w.target);
  for (Observation& o : obs) o.rtt_ms += 1'000;
  for (EstimateMethod m : kAllMethods) {
    auto e = est->Locate(obs, m);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_TRUE(e->position.is_valid()) << EstimateMethodName(m) << " " << e->position;
    EXPECT_TRUE(std::isfinite(e->uncertainty_km)) << EstimateMethodName(m);
    EXPECT_LE(e->uncertainty_km, M_PI * kEarthRadiusKm + 1) << EstimateMethodName(m);
  }
}

// Leave-one-out honesty: the estimate for an excluded host must not depend on its declared
// position. Locating host T with exclude_host = T gives the same answer whatever hosts.csv
// says about T.
TEST(Estimator, LeaveOneOutDoesNotReadTheExcludedPosition) {
  const std::string dir = std::string(LIGHTCONE_SHARED_DATA_DIR) + "/ripe-atlas-2018/";
  auto real = Dataset::Load(dir + "hosts.csv", dir + "rtts.csv");
  ASSERT_TRUE(real.ok()) << real.status();
  for (const std::string id : {"de-fra-as48918", "nl-utc-as1103", "us-sfo-as7203"}) {
    const int t = *real->IndexOf(id);
    std::vector<Host> hosts = real->hosts();
    hosts[t].position = S2LatLng::FromDegrees(-hosts[t].position->lat().degrees(),
                                              hosts[t].position->lng().degrees() + 90);
    const Dataset moved = Dataset::FromParts(std::move(hosts), real->samples());
    auto a = Estimator::Fit(*real);
    auto b = Estimator::Fit(moved);
    ASSERT_TRUE(a.ok() && b.ok());
    const auto obs = ObservationsOf(*real, t);
    for (EstimateMethod m : kAllMethods) {
      auto ea = a->Locate(obs, m, t);
      auto eb = b->Locate(obs, m, t);
      ASSERT_TRUE(ea.ok() && eb.ok());
      EXPECT_TRUE(ea->position.ApproxEquals(eb->position, S1Angle::Radians(1e-12)))
          << id << " " << EstimateMethodName(m);
      EXPECT_DOUBLE_EQ(ea->uncertainty_km, eb->uncertainty_km) << id << " " << EstimateMethodName(m);
      EXPECT_EQ(ea->landmarks_used, eb->landmarks_used);
    }
  }
}

TEST(Estimator, FlaggedLandmarkIsNotUsed) {
  World w = MakeWorld(S2LatLng::FromDegrees(47.3, 3.1));
  // Move host 0 by 2,000 km: its RTTs contradict its declared position; it is flagged.
  std::vector<Host> hosts = w.dataset.hosts();
  hosts[0].position = S2LatLng::FromDegrees(hosts[0].position->lat().degrees() + 18,
                                            hosts[0].position->lng().degrees());
  const Dataset moved = Dataset::FromParts(std::move(hosts), w.dataset.samples());
  auto est = Estimator::Fit(moved);
  ASSERT_TRUE(est.ok());
  ASSERT_EQ(est->sanity().flagged.size(), 1u);
  EXPECT_EQ(est->sanity().flagged[0].id, "h0");
  auto e = est->Locate(ObservationsOf(moved, w.target), EstimateMethod::kBest);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->landmarks_used, 35);
  EXPECT_LT(S2Earth::ToKm(e->position.GetDistance(w.truth)), 120);
}

TEST(Estimator, RejectsBadObservations) {
  const World w = MakeWorld(S2LatLng::FromDegrees(47.3, 3.1));
  auto est = Estimator::Fit(w.dataset);
  ASSERT_TRUE(est.ok());
  std::vector<Observation> bad_index = {{99, 3.0}};
  EXPECT_EQ(est->Locate(bad_index, EstimateMethod::kBest).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(est->Locate(bad_index, EstimateMethod::kBest).status().message()),
              HasSubstr("out of range"));
  std::vector<Observation> negative = {{1, -1.0}};
  EXPECT_EQ(est->Locate(negative, EstimateMethod::kCbg).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<Observation> nan = {{1, std::nan("")}};
  EXPECT_EQ(est->Locate(nan, EstimateMethod::kCbg).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Only the target itself (no position) and the excluded host: nothing usable.
  std::vector<Observation> unusable = {{w.target, 3.0}, {2, 4.0}};
  auto r = est->Locate(unusable, EstimateMethod::kShortestPing, 2);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(est->Locate({}, EstimateMethod::kBest).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(Estimator, DuplicateObservationsKeepTheLowestRtt) {
  const World w = MakeWorld(S2LatLng::FromDegrees(47.3, 3.1));
  auto est = Estimator::Fit(w.dataset);
  ASSERT_TRUE(est.ok());
  auto obs = ObservationsOf(w.dataset, w.target);
  auto once = est->Locate(obs, EstimateMethod::kBest);
  for (const Observation& o : ObservationsOf(w.dataset, w.target)) obs.push_back({o.landmark, o.rtt_ms + 5});
  auto twice = est->Locate(obs, EstimateMethod::kBest);
  ASSERT_TRUE(once.ok() && twice.ok());
  EXPECT_EQ(twice->landmarks_used, 36);
  EXPECT_TRUE(once->position.ApproxEquals(twice->position, S1Angle::Radians(1e-12)));
}

TEST(Estimator, FitNeedsTwoPositionedHosts) {
  const Dataset one = Dataset::FromParts({Host{"a", S2LatLng::FromDegrees(1, 2), "", ""},
                                          Host{"t", std::nullopt, "", ""}},
                                         {RttSample{0, 1, 5.0}});
  auto est = Estimator::Fit(one);
  EXPECT_EQ(est.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(est.status().message()), HasSubstr("1 hosts with a position"));
}

TEST(EstimateMethodName, Names) {
  EXPECT_STREQ(EstimateMethodName(EstimateMethod::kBest), "best");
  EXPECT_STREQ(EstimateMethodName(EstimateMethod::kCbg), "cbg");
  EXPECT_STREQ(EstimateMethodName(EstimateMethod::kShortestPing), "shortest-ping");
}

}  // namespace
}  // namespace lightcone::geo
