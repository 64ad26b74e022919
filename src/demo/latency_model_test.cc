#include "demo/latency_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace lightcone::demo {
namespace {

std::vector<DistanceRtt> RipeSamples() {
  std::string dir = std::string(LIGHTCONE_SHARED_DATA_DIR) + "/ripe-atlas-2018/";
  auto samples = LatencyModel::LoadSamples(dir + "hosts.csv", dir + "rtts.csv");
  EXPECT_TRUE(samples.ok()) << samples.status();
  return samples.ok() ? *samples : std::vector<DistanceRtt>{};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

TEST(LatencyModel, LoadsEveryPositionedPairOfTheRipeMesh) {
  std::vector<DistanceRtt> samples = RipeSamples();
  EXPECT_EQ(samples.size(), 47549u);
}

// The modelled RTT of every measured pair, with fresh endpoints per pair, has the data's
// median RTT in every distance band within 15%.
TEST(LatencyModel, ReproducesMedianRttByDistanceBand) {
  std::vector<DistanceRtt> samples = RipeSamples();
  ASSERT_FALSE(samples.empty());
  LatencyModel model = LatencyModel::Default(7);
  std::mt19937_64 rng(7);
  const double edges[] = {0, 50, 200, 500, 1000, 2000, 4000, 8000, 12000, 21000};
  for (size_t b = 0; b + 1 < std::size(edges); ++b) {
    std::vector<double> real, modelled;
    for (size_t i = 0; i < samples.size(); ++i) {
      const DistanceRtt& s = samples[i];
      if (s.distance_km < edges[b] || s.distance_km >= edges[b + 1]) continue;
      real.push_back(s.rtt_ms);
      PathDelay p = model.Path(absl::StrCat("a", i), absl::StrCat("b", i), s.distance_km);
      modelled.push_back(model.SampleRttMs(p, rng));
    }
    ASSERT_FALSE(real.empty());
    double real_median = Median(real), model_median = Median(modelled);
    std::printf("band %6.0f-%6.0f km: %5zu pairs, median rtt real %7.2f ms model %7.2f ms\n",
                edges[b], edges[b + 1], real.size(), real_median, model_median);
    EXPECT_NEAR(model_median, real_median, 0.15 * real_median)
        << "band " << edges[b] << "-" << edges[b + 1] << " km";
  }
}

TEST(LatencyModel, NeverBelowTheVacuumLightBound) {
  LatencyModel model = LatencyModel::Default(3);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> distance(0, 20000);
  for (int i = 0; i < 20000; ++i) {
    double d = distance(rng);
    PathDelay p = model.Path(absl::StrCat("x", i), absl::StrCat("y", i % 97), d);
    double light = 2 * d / kLightKmPerMs;
    ASSERT_GE(p.base_rtt_ms, light) << d;
    ASSERT_GE(p.inflation, 1.0);
    ASSERT_GE(p.one_way_ms() * 2, p.light_bound_rtt_ms);
    ASSERT_GE(model.SampleRttMs(p, rng), p.base_rtt_ms);
  }
}

TEST(LatencyModel, DeterministicInSeedAndNames) {
  LatencyModel a = LatencyModel::Default(11), b = LatencyModel::Default(11),
               c = LatencyModel::Default(12);
  EXPECT_EQ(a.Path("sin", "fra", 10000).base_rtt_ms, b.Path("sin", "fra", 10000).base_rtt_ms);
  EXPECT_EQ(a.Path("sin", "fra", 10000).base_rtt_ms, a.Path("fra", "sin", 10000).base_rtt_ms);
  EXPECT_NE(a.Path("sin", "fra", 10000).base_rtt_ms, c.Path("sin", "fra", 10000).base_rtt_ms);
  EXPECT_EQ(a.HostOverheadMs("gpu-1"), b.HostOverheadMs("gpu-1"));
  EXPECT_EQ(StableHash(1, "abc"), StableHash(1, "abc"));
  EXPECT_NE(StableHash(1, "abc"), StableHash(2, "abc"));
}

TEST(LatencyModel, InflationShrinksWithDistance) {
  LatencyModel model = LatencyModel::Default();
  EXPECT_GT(model.InflationQuantile(100, 0.5), model.InflationQuantile(10000, 0.5));
  EXPECT_LT(model.InflationQuantile(5000, 0.1), model.InflationQuantile(5000, 0.9));
}

TEST(LatencyModel, FitWithoutShortPairsIsInvalidArgument) {
  std::vector<DistanceRtt> samples = {{1000, 20}, {3000, 60}};
  EXPECT_EQ(LatencyModel::Fit(samples).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LatencyModel, FitWithAnEmptyBandIsInvalidArgument) {
  std::vector<DistanceRtt> samples = {{10, 1}, {1000, 20}};
  EXPECT_EQ(LatencyModel::Fit(samples).status().code(), absl::StatusCode::kInvalidArgument);
}

// The built-in parameters are the fit of the RIPE data; on drift this prints the lines of
// latency_model_fit.inc and the overhead constants to paste.
TEST(LatencyModel, DefaultEqualsFreshFit) {
  std::vector<DistanceRtt> samples = RipeSamples();
  auto fit = LatencyModel::Fit(samples);
  ASSERT_TRUE(fit.ok()) << fit.status();
  const LatencyModelParams& f = fit->params();
  const LatencyModel default_model = LatencyModel::Default();
  const LatencyModelParams& d = default_model.params();
  std::string inc;
  for (const InflationBand& band : f.bands) {
    inc += absl::StrFormat("{%.0f, {", band.upper_km);
    for (int q = 0; q < kInflationQuantiles; ++q) {
      inc += absl::StrFormat("%s%.4f", q ? ", " : "", band.quantiles[q]);
    }
    inc += absl::StrFormat("}, %d},\n", band.samples);
  }
  SCOPED_TRACE(absl::StrFormat("fit:\nkFittedOverheadMedianMs = %.4f\nkFittedOverheadLogSigma = %.4f\n%s",
                               f.host_overhead_median_ms, f.host_overhead_log_sigma, inc));
  EXPECT_NEAR(d.host_overhead_median_ms, f.host_overhead_median_ms, 1e-3);
  EXPECT_NEAR(d.host_overhead_log_sigma, f.host_overhead_log_sigma, 1e-3);
  ASSERT_EQ(d.bands.size(), f.bands.size());
  for (size_t b = 0; b < f.bands.size(); ++b) {
    EXPECT_EQ(d.bands[b].samples, f.bands[b].samples);
    for (int q = 0; q < kInflationQuantiles; ++q) {
      EXPECT_NEAR(d.bands[b].quantiles[q], f.bands[b].quantiles[q], 1e-3);
    }
  }
}

}  // namespace
}  // namespace lightcone::demo
