// Measurements ingested per second into the evidence store through the Store API (no HTTP),
// in batches of kBatchSize, each batch one durable transaction: SQLite with synchronous=FULL
// in a temporary file, and PostgreSQL (fsync on, synchronous_commit on) started in a temporary
// directory by the test fixture. Figures: store_sqlite_ingest_measurements_per_second
// (synchronous=FULL, the default), store_sqlite_sync_normal_ingest_measurements_per_second,
// store_postgres_ingest_measurements_per_second.
//
// MinRtts, the verdict loop's one query per pass: a SQLite store holding kMinRttDevices x
// kMinRttLandmarks x kMinRttRounds measurements (generated inside SQLite, not ingested through
// the API, so that it fits the runtime budget), then MinRtts(nullopt, since) over all of them.
// Figures: store_sqlite_min_rtts_measurements_per_second (measurements aggregated per second),
// store_sqlite_min_rtts_pass_seconds (one call), store_sqlite_min_rtts_one_device_us. Over the
// same fleet: store_sqlite_append_verdicts_per_second (one AppendVerdicts of a verdict per
// device) and store_sqlite_latest_verdicts_100k_devices_ms.
//
// Schema v4 history reads and writes (docs/api.md "Health history", "Compliance over time"),
// SQLite: store_sqlite_record_telemetry_reports_per_second (RecordTelemetry of one 8-GPU
// host's POST /telemetry per call, synchronous=FULL, every report a sample);
// store_sqlite_licence_history_1k_gpus_7d_ms (ReadLicenceVerdictHistory over 7 days for a
// licence of kHistoryDevices GPUs with a verdict per GPU per hour: the rows of the dashboard's
// default compliance-over-time request); store_sqlite_licence_history_1k_gpus_1d_of_7d_ms (the
// last day of that week: the cost follows the range, not the licence's whole history).
#include <stdlib.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "core/status_macros.h"
#include "figures.h"
#include "server/store/postgres_store.h"
#include "server/store/schema.h"
#include "server/store/sql_store.h"
#include "server/store/sqlite_database.h"
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

constexpr int kMinRttDevices = 100'000;
constexpr int kMinRttLandmarks = 16;
constexpr int kMinRttRounds = 3;
constexpr int64_t kMinRttBaseNs = 1'750'000'000'000'000'000;
constexpr int64_t kMinRttRoundNs = 60'000'000'000;  // One probe round per minute.

