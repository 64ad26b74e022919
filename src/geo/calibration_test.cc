#include "geo/calibration.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace lightcone::geo {
namespace {

// The bestline lies under every point, has b >= 0 and a slope no faster than 2/3 c.
void ExpectValid(const Bestline& line, const std::vector<CalibrationPoint>& points) {
  EXPECT_GE(line.intercept_ms, 0);
  EXPECT_GE(line.slope_ms_per_km, kTwoThirdsCRttMsPerKm * (1 - 1e-12));
  for (const CalibrationPoint& p : points) {
    EXPECT_LE(line.slope_ms_per_km * p.distance_km + line.intercept_ms, p.rtt_ms + 1e-9)
        << "point (" << p.distance_km << ", " << p.rtt_ms << ") under the line";
  }
}

TEST(Bestline, FitsTheLowerHullEdgeUnderTheMeanDistance) {
  // Points on rtt = 0.02 d + 1 and above it: the LP optimum is that line.
  std::vector<CalibrationPoint> points = {
      {100, 3, 1}, {500, 11, 2}, {1000, 21, 3}, {300, 15, 4}, {800, 30, 5}};
  const Bestline line = FitBestline(points);
  EXPECT_NEAR(line.slope_ms_per_km, 0.02, 1e-12);
  EXPECT_NEAR(line.intercept_ms, 1.0, 1e-12);
  EXPECT_NEAR(line.DistanceKm(21), 1000, 1e-9);
  EXPECT_EQ(line.DistanceKm(0.5), 0);  // Never negative.
  ExpectValid(line, points);
}

TEST(Bestline, InterceptNeverNegative) {
  // The hull edge would cross the axis below zero: b = 0 becomes active.
  std::vector<CalibrationPoint> points = {{100, 1.5, 1}, {1000, 30, 2}, {2000, 60, 3}};
  const Bestline line = FitBestline(points);
  EXPECT_EQ(line.intercept_ms, 0);
  ExpectValid(line, points);
}

TEST(Bestline, SlopeNeverFasterThanTwoThirdsC) {
  // Flat points (a slow access link, then fast long paths) would give a shallow slope.
  std::vector<CalibrationPoint> points = {{10, 20, 1}, {1000, 21, 2}, {2000, 22.1, 3}};
  const Bestline line = FitBestline(points);
  EXPECT_DOUBLE_EQ(line.slope_ms_per_km, kTwoThirdsCRttMsPerKm);
  EXPECT_NEAR(line.intercept_ms, 22.1 - 2000 * kTwoThirdsCRttMsPerKm, 1e-9);
  ExpectValid(line, points);
}

TEST(Bestline, TooFewPointsGiveTheBaseline) {
  const Bestline line = FitBestline({{100, 3, 1}});
  EXPECT_DOUBLE_EQ(line.slope_ms_per_km, kTwoThirdsCRttMsPerKm);
  EXPECT_EQ(line.intercept_ms, 0);
}

TEST(Bestline, ExcludedHostIsIgnored) {
  // Host 9's point is the only one that holds the line down.
  std::vector<CalibrationPoint> points = {{100, 4, 1}, {1000, 22, 2}, {500, 2, 9}};
  const Bestline with = FitBestline(points);
  const Bestline without = FitBestline(points, 9);
  EXPECT_NE(with.slope_ms_per_km, without.slope_ms_per_km);
  EXPECT_NEAR(without.slope_ms_per_km, 0.02, 1e-12);
  EXPECT_NEAR(without.intercept_ms, 2.0, 1e-12);
}

TEST(Bestline, RandomPointsAlwaysGiveAValidLine) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<CalibrationPoint> points;
    const int n = 2 + trial % 40;
    for (int i = 0; i < n; ++i) {
      const double d = 10000 * u(rng);
      points.push_back({d, d * kTwoThirdsCRttMsPerKm * (1 + 2 * u(rng)) + 10 * u(rng), i});
    }
    ExpectValid(FitBestline(points), points);
  }
}

TEST(DistanceRatioModel, QuantilesPerRttBin) {
  std::vector<DistanceRatioModel::Sample> samples;
  for (int i = 0; i <= 100; ++i) samples.push_back({10.0, i / 100.0});  // Uniform at 10 ms.
  for (int i = 0; i < 50; ++i) samples.push_back({0.5, 0.1});          // Tight at 0.5 ms.
  const DistanceRatioModel model(samples);
  EXPECT_NEAR(model.At(10.0).q50, 0.5, 0.02);
  EXPECT_NEAR(model.At(10.0).q25, 0.25, 0.02);
  EXPECT_NEAR(model.At(10.0).q75, 0.75, 0.02);
  EXPECT_NEAR(model.At(0.5).q50, 0.1, 1e-12);
  // A bin without samples borrows from its neighbours.
  EXPECT_NEAR(model.At(12.0).q50, 0.5, 0.02);
}

}  // namespace
}  // namespace lightcone::geo
