// The fleet verdict loop at scale: one FleetMonitor pass over 100,000 GPUs measured by 16
// landmarks each (1.6 million measurements) in a SQLite store in a temporary directory.
//
// World: the 16 landmarks of fleet_testing.h at real positions; 60% of the GPUs at the
// licensed Singapore site (within 30 km), 20% in and around Beijing, 20% near Tokyo, Mumbai
// or Frankfurt; RTTs at fiber speed times 1.1-1.4 plus 0.02-0.15 ms (a metro landmark sees
// a GPU at its site at 0.1-0.3 ms). 8 GPUs per host,
// 90% licensed (the Singapore licence, cap raised to the fleet size).
//
// Figures:
//   fleet_pass_100k_gpus_seconds         first pass: reads, 100,000 verdicts computed and
//                                        written, every detector, alerts raised (wall time)
//   fleet_pass_100k_gpus_steady_seconds  the next pass a minute later (nothing changed:
//                                        no verdict written, no alert raised)
//   fleet_verdicts_per_second            verdict computation alone in the first pass
//                                        (FleetMonitorOptions::threads = 2)
// LIGHTCONE_FLEET_BENCH_GPUS overrides the fleet size (figures keep their names).
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "figures.h"
#include "geo/calibration.h"
#include "geo/units.h"
#include "s2/s1angle.h"
#include "s2/s2latlng.h"
#include "s2/s2pointutil.h"
#include "server/fleet/fleet_monitor.h"
#include "server/fleet/fleet_testing.h"

