#include "geo/sound_region.h"

#include <cmath>
#include <random>
#include <vector>

#include "geo/units.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "s2/s2latlng.h"
#include "geo/geo_testing.h"

namespace lightcone::geo {
namespace {

S2Point P(double lat, double lng) { return S2LatLng::FromDegrees(lat, lng).ToPoint(); }
DistanceBound Km(const S2Point& c, double km) { return {c, KmToAngle(km), -1}; }
double DistKm(const S2Point& a, const S2Point& b) { return AngleToKm(S1Angle(a, b)); }

using testing::RandomPoint;
using testing::RandomPointNear;

TEST(SoundRegion, NoBoundsIsTheWholeSphere) {
  SoundRegion r;
  EXPECT_TRUE(r.is_full());
  EXPECT_FALSE(r.is_empty());
  EXPECT_NEAR(r.AreaSteradians(), 4 * M_PI, 1e-12);
  EXPECT_EQ(r.MaxDistanceFrom(P(0, 0)).radians(), M_PI);
}

TEST(SoundRegion, BoundsOfHalfTheEarthOrMoreAreIgnored) {
  SoundRegion r(std::vector<DistanceBound>{Km(P(0, 0), 30000)});
  EXPECT_TRUE(r.is_full());
}

TEST(SoundRegion, SingleCapHasCapAreaAndRadius) {
  const S2Point c = P(1.35, 103.8);
  SoundRegion r(std::vector<DistanceBound>{Km(c, 500)});
  ASSERT_FALSE(r.is_empty());
  ASSERT_EQ(r.boundary().size(), 1u);
  const double rad = KmToAngle(500 + SoundRegion::kCapSlackKm).radians();
  EXPECT_NEAR(r.AreaSteradians(), 2 * M_PI * (1 - std::cos(rad)), 1e-12);
  EXPECT_NEAR(AngleToKm(r.MaxDistanceFrom(c)), 500.001, 1e-6);
  EXPECT_NEAR(AngleToKm(r.MaxDistanceFrom(P(1.35, 120))), DistKm(c, P(1.35, 120)) + 500.001, 1e-6);
  EXPECT_TRUE(r.Contains(c));
  EXPECT_FALSE(r.Contains(P(1.35, 110)));
}

TEST(SoundRegion, DisjointCapsAreEmpty) {
  SoundRegion r(std::vector<DistanceBound>{Km(P(48.85, 2.35), 100), Km(P(52.52, 13.40), 100)});
  EXPECT_TRUE(r.is_empty());
  EXPECT_EQ(r.AreaSteradians(), 0);
  EXPECT_FALSE(r.Contains(P(48.85, 2.35)));
}

TEST(SoundRegion, SameCenterKeepsTheSmallerRadius) {
  const S2Point c = P(10, 10);
  SoundRegion r(std::vector<DistanceBound>{Km(c, 800), Km(c, 300), Km(c, 300)});
  ASSERT_EQ(r.bounds().size(), 1u);
  EXPECT_NEAR(AngleToKm(r.bounds()[0].radius), 300.001, 1e-9);
  EXPECT_EQ(r.source_index(0), 1);
}

TEST(SoundRegion, ContainingBoundIsRedundant) {
  SoundRegion r(std::vector<DistanceBound>{Km(P(0, 0), 2000), Km(P(0, 1), 100)});
  EXPECT_EQ(r.bounds().size(), 1u);
}

TEST(SoundRegion, LensBetweenTwoCaps) {
  const S2Point a = P(0, 0), b = P(0, 10);  // ~1112 km apart.
  SoundRegion r(std::vector<DistanceBound>{Km(a, 800), Km(b, 800)});
  ASSERT_FALSE(r.is_empty());
  EXPECT_EQ(r.boundary().size(), 2u);
  EXPECT_TRUE(r.Contains(P(0, 5)));
  EXPECT_FALSE(r.Contains(a));
  // The region's far points from a lie on b's circle at 800 km from a... at most 800 km.
  EXPECT_LE(AngleToKm(r.MaxDistanceFrom(a)), 800.001 + 1e-6);
  EXPECT_GT(AngleToKm(r.MaxDistanceFrom(a)), 700);
  EXPECT_NEAR(AngleToKm(r.MinDistanceFrom(a)), DistKm(a, b) - 800.001, 1e-6);
}

TEST(SoundRegion, EdgeMeetsRegion) {
  SoundRegion r(std::vector<DistanceBound>{Km(P(0, 0), 300), Km(P(0, 3), 300)});
  EXPECT_TRUE(r.EdgeMeetsRegion(P(-5, 1.5), P(5, 1.5)));    // Crosses the lens.
  EXPECT_FALSE(r.EdgeMeetsRegion(P(-5, -1), P(5, -1)));     // Only cuts the first cap.
  EXPECT_FALSE(r.EdgeMeetsRegion(P(10, 0), P(10, 3)));      // North of both.
  EXPECT_TRUE(r.EdgeMeetsRegion(P(0, 1.4), P(0, 1.6)));     // Wholly inside.
}

TEST(SoundRegion, AreaMatchesMonteCarlo) {
  std::mt19937_64 rng(7);
  SoundRegion r(std::vector<DistanceBound>{Km(P(50, 8), 700), Km(P(45, 15), 900),
                                           Km(P(52, 18), 800)});
  ASSERT_FALSE(r.is_empty());
  const S2Cap cap = r.GetCapBound();
  const double cap_km = AngleToKm(cap.GetRadius());
  const int n = 200000;
  int in = 0;
  for (int i = 0; i < n; ++i) in += r.Contains(RandomPointNear(rng, cap.center(), cap_km));
  const double estimate = cap.GetArea() * in / n;
  EXPECT_NEAR(r.AreaSteradians() / estimate, 1.0, 0.01);
}

// The soundness property: for any landmarks and any RTTs at or above the light-speed
// minimum, the region contains the true position, and the queries agree with sampling.
TEST(SoundRegion, AlwaysContainsTheTruePosition) {
  rc::check("region contains truth", [](uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    const S2Point truth = RandomPoint(rng);
    const int n = 1 + static_cast<int>(u(rng) * 16);
    std::vector<DistanceBound> bounds;
    for (int i = 0; i < n; ++i) {
      // Landmarks anywhere, or clustered near the truth (the interesting case).
      S2Point l = u(rng) < 0.5 ? RandomPoint(rng) : RandomPointNear(rng, truth, 3000);
      double min_rtt = MinRttMsForDistance(S1Angle(l, truth));
      double inflation = u(rng) < 0.2 ? 0.0 : std::pow(u(rng), 3) * 2.0;  // Often exact.
      bounds.push_back(BoundFromRtt(l, min_rtt * (1 + inflation), i));
    }
    SoundRegion r(bounds);
    RC_ASSERT(!r.is_empty());
    RC_ASSERT(r.Contains(truth));
    const S1Angle max_d = r.MaxDistanceFrom(truth);
    RC_ASSERT(r.MinDistanceFrom(truth).radians() == 0.0);
    // No boundary point is farther from the truth than the provable radius.
    for (const BoundaryArc& arc : r.boundary()) {
      for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
        RC_ASSERT(S1Angle(truth, r.PointOnArc(arc, t)).radians() <= max_d.radians() + 1e-12);
      }
    }
    RC_ASSERT(r.GetCapBound().Contains(truth));
  });
}

// EdgeMeetsRegion (with its trig-free prefilter) never misses an edge that has a sampled
// point inside the region, and never claims an edge whose every point is outside a bound.
TEST(SoundRegion, EdgeMeetsRegionAgreesWithSampling) {
  rc::check("edge vs region", [](uint64_t seed) {
    std::mt19937_64 rng(seed);
    const S2Point center = RandomPoint(rng);
    std::vector<DistanceBound> bounds;
    for (int i = 0; i < 5; ++i) bounds.push_back(Km(RandomPointNear(rng, center, 800), 1000));
    SoundRegion r(bounds);
    RC_PRE(!r.is_empty());
    const S2Point a = RandomPointNear(rng, center, 2500), b = RandomPointNear(rng, center, 2500);
    RC_PRE(S1Angle(a, b).radians() > 1e-6);
    bool sampled_inside = false;
    for (int i = 0; i <= 400; ++i) {
      S2Point p = ((1 - i / 400.0) * a + (i / 400.0) * b).Normalize();
      sampled_inside |= r.Contains(p);
    }
    if (sampled_inside) RC_ASSERT(r.EdgeMeetsRegion(a, b));
  });
}

TEST(SoundRegion, ClosestPointIsNearestSampledPoint) {
  rc::check("closest point", [](uint64_t seed) {
    std::mt19937_64 rng(seed);
    const S2Point center = RandomPoint(rng);
    std::vector<DistanceBound> bounds;
    for (int i = 0; i < 4; ++i) bounds.push_back(Km(RandomPointNear(rng, center, 600), 900));
    SoundRegion r(bounds);
    RC_PRE(!r.is_empty());
    const S2Point p = RandomPointNear(rng, center, 3000);
    const S2Point q = r.ClosestPoint(p);
    const double d = S1Angle(p, q).radians();
    const S2Cap cap = r.GetCapBound();
    for (int i = 0; i < 300; ++i) {
      S2Point s = RandomPointNear(rng, cap.center(), AngleToKm(cap.GetRadius()));
      if (r.Contains(s)) RC_ASSERT(S1Angle(p, s).radians() >= d - 1e-12);
    }
  });
}

}  // namespace
}  // namespace lightcone::geo
