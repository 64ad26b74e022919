// Measurements ingested per second into the evidence store through the Store API (no HTTP),
// in batches of kBatchSize, each batch one durable transaction: SQLite with synchronous=FULL
// in a temporary file, and PostgreSQL (fsync on, synchronous_commit on) started in a temporary
// directory by the test fixture. Figures: store_sqlite_ingest_measurements_per_second
// (synchronous=FULL, the default), store_sqlite_sync_normal_ingest_measurements_per_second,
// store_postgres_ingest_measurements_per_second.
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "figures.h"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/pg_test_server.h"

namespace lightcone::server {
namespace {

constexpr int kBatchSize = 1'000;
constexpr int kBatchesPerFigure = 200;  // 200,000 measurements per figure.
constexpr int kDevices = 100;

struct Fixture {
  int64_t landmark_id = 0;
  std::vector<int64_t> device_ids;
  int64_t next_batch = 1;
  int64_t next_sequence = 0;
};

Fixture Populate(Store& store) {
  Fixture fixture;
  auto org = store.CreateOrganization({0, "bench"});
  Landmark landmark;
  landmark.name = "bench-landmark";
  landmark.public_key = std::string(32, 'k');
  fixture.landmark_id = store.CreateLandmark(landmark).value().id;
  for (int i = 0; i < kDevices; ++i) {
    Device device;
    device.organization_id = org.value().id;
    device.uuid = absl::StrCat("GPU-bench-", i);
    device.model = "H100";
    fixture.device_ids.push_back(store.CreateDevice(device).value().id);
  }
  return fixture;
}

MeasurementBatch NextBatch(Fixture& fixture) {
  MeasurementBatch batch;
  batch.landmark_id = fixture.landmark_id;
  batch.batch_sequence = fixture.next_batch++;
  batch.measurements.resize(kBatchSize);
  for (int i = 0; i < kBatchSize; ++i) {
    Measurement& m = batch.measurements[i];
    const int64_t sequence = fixture.next_sequence++;
    m.device_id = fixture.device_ids[sequence % kDevices];
    m.time = absl::FromUnixSeconds(1'750'000'000) + absl::Microseconds(sequence);
    m.rtt_ns = 2'000'000 + sequence % 1'000;
    m.nonce = std::string(16, static_cast<char>(sequence));
    m.sequence = sequence;
    m.key_id = "kid-1";
    m.reply_signature = std::string(64, static_cast<char>(sequence * 7));
  }
  return batch;
}

// Wall-clock measurements per second over kBatchesPerFigure batches.
double IngestRate(Store& store) {
  Fixture fixture = Populate(store);
  std::vector<MeasurementBatch> batches;
  for (int b = 0; b < kBatchesPerFigure; ++b) batches.push_back(NextBatch(fixture));
  const absl::Time start = absl::Now();
  for (const MeasurementBatch& batch : batches) {
    auto result = store.IngestMeasurements(batch);
    if (!result.ok() || result->inserted != kBatchSize) {
      std::fprintf(stderr, "ingest failed: %s\n", result.status().ToString().c_str());
      return 0;
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return kBatchesPerFigure * kBatchSize / seconds;
}

std::string TempDir() {
  std::string pattern = std::filesystem::temp_directory_path() / "lightcone-store-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

void BM_SqliteIngestBatch(benchmark::State& state) {
  const std::string dir = TempDir();
  auto store = OpenSqliteStore({dir + "/store.db"}).value();
  Fixture fixture = Populate(*store);
  for (auto _ : state) {
    state.PauseTiming();
    MeasurementBatch batch = NextBatch(fixture);
    state.ResumeTiming();
    benchmark::DoNotOptimize(store->IngestMeasurements(batch));
  }
  state.SetItemsProcessed(state.iterations() * kBatchSize);
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SqliteIngestBatch)->Unit(benchmark::kMillisecond);

double SqliteFigure(bool synchronous_full) {
  const std::string dir = TempDir();
  double rate = 0;
  {
    SqliteStoreOptions options;
    options.path = dir + "/store.db";
    options.synchronous_full = synchronous_full;
    auto store = OpenSqliteStore(options);
    if (store.ok()) rate = IngestRate(**store);
  }
  std::filesystem::remove_all(dir);
  return rate;
}

double PostgresFigure() {
  testing::PgTestServerOptions options;
  options.fsync = true;
  auto server = testing::PgTestServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "postgres unavailable: %s\n", server.status().ToString().c_str());
    return 0;
  }
  auto conninfo = (*server)->CreateDatabase();
  if (!conninfo.ok()) return 0;
  auto store = OpenPostgresStore({*conninfo});
  if (!store.ok()) return 0;
  return IngestRate(**store);
}

}  // namespace
}  // namespace lightcone::server

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  lightcone::bench::ReportFigure("store_sqlite_ingest_measurements_per_second",
                                 lightcone::server::SqliteFigure(true), "measurements/s", true);
  // The same with synchronous=NORMAL (safe against kill -9, not against power loss).
  lightcone::bench::ReportFigure("store_sqlite_sync_normal_ingest_measurements_per_second",
                                 lightcone::server::SqliteFigure(false), "measurements/s", true);
  lightcone::bench::ReportFigure("store_postgres_ingest_measurements_per_second",
                                 lightcone::server::PostgresFigure(), "measurements/s", true);
  return 0;
}