std::string TempDir() {
  std::string pattern = std::filesystem::temp_directory_path() / "lightcone-store-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

// Arg 1: as the schema defines it. Arg 0: without measurements_by_time (the MinRtts index),
// to show what that index costs at ingest.
void BM_SqliteIngestBatch(benchmark::State& state) {
  const std::string dir = TempDir();
  if (state.range(0) == 0) {
    auto db = internal::SqliteDatabase::Open({dir + "/store.db"}).value();
    if (!internal::RunMigrations(*db).ok() ||
        !db->ExecScript("DROP INDEX measurements_by_time").ok()) {
      state.SkipWithError("cannot drop measurements_by_time");
      return;
    }
  }
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
BENCHMARK(BM_SqliteIngestBatch)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

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

// CPU time of this process (user + system), to tell a loaded machine from a slow query.
double CpuSeconds() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct MinRttFigures {
  double measurements_per_second = 0;
  double pass_seconds = 0;
  double one_device_us = 0;
  double append_verdicts_per_second = 0;  // One AppendVerdicts call, a verdict per device.
  double latest_verdicts_ms = 0;          // LatestVerdicts over every device.
};

// Builds the measurements table inside SQLite (one statement per table, one transaction), in
// round-major time order like real ingest. The secondary indexes of `measurements` (as the
// migrations define them, read back from sqlite_master) are dropped for the bulk insert and
// created again afterwards: the same end state, built by sorting rather than row by row.
absl::Status PopulateMinRttDatabase(const std::string& path) {
  internal::SqliteDatabaseOptions options;
  options.path = path;
  options.synchronous_full = false;
  LC_ASSIGN_OR_RETURN(auto db, internal::SqliteDatabase::Open(options));
  LC_RETURN_IF_ERROR(internal::RunMigrations(*db));
  // A throw-away bulk load: no WAL (which would write every page twice), a large page cache
  // for the index sorts. The store reopens the file in WAL mode.
  LC_RETURN_IF_ERROR(db->ExecScript(
      "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144"));
  std::vector<std::pair<std::string, std::string>> indexes;  // name, CREATE statement
  {
    LC_ASSIGN_OR_RETURN(internal::SqlStatement * s,
                        db->Prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                    "AND tbl_name = 'measurements' AND sql IS NOT NULL"));
    while (true) {
      LC_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) break;
      indexes.emplace_back(s->ColumnText(0), s->ColumnText(1));
    }
    s->Reset();
  }
  for (const auto& [name, sql] : indexes) {
    LC_RETURN_IF_ERROR(db->ExecScript(absl::StrCat("DROP INDEX ", name)));
  }
  LC_RETURN_IF_ERROR(db->Begin());
  LC_RETURN_IF_ERROR(db->ExecScript(absl::StrCat(
      "INSERT INTO organizations (id, name, created_at_ns) VALUES (1, 'bench', 0);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ",
      kMinRttLandmarks,
      ") INSERT INTO landmarks (id, name, latitude_deg, longitude_deg, public_key, status, "
      "created_at_ns) SELECT i, 'lm-' || i, 0, 0, zeroblob(32), 'active', 0 FROM n;"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ",
      kMinRttDevices,
      ") INSERT INTO devices (id, organization_id, uuid, serial, ueid, model, key_public_key, "
      "key_id, assurance_level, first_seen_ns, last_seen_ns) SELECT i, 1, 'GPU-' || i, '', '', "
      "'H100', zeroblob(32), 'kid', 0, 0, 0 FROM n;"
      "INSERT INTO measurement_batches (id, landmark_id, batch_sequence, content_hash, "
      "measurement_count, received_at_ns) SELECT id, id, 1, zeroblob(32), 0, 0 FROM landmarks;"
      "WITH RECURSIVE r(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM r WHERE j < ",
      kMinRttRounds - 1,
      ") INSERT INTO measurements (device_id, landmark_id, time_ns, rtt_ns, nonce, sequence, "
      "key_id, reply_signature, batch_id) SELECT d.id, l.id, ",
      kMinRttBaseNs, " + r.j * ", kMinRttRoundNs,
      " + d.id * 1000 + l.id, 1000000 + (d.id * 7919 + l.id * 104729 + r.j * 31) % 50000, "
      "zeroblob(16), r.j, 'kid', zeroblob(64), l.id FROM r CROSS JOIN devices d CROSS JOIN "
      "landmarks l;")));  // CROSS JOIN keeps this loop order: rounds, devices, landmarks.
  for (const auto& [name, sql] : indexes) LC_RETURN_IF_ERROR(db->ExecScript(sql));
  return db->ExecScript("COMMIT");
}

// Prints SQLite's plan for the all-devices MinRtts statement (which index it uses).
void PrintMinRttPlan(const std::string& path) {
  auto db = internal::SqliteDatabase::Open({path});
  if (!db.ok()) return;
  auto plan = (*db)->Prepare(absl::StrCat(
      "EXPLAIN QUERY PLAN ", internal::MinRttsSql(internal::SqlDialect::kSqlite, false)));
  if (!plan.ok()) return;
  (*plan)->BindInt64(1, kMinRttBaseNs);
  while ((*plan)->Next().value_or(false)) {
    std::fprintf(stderr, "min_rtts plan: %s\n", (*plan)->ColumnText(3).c_str());
  }
  (*plan)->Reset();
}

