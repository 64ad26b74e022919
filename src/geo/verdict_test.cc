#include "geo/verdict.h"

#include <memory>
#include <random>
#include <vector>

#include "geo/units.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "s2/s2latlng.h"
#include "s2/s2loop.h"
#include "geo/geo_testing.h"

namespace lightcone::geo {
namespace {

S2Point P(double lat, double lng) { return S2LatLng::FromDegrees(lat, lng).ToPoint(); }

DistanceBound Honest(const S2Point& landmark, const S2Point& device, double inflation = 1.0,
                     int id = -1) {
  return BoundFromRtt(landmark, MinRttMsForDistance(S1Angle(landmark, device)) * inflation, id);
}

// A lat/lng box as an AreaIndex (a stand-in for a country).
AreaIndex Box(double lat0, double lng0, double lat1, double lng1) {
  std::vector<S2Point> v = {P(lat0, lng0), P(lat0, lng1), P(lat1, lng1), P(lat1, lng0)};
  auto loop = std::make_unique<S2Loop>(v);
  loop->Normalize();
  return AreaIndex(std::make_unique<S2Polygon>(std::move(loop)));
}

const S2Point kSingapore = P(1.35, 103.82);
const S2Point kBeijing = P(39.9, 116.4);

TEST(Verdict, CompliantInsideLicensedSite) {
  const S2Point device = P(1.36, 103.9);
  std::vector<DistanceBound> b = {Honest(P(1.29, 103.85), device, 1.5),
                                  Honest(P(3.14, 101.69), device, 1.5),
                                  Honest(P(-6.2, 106.8), device, 1.5)};
  LicensedArea area{{S2Cap(kSingapore, KmToAngle(1500))}, nullptr};
  Verdict v = DecideVerdict(b, area, nullptr, {.robustness = 0});
  EXPECT_EQ(v.status, VerdictStatus::kCompliant) << v.reason;
}

TEST(Verdict, ViolationIsProvenFarAway) {
  std::vector<DistanceBound> b = {Honest(P(39.0, 117.0), kBeijing, 1.8),
                                  Honest(P(31.2, 121.5), kBeijing, 1.8),
                                  Honest(P(37.5, 127.0), kBeijing, 1.8)};
  LicensedArea area{{S2Cap(kSingapore, KmToAngle(50))}, nullptr};
  Verdict v = DecideVerdict(b, area, nullptr, {.robustness = 1});
  EXPECT_EQ(v.status, VerdictStatus::kViolation) << v.reason;
}

TEST(Verdict, TooFewBoundsIsUnproven) {
  std::vector<DistanceBound> b = {Honest(P(1.29, 103.85), kSingapore)};
  LicensedArea area{{S2Cap(kSingapore, KmToAngle(50))}, nullptr};
  Verdict v = DecideVerdict(b, area, nullptr, {.robustness = 1});
  EXPECT_EQ(v.status, VerdictStatus::kUnproven);
  EXPECT_NE(v.reason.find("usable bound"), std::string::npos);
}

TEST(Verdict, CrossingRegionIsUnproven) {
  std::vector<DistanceBound> b = {Honest(P(1.29, 103.85), kSingapore, 30)};
  LicensedArea area{{S2Cap(kSingapore, KmToAngle(50))}, nullptr};
  EXPECT_EQ(DecideVerdict(b, area, nullptr, {.robustness = 0}).status, VerdictStatus::kUnproven);
}

TEST(Verdict, ProhibitedRegionBlocksCompliance) {
  // Allowed: a big box that also covers the prohibited box; the region meets both.
  AreaIndex allowed = Box(-10, 90, 50, 140);
  AreaIndex prohibited = Box(20, 100, 45, 125);
  std::vector<DistanceBound> b = {Honest(P(39.0, 117.0), kBeijing, 2.0),
                                  Honest(P(36.0, 120.0), kBeijing, 2.0)};
  LicensedArea area{{}, &allowed};
  Verdict v = DecideVerdict(b, area, &prohibited, {.robustness = 0});
  EXPECT_EQ(v.status, VerdictStatus::kUnproven) << v.reason;
  EXPECT_EQ(prohibited.Relate(SoundRegion(b)), Relation::kInside);
}

TEST(AreaIndex, RelatesRegionsToAPolygon) {
  AreaIndex box = Box(0, 0, 10, 10);
  auto region = [](double lat, double lng, double km) {
    return SoundRegion(std::vector<DistanceBound>{{P(lat, lng), KmToAngle(km), -1}});
  };
  EXPECT_EQ(box.Relate(region(5, 5, 100)), Relation::kInside);
  EXPECT_EQ(box.Relate(region(5, 5, 1000)), Relation::kAcross);
  EXPECT_EQ(box.Relate(region(30, 30, 100)), Relation::kOutside);
  EXPECT_EQ(box.Relate(region(5, 12, 150)), Relation::kOutside);   // Near but outside.
  EXPECT_EQ(box.Relate(region(5, 11, 150)), Relation::kAcross);
  // A region that holds the whole box.
  EXPECT_EQ(box.Relate(region(5, 5, 3000)), Relation::kAcross);
  SoundRegion empty(std::vector<DistanceBound>{{P(0, 0), KmToAngle(1), -1},
                                               {P(20, 20), KmToAngle(1), -1}});
  EXPECT_EQ(box.Relate(empty), Relation::kEmpty);
}

TEST(AreaIndex, MarginKeepsProofsAwayFromTheBorder) {
  std::vector<S2Point> v = {P(0, 0), P(0, 10), P(10, 10), P(10, 0)};
  auto loop = std::make_unique<S2Loop>(v);
  loop->Normalize();
  AreaIndex with_margin(std::make_unique<S2Polygon>(std::move(loop)), KmToAngle(50));
  // 100 km region centred 130 km outside the box: 30 km from the border.
  SoundRegion near(std::vector<DistanceBound>{{P(5, 10 + 130.0 / 110.8), KmToAngle(100), -1}});
  EXPECT_EQ(Box(0, 0, 10, 10).Relate(near), Relation::kOutside);
  EXPECT_EQ(with_margin.Relate(near), Relation::kAcross);
  SoundRegion far(std::vector<DistanceBound>{{P(5, 13), KmToAngle(100), -1}});
  EXPECT_EQ(with_margin.Relate(far), Relation::kOutside);
  SoundRegion inner(std::vector<DistanceBound>{{P(5, 5), KmToAngle(100), -1}});
  EXPECT_EQ(with_margin.Relate(inner), Relation::kInside);
}

TEST(RobustSubregions, DroppingTheLiarExposesTheTruth) {
  const S2Point device = kBeijing;
  std::vector<DistanceBound> b = {Honest(P(39.0, 117.0), device, 3.0, 0),
                                  Honest(P(31.2, 121.5), device, 3.0, 1),
                                  Honest(P(22.3, 114.2), device, 3.0, 2),
                                  // The liar at Singapore claims 1 ms.
                                  BoundFromRtt(kSingapore, 1.0, 3)};
  LicensedArea area{{S2Cap(kSingapore, KmToAngle(300))}, nullptr};
  // Without robustness the lie either empties the region or "proves" Singapore.
  Verdict naive = DecideVerdict(b, area, nullptr, {.robustness = 0});
  EXPECT_NE(naive.status, VerdictStatus::kViolation);
  Verdict robust = DecideVerdict(b, area, nullptr, {.robustness = 1});
  EXPECT_NE(robust.status, VerdictStatus::kCompliant);
  auto subs = RobustSubregions(b, 1);
  ASSERT_TRUE(subs.ok());
  bool truth_somewhere = false;
  for (const auto& s : *subs) truth_somewhere |= s.Contains(device);
  EXPECT_TRUE(truth_somewhere);
}

TEST(RobustSubregions, RejectsNegativeAndHugeF) {
  std::vector<DistanceBound> b(40, DistanceBound{P(0, 0), KmToAngle(100), -1});
  for (int i = 0; i < 40; ++i) b[i].center = P(0, i * 0.01);
  EXPECT_EQ(RobustSubregions(b, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RobustSubregions(b, 5).status().code(), absl::StatusCode::kResourceExhausted);
}

// f-robust verdicts survive f lying landmarks: a device outside the licensed area is never
// called compliant, whatever up to f landmarks report.
TEST(Verdict, NeverCompliantWithFLiars) {
  rc::check("f liars cannot make a diverted device compliant", [](uint64_t seed, bool f2) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    const int f = f2 ? 2 : 1;
    const S2Point site = testing::RandomPoint(rng);
    const S2Point device = testing::RandomPoint(rng);
    const S1Angle site_radius = KmToAngle(50 + 500 * u(rng));
    RC_PRE(S1Angle(site, device) > site_radius);
    std::vector<DistanceBound> b;
    const int n = 3 + static_cast<int>(u(rng) * 10);
    for (int i = 0; i < n; ++i) {
      S2Point l = testing::RandomPoint(rng);
      if (i < f) {
        // A liar anywhere near the site claiming any RTT it likes.
        l = site;
        b.push_back(BoundFromRtt(l, u(rng) * 2.0, i));
      } else {
        b.push_back(Honest(l, device, 1.0 + u(rng), i));
      }
    }
    LicensedArea area{{S2Cap(site, site_radius)}, nullptr};
    Verdict v = DecideVerdict(b, area, nullptr, {.robustness = f});
    RC_ASSERT(v.status != VerdictStatus::kCompliant);
  });
}

}  // namespace
}  // namespace lightcone::geo
