// Sound verdicts per second: synthetic GPUs with 16 landmarks each, judged against a
// licensed site disc (Singapore) with CN,HK,MO prohibited, on the bundled country borders.
//
// Targets: a third at the licensed site (a 100 km metro disc with a landmark in it, as a
// deployment would have), a third in or near China, a third elsewhere in Asia and Europe.
// Landmarks sit within 4,000 km of each target; RTTs are the light-speed minimum inflated
// 1.3-2.5x plus up to 2 ms, as real paths are; the site's own landmark sees 0.2-0.5 ms.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "figures.h"
#include "geo/country_atlas.h"
#include "geo/geo_testing.h"
#include "geo/units.h"
#include "geo/verdict.h"
#include "s2/s2latlng.h"

namespace lightcone::geo {
namespace {

constexpr int kLandmarksPerTarget = 16;
constexpr int kTargets = 20000;

struct World {
  std::unique_ptr<AreaIndex> prohibited;
  LicensedArea allowed;
  std::vector<std::vector<DistanceBound>> targets;
};

const World& GetWorld() {
  static const World* world = [] {
    auto* w = new World;
    auto atlas = CountryAtlas::LoadDefault();
    if (!atlas.ok()) {
      std::fprintf(stderr, "geo_benchmark: %s\n", atlas.status().ToString().c_str());
      std::exit(1);
    }
    auto polygon = atlas->Union(std::vector<std::string>{"CN", "HK", "MO"});
    w->prohibited = std::make_unique<AreaIndex>(*std::move(polygon), KmToAngle(kCountryBorderMarginKm));
    const S2Point singapore = S2LatLng::FromDegrees(1.35, 103.82).ToPoint();
    w->allowed.sites.push_back(S2Cap(singapore, KmToAngle(100)));
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(0, 1);
    const S2Point china = S2LatLng::FromDegrees(32, 110).ToPoint();
    const S2Point eurasia = S2LatLng::FromDegrees(40, 60).ToPoint();
    for (int t = 0; t < kTargets; ++t) {
      S2Point device = t % 3 == 0   ? testing::RandomPointNear(rng, singapore, 40)
                       : t % 3 == 1 ? testing::RandomPointNear(rng, china, 2000)
                                    : testing::RandomPointNear(rng, eurasia, 5000);
      std::vector<DistanceBound> bounds;
      for (int i = 0; i < kLandmarksPerTarget; ++i) {
        S2Point l = testing::RandomPointNear(rng, device, 4000);
        double rtt = MinRttMsForDistance(S1Angle(l, device)) * (1.3 + 1.2 * u(rng)) + 2 * u(rng);
        bounds.push_back(BoundFromRtt(l, rtt, i));
      }
      if (t % 3 == 0) {  // Two landmarks at the site, so that f = 1 proofs are possible.
        bounds[0] = BoundFromRtt(testing::RandomPointNear(rng, singapore, 5), 0.2 + 0.3 * u(rng), 0);
        bounds[1] = BoundFromRtt(testing::RandomPointNear(rng, singapore, 5), 0.2 + 0.3 * u(rng), 1);
      }
      w->targets.push_back(std::move(bounds));
    }
    return w;
  }();
  return *world;
}

void BM_Verdict(benchmark::State& state) {
  const World& w = GetWorld();
  const VerdictOptions options{.robustness = static_cast<int>(state.range(0))};
  size_t i = 0;
  int compliant = 0, violation = 0;
  for (auto _ : state) {
    Verdict v = DecideVerdict(w.targets[i], w.allowed, w.prohibited.get(), options);
    compliant += v.status == VerdictStatus::kCompliant;
    violation += v.status == VerdictStatus::kViolation;
    benchmark::DoNotOptimize(v);
    if (++i == w.targets.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["compliant_frac"] = static_cast<double>(compliant) / state.iterations();
  state.counters["violation_frac"] = static_cast<double>(violation) / state.iterations();
}
BENCHMARK(BM_Verdict)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The prohibited-region test alone (what `locate --prove-outside` runs per target): build the
// region and relate it to CN,HK,MO with the border margin, for every target.
void BM_ProveOutside(benchmark::State& state) {
  const World& w = GetWorld();
  size_t i = 0;
  int outside = 0;
  for (auto _ : state) {
    SoundRegion region(w.targets[i]);
    outside += w.prohibited->Relate(region) == Relation::kOutside;
    if (++i == w.targets.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["outside_frac"] = static_cast<double>(outside) / state.iterations();
}
BENCHMARK(BM_ProveOutside)->Unit(benchmark::kMicrosecond);

// One full pass over all targets, single-threaded, for the headline figure.
void ReportHeadlineFigures() {
  const World& w = GetWorld();
  for (int f : {0, 1}) {
    const VerdictOptions options{.robustness = f};
    int checksum = 0;
    // CPU time of this thread: the figure is per core, and the machine is shared.
    timespec t0{}, t1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    for (int rep = 0; rep < 3; ++rep) {
      for (const auto& bounds : w.targets) {
        checksum += static_cast<int>(DecideVerdict(bounds, w.allowed, w.prohibited.get(), options).status);
      }
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    const double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    benchmark::DoNotOptimize(checksum);
    bench::ReportFigure(f == 0 ? "geo_sound_verdicts_per_second_per_core_16_landmarks"
                               : "geo_sound_verdicts_f1_per_second_per_core_16_landmarks",
                        3.0 * w.targets.size() / s, "verdicts/s", true);
  }
  int checksum = 0;
  timespec t0{}, t1{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  for (const auto& bounds : w.targets) {
    checksum += static_cast<int>(w.prohibited->Relate(SoundRegion(bounds)));
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
  benchmark::DoNotOptimize(checksum);
  bench::ReportFigure("geo_prove_outside_cn_hk_mo_per_second_per_core_16_landmarks",
                      w.targets.size() / ((t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)),
                      "regions/s", true);
}

}  // namespace
}  // namespace lightcone::geo

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  lightcone::geo::ReportHeadlineFigures();
  return 0;
}