MinRttFigures MinRttFigure() {
  MinRttFigures figures;
  const std::string dir = TempDir();
  const std::string path = dir + "/store.db";
  const absl::Time populate_start = absl::Now();
  const double populate_cpu_start = CpuSeconds();
  if (absl::Status status = PopulateMinRttDatabase(path); !status.ok()) {
    std::fprintf(stderr, "min_rtts populate failed: %s\n", status.ToString().c_str());
    std::filesystem::remove_all(dir);
    return figures;
  }
  std::fprintf(stderr, "min_rtts: populated %d measurements in %.1f s (%.1f s CPU)\n",
               kMinRttDevices * kMinRttLandmarks * kMinRttRounds,
               absl::ToDoubleSeconds(absl::Now() - populate_start),
               CpuSeconds() - populate_cpu_start);
  PrintMinRttPlan(path);
  {
    auto store = OpenSqliteStore({path});
    if (store.ok()) {
      const absl::Time since = absl::FromUnixNanos(kMinRttBaseNs);
      const absl::Time start = absl::Now();
      const double cpu_start = CpuSeconds();
      auto rtts = (*store)->MinRtts(std::nullopt, since);
      const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
      std::fprintf(stderr, "min_rtts: one pass %.2f s wall, %.2f s CPU\n", seconds,
                   CpuSeconds() - cpu_start);
      const size_t pairs = static_cast<size_t>(kMinRttDevices) * kMinRttLandmarks;
      if (rtts.ok() && rtts->size() == pairs && rtts->front().count == kMinRttRounds) {
        figures.pass_seconds = seconds;
        figures.measurements_per_second = pairs * kMinRttRounds / seconds;
      } else {
        std::fprintf(stderr, "min_rtts failed: %s (%zu pairs)\n",
                     rtts.status().ToString().c_str(), rtts.ok() ? rtts->size() : 0);
      }
      constexpr int kOneDeviceCalls = 1'000;
      const absl::Time one_start = absl::Now();
      bool ok = true;
      for (int i = 0; i < kOneDeviceCalls; ++i) {
        auto one = (*store)->MinRtts(1 + (i * 97) % kMinRttDevices, since);
        ok = ok && one.ok() && one->size() == kMinRttLandmarks;
      }
      if (ok) {
        figures.one_device_us =
            absl::ToDoubleMicroseconds(absl::Now() - one_start) / kOneDeviceCalls;
      }
      // The verdict loop's write and the overview's read over the same fleet.
      std::vector<Verdict> verdicts(kMinRttDevices);
      for (int i = 0; i < kMinRttDevices; ++i) {
        verdicts[i].device_id = i + 1;
        verdicts[i].time = since;
        verdicts[i].status = VerdictStatus::kCompliant;
        verdicts[i].reason = "inside SIN-DC1";
        verdicts[i].region_summary_json = R"({"radius_km":310.2,"landmarks_used":6})";
      }
      const absl::Time append_start = absl::Now();
      absl::Status appended = (*store)->AppendVerdicts(verdicts);
      const double append_seconds = absl::ToDoubleSeconds(absl::Now() - append_start);
      if (appended.ok()) figures.append_verdicts_per_second = kMinRttDevices / append_seconds;
      const absl::Time latest_start = absl::Now();
      auto latest = (*store)->LatestVerdicts(std::nullopt);
      if (latest.ok() && latest->size() == static_cast<size_t>(kMinRttDevices)) {
        figures.latest_verdicts_ms =
            absl::ToDoubleMilliseconds(absl::Now() - latest_start);
      }
    }
  }
  std::filesystem::remove_all(dir);
  return figures;
}

// ---- Schema v4: health history and compliance over time.
constexpr int kTelemetryHostGpus = 8;
constexpr int kTelemetryPosts = 500;
constexpr int kHistoryDevices = 1'000;
constexpr int kHistoryHours = 24 * 7;

struct HistoryFigures {
  double record_telemetry_reports_per_second = 0;
  double licence_history_ms = 0;
  double licence_history_last_day_ms = 0;  // The last day of the same week.
};