namespace lightcone::server::fleet {
namespace {

constexpr int kDefaultGpus = 100'000;
constexpr int kGpusPerHost = 8;

S2Point RandomNear(std::mt19937_64& rng, const S2Point& c, double radius_km) {
  std::uniform_real_distribution<double> u(0, 1);
  const S2Point x = S2::Ortho(c), y = c.CrossProd(x);
  const double r = geo::KmToAngle(radius_km).radians();
  const double d = std::acos(1 - u(rng) * (1 - std::cos(r))), a = u(rng) * 2 * M_PI;
  return (std::cos(d) * c + std::sin(d) * (std::cos(a) * x + std::sin(a) * y)).Normalize();
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "fleet_benchmark: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

// Decide() alone, in memory, per kind of GPU: 0 at the licensed site, 1 around Beijing,
// 2 near Tokyo / Mumbai / Frankfurt.
void BM_Decide(benchmark::State& state) {
  static std::shared_ptr<CountryAreaCache> countries = CountryAreaCache::LoadDefault();
  std::vector<Landmark> landmarks = testing::MakeLandmarks(16);
  for (size_t i = 0; i < landmarks.size(); ++i) landmarks[i].id = static_cast<int64_t>(i + 1);
  Licence lic = testing::SingaporeLicence(1);
  lic.id = 1;
  const LicenceGeometry geometry = BuildLicenceGeometry(lic, *countries);
  VerdictEngine engine({}, landmarks);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  const S2Point centres[] = {S2LatLng::FromDegrees(1.33, 103.74).ToPoint(),
                             S2LatLng::FromDegrees(39.9, 116.4).ToPoint(),
                             S2LatLng::FromDegrees(35.65, 139.75).ToPoint()};
  const double spread_km[] = {30, 500, 300};
  const int kind = static_cast<int>(state.range(0));
  std::vector<std::vector<MinRtt>> inputs(256);
  for (auto& rtts : inputs) {
    const S2Point p = RandomNear(rng, centres[kind], spread_km[kind]);
    for (const Landmark& l : landmarks) {
      const double km = geo::AngleToKm(
          S1Angle(S2LatLng::FromDegrees(l.latitude_deg, l.longitude_deg).ToPoint(), p));
      MinRtt r;
      r.device_id = 1;
      r.landmark_id = l.id;
      r.min_rtt_ns = static_cast<int64_t>(
          (km * geo::kTwoThirdsCRttMsPerKm * (1.1 + 0.3 * u(rng)) + 0.02 + 0.13 * u(rng)) * 1e6);
      r.count = 1;
      r.last_time = testing::TestNow() - absl::Minutes(5);
      rtts.push_back(r);
    }
  }
  Device device;
  device.id = 1;
  device.licence_id = 1;
  size_t i = 0;
  int compliant = 0;
  for (auto _ : state) {
    DeviceInput in;
    in.device = &device;
    in.rtts = inputs[i++ % inputs.size()];
    in.licence = &lic;
    in.geometry = &geometry;
    Decision d = engine.Decide(in, testing::TestNow());
    compliant += d.verdict.status == VerdictStatus::kCompliant;
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["compliant_frac"] = static_cast<double>(compliant) / state.iterations();
}
BENCHMARK(BM_Decide)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

int Run() {
  int gpus = kDefaultGpus;
  if (const char* env = std::getenv("LIGHTCONE_FLEET_BENCH_GPUS")) gpus = std::max(1, std::atoi(env));
  auto temp = testing::TempSqliteStore::Create(/*synchronous_full=*/false);
  Check(temp.status(), "open store");
  Store& store = (*temp)->store();
  const absl::Time seed_start = absl::Now();
  auto world = testing::SeedWorld(store, 16);
  Check(world.status(), "seed world");
  Licence lic = world->licence;
  lic.model_caps = {{"NVIDIA H100 80GB HBM3", gpus}};
  Check(store.UpdateLicence(lic), "licence");

  const absl::Time now = testing::TestNow();
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  const S2Point sin = S2LatLng::FromDegrees(1.33, 103.74).ToPoint();
  const S2Point pek = S2LatLng::FromDegrees(39.9, 116.4).ToPoint();
  const S2Point others[] = {S2LatLng::FromDegrees(35.65, 139.75).ToPoint(),
                            S2LatLng::FromDegrees(19.0, 72.85).ToPoint(),
                            S2LatLng::FromDegrees(50.11, 8.68).ToPoint()};
  std::vector<int64_t> device_ids;
  std::vector<S2Point> positions;
  int64_t host_id = world->host.id;
  for (int i = 0; i < gpus; ++i) {
    if (i % kGpusPerHost == 0 && i > 0) {
      Host h;
      h.organization_id = world->org.id;
      h.hostname = absl::StrCat("node-", i / kGpusPerHost);
      h.site_id = world->site.id;
      h.first_seen = now - absl::Hours(24 * 30);
      h.last_seen = now - absl::Minutes(10);
      auto created = store.CreateHost(h);
      Check(created.status(), "host");
      host_id = created->id;
    }
    testing::DeviceSpec spec;
    spec.name = absl::StrCat("bench-", i);
    spec.host_id = host_id;
    spec.licence_id = i % 10 == 9 ? 0 : world->licence.id;
    auto d = testing::AddDevice(store, *world, spec);
    Check(d.status(), "device");
    device_ids.push_back(d->id);
    const double r = u(rng);
    positions.push_back(r < 0.6   ? RandomNear(rng, sin, 30)
                        : r < 0.8 ? RandomNear(rng, pek, 500)
                                  : RandomNear(rng, others[i % 3], 300));
  }
  for (const Landmark& l : world->landmarks) {
    const S2Point lp = S2LatLng::FromDegrees(l.latitude_deg, l.longitude_deg).ToPoint();
    MeasurementBatch batch;
    batch.landmark_id = l.id;
    batch.batch_sequence = 1;
    for (size_t i = 0; i < device_ids.size(); ++i) {
      Measurement m;
      m.device_id = device_ids[i];
      m.time = now - absl::Minutes(5);
      const double km = geo::AngleToKm(S1Angle(lp, positions[i]));
      m.rtt_ns = static_cast<int64_t>(
          (km * geo::kTwoThirdsCRttMsPerKm * (1.1 + 0.3 * u(rng)) + 0.02 + 0.13 * u(rng)) * 1e6);
      m.sequence = 1;
      m.nonce = absl::StrCat(l.id, "-", i);
      m.key_id = "0123456789abcdef";
      m.reply_signature = std::string(64, 's');
      batch.measurements.push_back(std::move(m));
      if (static_cast<int>(batch.measurements.size()) == kMaxMeasurementsPerBatch ||
          i + 1 == device_ids.size()) {
        Check(store.IngestMeasurements(batch).status(), "ingest");
        batch.measurements.clear();
        ++batch.batch_sequence;
      }
    }
  }
  std::fprintf(stderr, "fleet_benchmark: seeded %d GPUs x 16 landmarks in %s\n", gpus,
               absl::FormatDuration(absl::Now() - seed_start).c_str());

  FleetMonitorOptions options;
  options.threads = 2;
  FleetMonitor monitor(&store, options);
  auto first = monitor.RunPass(now);
  Check(first.status(), "first pass");
  auto steady = monitor.RunPass(now + absl::Minutes(1));
  Check(steady.status(), "steady pass");
  std::fprintf(stderr,
               "fleet_benchmark: first pass %s (verdicts %s): %lld compliant, %lld violation, "
               "%lld unproven, %lld verdicts written, %lld alerts raised; steady pass %s\n",
               absl::FormatDuration(first->duration).c_str(),
               absl::FormatDuration(first->verdict_duration).c_str(),
               static_cast<long long>(first->compliant), static_cast<long long>(first->violation),
               static_cast<long long>(first->unproven),
               static_cast<long long>(first->verdicts_written),
               static_cast<long long>(first->alerts_raised),
               absl::FormatDuration(steady->duration).c_str());
  for (const auto* r : {&*first, &*steady}) {
    std::fprintf(stderr, "fleet_benchmark:   read %s, verdicts %s, write %s, identity %s, detect %s\n",
                 absl::FormatDuration(r->read_duration).c_str(),
                 absl::FormatDuration(r->verdict_duration).c_str(),
                 absl::FormatDuration(r->write_duration).c_str(),
                 absl::FormatDuration(r->identity_duration).c_str(),
                 absl::FormatDuration(r->detect_duration).c_str());
  }
  for (const auto& [type, n] : first->raised_by_type) {
    std::fprintf(stderr, "fleet_benchmark:   %s: %lld\n", type.c_str(), static_cast<long long>(n));
  }
  bench::ReportFigure("fleet_pass_100k_gpus_seconds", absl::ToDoubleSeconds(first->duration), "s",
                      false);
  bench::ReportFigure("fleet_pass_100k_gpus_steady_seconds",
                      absl::ToDoubleSeconds(steady->duration), "s", false);
  bench::ReportFigure("fleet_verdicts_per_second",
                      static_cast<double>(first->devices) /
                          std::max(1e-9, absl::ToDoubleSeconds(first->verdict_duration)),
                      "verdicts/s", true);
  return 0;
}

}  // namespace
}  // namespace lightcone::server::fleet

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (std::getenv("LIGHTCONE_FLEET_BENCH_SKIP_PASS") != nullptr) return 0;
  return lightcone::server::fleet::Run();
}
