// Country atlas benchmarks: how long loading the shipped atlas takes and how many point
// lookups (CountryAt) a core answers per second.
//
// Headline figures (bench/figures.h), in CPU time of one thread: countries.load_cpu_ms, countries.country_at_per_s,
// countries.nearest_country_per_s.
//
// It also compares every data/countries/countries-*.bin present (only the shipped scale is
// committed; `node tools/borders/convert.mjs --scale 10m` adds the 1:10m one) on the RIPE
// Atlas hosts of the shared data: how many lie in the country their operator declared. This
// is the measurement behind the choice of scale in data/countries/README.md.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "figures.h"
#include "benchmark/benchmark.h"
#include "geo/country_atlas.h"
#include "s2/s2earth.h"
#include "s2/s2latlng.h"

namespace lightcone::geo {
namespace {

constexpr int kLookupPoints = 4096;
constexpr double kNearestToleranceKm = 10.0;

const CountryAtlas& Atlas() {
  static const CountryAtlas* atlas = [] {
    absl::StatusOr<CountryAtlas> loaded = CountryAtlas::LoadDefault();
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      std::exit(1);
    }
    return new CountryAtlas(*std::move(loaded));
  }();
  return *atlas;
}

// Uniformly random points on the sphere (about 29% land), fixed seed.
std::vector<S2LatLng> RandomPoints() {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::uniform_real_distribution<double> lon(-180.0, 180.0);
  std::vector<S2LatLng> points;
  for (int i = 0; i < kLookupPoints; ++i) {
    points.push_back(S2LatLng::FromRadians(std::asin(u(rng)), lon(rng) * M_PI / 180.0));
  }
  return points;
}

struct Host {
  S2LatLng position;
  std::string country;
};

// id,lat,lon,country,city (the city may contain commas).
std::vector<Host> ReadHosts() {
  std::ifstream in(std::string(LIGHTCONE_SHARED_DATA_DIR) + "/ripe-atlas-2018/hosts.csv");
  std::vector<Host> hosts;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(',', 4));
    double lat = 0, lon = 0;
    if (f.size() < 4 || !absl::SimpleAtod(f[1], &lat) || !absl::SimpleAtod(f[2], &lon)) continue;
    hosts.push_back({S2LatLng::FromDegrees(lat, lon), f[3]});
  }
  return hosts;
}

void BM_Load(benchmark::State& state) {
  const std::string path = CountryAtlas::DefaultPath();
  for (auto _ : state) {
    absl::StatusOr<CountryAtlas> atlas = CountryAtlas::Load(path);
    if (!atlas.ok()) state.SkipWithError(atlas.status().ToString().c_str());
    benchmark::DoNotOptimize(atlas);
  }
}
BENCHMARK(BM_Load)->Unit(benchmark::kMillisecond);

void BM_CountryAt(benchmark::State& state) {
  const CountryAtlas& atlas = Atlas();
  const std::vector<S2LatLng> points = RandomPoints();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(atlas.CountryAt(points[i++ % points.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CountryAt);

void BM_NearestCountry(benchmark::State& state) {
  const CountryAtlas& atlas = Atlas();
  const std::vector<S2LatLng> points = RandomPoints();
  const S1Angle tolerance = S2Earth::KmToAngle(kNearestToleranceKm);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(atlas.NearestCountry(points[i++ % points.size()], tolerance));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NearestCountry);

// This thread's CPU time: the machine is shared, so wall-clock time would measure the
// neighbours as much as the atlas.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Best of a few loads, in milliseconds of CPU time.
double LoadMs(const std::string& path) {
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const double start = ThreadCpuSeconds();
    absl::StatusOr<CountryAtlas> atlas = CountryAtlas::Load(path);
    const double ms = (ThreadCpuSeconds() - start) * 1e3;
    if (!atlas.ok()) return -1;
    best = std::min(best, ms);
  }
  return best;
}

template <typename F>
double LookupsPerSecond(F lookup) {
  const std::vector<S2LatLng> points = RandomPoints();
  int64_t done = 0;
  const double start = ThreadCpuSeconds();
  double elapsed = 0;
  while (elapsed < 0.5) {
    for (const S2LatLng& p : points) benchmark::DoNotOptimize(lookup(p));
    done += static_cast<int64_t>(points.size());
    elapsed = ThreadCpuSeconds() - start;
  }
  return static_cast<double>(done) / elapsed;
}

void CompareScales() {
  const std::vector<Host> hosts = ReadHosts();
  const std::filesystem::path dir =
      std::filesystem::path(CountryAtlas::DefaultPath()).parent_path();
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("countries-", 0) == 0 && entry.path().extension() == ".bin") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::printf("%-22s %10s %9s %11s %10s %10s\n", "atlas", "bytes", "vertices", "load_cpu_ms",
              "inside", "within10km");
  for (const auto& file : files) {
    absl::StatusOr<CountryAtlas> atlas = CountryAtlas::Load(file.string());
    if (!atlas.ok()) {
      std::printf("%s: %s\n", file.string().c_str(), atlas.status().ToString().c_str());
      continue;
    }
    int inside = 0, near = 0;
    for (const Host& h : hosts) {
      if (atlas->CountryAt(h.position) == h.country) ++inside;
      if (atlas->NearestCountry(h.position, S2Earth::KmToAngle(kNearestToleranceKm)) ==
          h.country) {
        ++near;
      }
    }
    std::printf("%-22s %10ju %9jd %11.1f %4d/%-5zu %4d/%-5zu\n",
                file.filename().string().c_str(),
                static_cast<uintmax_t>(std::filesystem::file_size(file)),
                static_cast<intmax_t>(atlas->num_vertices()), LoadMs(file.string()), inside,
                hosts.size(), near, hosts.size());
  }
}

}  // namespace
}  // namespace lightcone::geo

int main(int argc, char** argv) {
  using namespace lightcone::geo;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  CompareScales();
  const CountryAtlas& atlas = Atlas();
  const S1Angle tolerance = S2Earth::KmToAngle(kNearestToleranceKm);
  lightcone::bench::ReportFigure("countries.load_cpu_ms", LoadMs(CountryAtlas::DefaultPath()), "ms",
                                 false);
  lightcone::bench::ReportFigure(
      "countries.country_at_per_s",
      LookupsPerSecond([&](const S2LatLng& p) { return atlas.CountryAt(p); }), "lookups/s",
      true);
  lightcone::bench::ReportFigure(
      "countries.nearest_country_per_s",
      LookupsPerSecond([&](const S2LatLng& p) { return atlas.NearestCountry(p, tolerance); }),
      "lookups/s", true);
  return 0;
}