HistoryFigures HistoryFigure() {
  HistoryFigures figures;
  const std::string dir = TempDir();
  {
    SqliteStoreOptions options;
    options.path = dir + "/store.db";
    auto opened = OpenSqliteStore(options);
    if (!opened.ok()) return figures;
    Store& store = **opened;
    Organization org;
    org.name = "bench";
    auto stored_org = store.CreateOrganization(org);
    if (!stored_org.ok()) return figures;
    Licence licence;
    licence.organization_id = stored_org->id;
    licence.reference = "EL-BENCH";
    licence.valid_until = absl::FromUnixSeconds(2'000'000'000);
    auto stored_licence = store.CreateLicence(licence);
    if (!stored_licence.ok()) return figures;
    std::vector<int64_t> ids;
    for (int i = 0; i < kHistoryDevices; ++i) {
      Device d;
      d.organization_id = stored_org->id;
      d.licence_id = stored_licence->id;
      d.uuid = absl::StrCat("GPU-bench-", i);
      auto created = store.CreateDevice(d);
      if (!created.ok()) return figures;
      ids.push_back(created->id);
    }
    // POST /telemetry of one host: 8 reports, one transaction.
    const absl::Time base = absl::FromUnixSeconds(1'790'000'000);
    const absl::Time telemetry_start = absl::Now();
    for (int post = 0; post < kTelemetryPosts; ++post) {
      std::vector<Telemetry> reports(kTelemetryHostGpus);
      for (int g = 0; g < kTelemetryHostGpus; ++g) {
        reports[g].device_id = ids[g];
        reports[g].time = base + absl::Minutes(5 * post);
        reports[g].temperature_c = 60 + g;
        reports[g].utilization_pct = 90;
      }
      if (!store.RecordTelemetry(reports, absl::Minutes(5)).ok()) return figures;
    }
    figures.record_telemetry_reports_per_second =
        kTelemetryPosts * kTelemetryHostGpus /
        absl::ToDoubleSeconds(absl::Now() - telemetry_start);
    // A verdict per GPU per hour over a week, then the week's rows of the licence.
    for (int hour = 0; hour < kHistoryHours; ++hour) {
      std::vector<Verdict> verdicts(kHistoryDevices);
      for (int i = 0; i < kHistoryDevices; ++i) {
        verdicts[i].device_id = ids[i];
        verdicts[i].time = base + absl::Hours(hour) + absl::Seconds(i);
        verdicts[i].status = (i + hour) % 50 == 0 ? VerdictStatus::kUnproven
                                                  : VerdictStatus::kCompliant;
        verdicts[i].licence_id = stored_licence->id;
      }
      if (!store.AppendVerdicts(verdicts).ok()) return figures;
    }
    // Streamed as the API reads it (rows counted, not kept).
    auto read = [&](absl::Time since, size_t* rows) {
      *rows = 0;
      return store.ReadLicenceVerdictHistory(stored_licence->id, since,
                                             base + absl::Hours(kHistoryHours),
                                             absl::InfiniteFuture(), [&](const VerdictPoint&) {
                                               ++*rows;
                                               return absl::OkStatus();
                                             });
    };
    size_t rows = 0;
    const absl::Time history_start = absl::Now();
    absl::Status week = read(base, &rows);
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - history_start);
    if (week.ok() && rows == static_cast<size_t>(kHistoryDevices) * kHistoryHours) {
      figures.licence_history_ms = ms;
    } else {
      std::fprintf(stderr, "licence history failed: %s (%zu rows)\n", week.ToString().c_str(),
                   rows);
    }
    const absl::Time day_start = absl::Now();
    absl::Status day = read(base + absl::Hours(kHistoryHours - 24), &rows);
    const double day_ms = absl::ToDoubleMilliseconds(absl::Now() - day_start);
    // 24 hours of verdicts per device plus its latest before the day.
    if (day.ok() && rows == static_cast<size_t>(kHistoryDevices) * 25) {
      figures.licence_history_last_day_ms = day_ms;
    } else {
      std::fprintf(stderr, "licence history (last day) failed: %s (%zu rows)\n",
                   day.ToString().c_str(), rows);
    }
  }
  std::filesystem::remove_all(dir);
  return figures;
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
  const lightcone::server::MinRttFigures min_rtts = lightcone::server::MinRttFigure();
  lightcone::bench::ReportFigure("store_sqlite_min_rtts_measurements_per_second",
                                 min_rtts.measurements_per_second, "measurements/s", true);
  lightcone::bench::ReportFigure("store_sqlite_min_rtts_pass_seconds", min_rtts.pass_seconds,
                                 "s", false);
  lightcone::bench::ReportFigure("store_sqlite_min_rtts_one_device_us", min_rtts.one_device_us,
                                 "us", false);
  lightcone::bench::ReportFigure("store_sqlite_append_verdicts_per_second",
                                 min_rtts.append_verdicts_per_second, "verdicts/s", true);
  lightcone::bench::ReportFigure("store_sqlite_latest_verdicts_100k_devices_ms",
                                 min_rtts.latest_verdicts_ms, "ms", false);
  const lightcone::server::HistoryFigures history = lightcone::server::HistoryFigure();
  lightcone::bench::ReportFigure("store_sqlite_record_telemetry_reports_per_second",
                                 history.record_telemetry_reports_per_second, "reports/s", true);
  lightcone::bench::ReportFigure("store_sqlite_licence_history_1k_gpus_7d_ms",
                                 history.licence_history_ms, "ms", false);
  lightcone::bench::ReportFigure("store_sqlite_licence_history_1k_gpus_1d_of_7d_ms",
                                 history.licence_history_last_day_ms, "ms", false);
  return 0;
}
