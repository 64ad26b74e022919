// The store at scale (docs/store.md "Compliance history reads", "Migration cost"): databases
// generated inside the database (SQL, not through the Store API, to fit the runtime budget),
// then one timed operation each.
//
// Compliance history read (GET /licences/{id}/history): kScaleDevices GPUs under one licence
// with a verdict per GPU per hour for kScaleDays days (2.4M rows: more than the 2M rows the
// API refused before it streamed), read over the whole range in a child process each, so that
// the child's peak RSS (getrusage of the child) is the read's:
//   store_{sqlite,postgres}_licence_history_10k_gpus_10d_streamed_ms and _peak_rss_mb:
//     Store::ReadLicenceVerdictHistory into the API's sweep state (a map GPU -> latest
//     status and licence) - what the API does now;
//   store_{sqlite,postgres}_licence_history_10k_gpus_10d_materialized_peak_rss_mb:
//     ListLicenceVerdictHistory (every row in a vector) - what the API did before;
//   store_{sqlite,postgres}_open_store_peak_rss_mb: a child that opens the store and reads one
//     row (the baseline the two above add to).
//
// Schema v4 and v5 migrations (server start on a database of schema v3): N verdicts (of
// 10,000 devices, ~330 bytes each, as the fleet pass writes them) in a schema v3 database,
// then RunMigrationsUpTo(4) timed, then RunMigrationsUpTo(5) - how long the server start
// blocks: store_{sqlite,postgres}_migrate_v{4,5}_{1m,5m}_verdicts_s.
//
// Flags: --verdicts=N[,N...] (migration sizes, default 1000000,5000000), --no-postgres,
// --no-history, --no-migration, --history-db=PATH (SQLite history database: generated there
// unless PATH exists, and kept, for looking at it with sqlite3).
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/status_macros.h"
#include "figures.h"
#include "server/store/postgres_database.h"
#include "server/store/postgres_store.h"
#include "server/store/schema.h"
#include "server/store/sqlite_database.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/pg_test_server.h"

namespace lightcone::server {
namespace {

constexpr int kScaleDevices = 10'000;
constexpr int kScaleDays = 10;
constexpr int64_t kBaseNs = 1'790'000'000'000'000'000;
constexpr int64_t kHourNs = 3'600'000'000'000;
// A region summary of the size the fleet pass writes (verdict_engine.h).
constexpr char kRegionSummary[] =
    "{\"empty\":false,\"radius_km\":412.7,\"area_km2\":535122.4,\"landmarks_used\":14,"
    "\"robustness_f\":1,\"countries\":[\"SG\",\"MY\",\"ID\"],\"licensed_fraction\":0.973,"
    "\"nearest_landmark_km\":18.2,\"caps\":14}";

std::string TempDir() {
  std::string pattern = std::filesystem::temp_directory_path() / "lightcone-store-scale-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

// One organization, one licence (id 1, when `licence`), `devices` devices, and `verdicts`
// verdicts: device (i % devices) + 1 at base + (i / devices) hours (+ i ns), licence_id set
// when `licence` (schema v4) and absent otherwise (schema v3).
std::string GenerateSql(internal::SqlDialect dialect, int64_t devices, int64_t verdicts,
                        bool licence) {
  const bool pg = dialect == internal::SqlDialect::kPostgres;
  const std::string blob = pg ? "'\\x00'::bytea" : "zeroblob(32)";
  auto series = [&](const std::string& name, int64_t from, int64_t to) {
    return pg ? absl::StrCat("generate_series(", from, ", ", to, ") AS ", name, "(i)")
              : absl::StrCat("(WITH RECURSIVE s(i) AS (SELECT ", from,
                             " UNION ALL SELECT i + 1 FROM s WHERE i < ", to, ") SELECT i FROM s) ",
                             name);
  };
  std::string sql = absl::StrCat(
      "INSERT INTO organizations (id, name, created_at_ns) VALUES (1, 'bench', 0);",
      licence ? "INSERT INTO licences (id, organization_id, reference, holder, end_user, "
                "allowed_sites_json, allowed_countries_json, prohibited_regions_json, "
                "model_caps_json, valid_from_ns, valid_until_ns, reporting_cadence_s) VALUES "
                "(1, 1, 'EL-SCALE', 'bench', '', '[]', '[]', '[]', '[]', 0, "
                "4000000000000000000, 3600);"
              : "",
      "INSERT INTO devices (id, organization_id, uuid, serial, ueid, model, key_public_key, "
      "key_id, assurance_level, first_seen_ns, last_seen_ns",
      licence ? ", licence_id" : "", ") SELECT d.i, 1, 'GPU-' || d.i, '', '', 'H100', ", blob,
      ", 'kid', 0, 0, 0", licence ? ", 1" : "", " FROM ", series("d", 1, devices), ";",
      "INSERT INTO verdicts (device_id, time_ns, status, reason, region_summary_json, "
      "estimate_latitude_deg, estimate_longitude_deg, estimate_radius_km, robustness_f, "
      "assurance_level",
      licence ? ", licence_id" : "", ") SELECT v.i % ", devices, " + 1, ", kBaseNs, " + (v.i / ",
      devices, ") * ", kHourNs, " + v.i, CASE WHEN v.i % 37 = 0 THEN 'unproven' ELSE "
      "'compliant' END, 'every landmark cap intersects the licensed area', '", kRegionSummary,
      "', 1.29, 103.85, 412.7, 1, 0", licence ? ", 1" : "", " FROM ",
      series("v", 0, verdicts - 1), ";");
  if (pg) {
    // Identity columns: move the sequences past the explicit ids.
    absl::StrAppend(&sql,
                    "SELECT setval(pg_get_serial_sequence('organizations', 'id'), 1);"
                    "SELECT setval(pg_get_serial_sequence('devices', 'id'), ", devices, ");",
                    licence ? "SELECT setval(pg_get_serial_sequence('licences', 'id'), 1);" : "");
  }
  absl::StrAppend(&sql, "UPDATE devices SET latest_verdict_id = (SELECT MAX(v.id) FROM verdicts v "
                        "WHERE v.device_id = devices.id);");
  return sql;
}

// Generates into a fresh SQLite file at schema `version` (a throw-away bulk load: no journal,
// no fsync; the store reopens it in WAL mode with the server's settings).
absl::Status GenerateSqlite(const std::string& path, int version, int64_t devices,
                            int64_t verdicts) {
  internal::SqliteDatabaseOptions options;
  options.path = path;
  options.synchronous_full = false;
  LC_ASSIGN_OR_RETURN(auto db, internal::SqliteDatabase::Open(options));
  LC_RETURN_IF_ERROR(internal::RunMigrationsUpTo(*db, version));
  LC_RETURN_IF_ERROR(db->ExecScript(
      "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144"));
  LC_RETURN_IF_ERROR(db->Begin());
  LC_RETURN_IF_ERROR(db->ExecScript(
      GenerateSql(internal::SqlDialect::kSqlite, devices, verdicts, version >= 4)));
  LC_RETURN_IF_ERROR(db->ExecScript("COMMIT"));
  return db->ExecScript("PRAGMA journal_mode=WAL");
}

absl::Status GeneratePostgres(const std::string& conninfo, int version, int64_t devices,
                              int64_t verdicts) {
  LC_ASSIGN_OR_RETURN(auto db, internal::PostgresDatabase::Open(conninfo));
  LC_RETURN_IF_ERROR(internal::RunMigrationsUpTo(*db, version));
  LC_RETURN_IF_ERROR(db->Begin());
  LC_RETURN_IF_ERROR(db->ExecScript(
      GenerateSql(internal::SqlDialect::kPostgres, devices, verdicts, version >= 4)));
  LC_RETURN_IF_ERROR(db->ExecScript("COMMIT"));
  return db->ExecScript("VACUUM ANALYZE");
}

struct ChildResult {
  double ms = 0;
  double peak_rss_mb = 0;
  bool ok = false;
};

// Runs `work` (returning milliseconds, < 0 on failure) in a child process; its peak RSS.
ChildResult InChild(const std::function<double()>& work) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return {};
  if (pid == 0) {
    close(fds[0]);
    const double ms = work();
    (void)!write(fds[1], &ms, sizeof(ms));
    _exit(ms < 0 ? 1 : 0);
  }
  close(fds[1]);
  ChildResult result;
  double ms = -1;
  const bool got = read(fds[0], &ms, sizeof(ms)) == sizeof(ms);
  close(fds[0]);
  int status = 0;
  struct rusage usage {};
  if (wait4(pid, &status, 0, &usage) != pid) return {};
  result.ok = got && ms >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  result.ms = ms;
  result.peak_rss_mb = usage.ru_maxrss / 1024.0;  // KiB on Linux.
  return result;
}

struct HistoryFigures {
  ChildResult baseline, streamed, materialized;
};

HistoryFigures MeasureHistory(const std::function<absl::StatusOr<std::unique_ptr<Store>>()>& open,
                              const char* backend) {
  const absl::Time since = absl::FromUnixNanos(kBaseNs);
  const absl::Time until = since + absl::Hours(24 * kScaleDays);
  const size_t expected = static_cast<size_t>(kScaleDevices) * 24 * kScaleDays;
  HistoryFigures figures;
  figures.baseline = InChild([&]() -> double {
    auto store = open();
    if (!store.ok()) return -1;
    size_t rows = 0;
    absl::Status s = (*store)->ReadLicenceVerdictHistory(
        1, since, since + absl::Minutes(1), absl::InfiniteFuture(), [&](const VerdictPoint&) {
          ++rows;
          return absl::OkStatus();
        });
    return s.ok() ? 0 : -1;
  });
  figures.streamed = InChild([&]() -> double {
    auto store = open();
    if (!store.ok()) return -1;
    // The API's sweep state: each GPU's latest status and licence.
    struct State {
      VerdictStatus status;
      int64_t licence_id;
    };
    std::unordered_map<int64_t, State> latest;
    size_t rows = 0;
    const absl::Time start = absl::Now();
    absl::Status s = (*store)->ReadLicenceVerdictHistory(
        1, since, until, absl::InfiniteFuture(), [&](const VerdictPoint& p) {
          latest[p.device_id] = State{p.status, p.licence_id};
          ++rows;
          return absl::OkStatus();
        });
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (!s.ok() || rows != expected || latest.size() != kScaleDevices) {
      std::fprintf(stderr, "%s streamed history: %s, %zu rows\n", backend, s.ToString().c_str(),
                   rows);
      return -1;
    }
    return ms;
  });
  figures.materialized = InChild([&]() -> double {
    auto store = open();
    if (!store.ok()) return -1;
    const absl::Time start = absl::Now();
    auto rows = (*store)->ListLicenceVerdictHistory(1, since, until, INT64_MAX);
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (!rows.ok() || rows->size() != expected) {
      std::fprintf(stderr, "%s materialized history: %s\n", backend,
                   rows.status().ToString().c_str());
      return -1;
    }
    return ms;
  });
  return figures;
}

void ReportHistory(const std::string& backend, const HistoryFigures& f) {
  const std::string prefix = absl::StrCat("store_", backend, "_licence_history_10k_gpus_10d_");
  bench::ReportFigure(prefix + "streamed_ms", f.streamed.ok ? f.streamed.ms : 0, "ms", false);
  bench::ReportFigure(prefix + "streamed_peak_rss_mb", f.streamed.ok ? f.streamed.peak_rss_mb : 0,
                      "MB", false);
  bench::ReportFigure(prefix + "materialized_ms", f.materialized.ok ? f.materialized.ms : 0, "ms",
                      false);
  bench::ReportFigure(prefix + "materialized_peak_rss_mb",
                      f.materialized.ok ? f.materialized.peak_rss_mb : 0, "MB", false);
  bench::ReportFigure(absl::StrCat("store_", backend, "_open_store_peak_rss_mb"),
                      f.baseline.ok ? f.baseline.peak_rss_mb : 0, "MB", false);
}

std::string MigrationFigureName(const std::string& backend, int version, int64_t verdicts) {
  const std::string size = verdicts % 1'000'000 == 0 ? absl::StrCat(verdicts / 1'000'000, "m")
                                                     : absl::StrCat(verdicts);
  return absl::StrCat("store_", backend, "_migrate_v", version, "_", size, "_verdicts_s");
}

// Seconds RunMigrationsUpTo(version) takes on `db`; 0 on failure.
double TimeMigration(internal::SqlDatabase& db, int version, const std::string& what) {
  const absl::Time start = absl::Now();
  absl::Status s = internal::RunMigrationsUpTo(db, version);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!s.ok()) {
    std::fprintf(stderr, "%s: migration failed: %s\n", what.c_str(), s.ToString().c_str());
    return 0;
  }
  return seconds;
}

}  // namespace
}  // namespace lightcone::server

int main(int argc, char** argv) {
  using namespace lightcone::server;  // NOLINT: a benchmark's main.
  std::vector<int64_t> sizes = {1'000'000, 5'000'000};
  bool postgres = true, history = true, migration = true;
  std::string history_db;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--verdicts=", 0) == 0) {
      sizes.clear();
      for (absl::string_view n : absl::StrSplit(arg.substr(11), ',')) {
        int64_t v = 0;
        if (!absl::SimpleAtoi(n, &v) || v <= 0) {
          std::fprintf(stderr, "bad --verdicts: %s\n", arg.c_str());
          return 2;
        }
        sizes.push_back(v);
      }
    } else if (arg.rfind("--history-db=", 0) == 0) {
      history_db = arg.substr(13);
    } else if (arg == "--no-postgres") {
      postgres = false;
    } else if (arg == "--no-history") {
      history = false;
    } else if (arg == "--no-migration") {
      migration = false;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", arg.c_str());
      return 2;
    }
  }
  const std::string dir = TempDir();
  const int64_t history_rows = int64_t{kScaleDevices} * 24 * kScaleDays;

  if (history) {
    const std::string path = history_db.empty() ? dir + "/history.db" : history_db;
    absl::Status s = absl::OkStatus();
    if (!std::filesystem::exists(path)) {
      const absl::Time start = absl::Now();
      s = GenerateSqlite(path, internal::LatestSchemaVersion(), kScaleDevices, history_rows);
      std::fprintf(stderr, "sqlite: generated %lld verdicts in %.1f s\n",
                   static_cast<long long>(history_rows),
                   absl::ToDoubleSeconds(absl::Now() - start));
    }
    if (s.ok()) {
      ReportHistory("sqlite", MeasureHistory([&] {
                      SqliteStoreOptions options;
                      options.path = path;
                      return OpenSqliteStore(options);
                    }, "sqlite"));
    } else {
      std::fprintf(stderr, "sqlite: generating: %s\n", s.ToString().c_str());
    }
    if (history_db.empty()) std::filesystem::remove(path);
  }
  if (migration) {
    for (const int64_t n : sizes) {
      const std::string path = absl::StrCat(dir, "/v3-", n, ".db");
      absl::Status s = GenerateSqlite(path, 3, kScaleDevices, n);
      double v4 = 0, v5 = 0;
      if (s.ok()) {
        internal::SqliteDatabaseOptions options;  // The server's: WAL, synchronous=FULL.
        options.path = path;
        auto db = internal::SqliteDatabase::Open(options);
        if (db.ok()) v4 = TimeMigration(**db, 4, path);
        if (db.ok() && v4 > 0) v5 = TimeMigration(**db, 5, path);
      } else {
        std::fprintf(stderr, "sqlite v3 %lld: %s\n", static_cast<long long>(n),
                     s.ToString().c_str());
      }
      lightcone::bench::ReportFigure(MigrationFigureName("sqlite", 4, n), v4, "s", false);
      lightcone::bench::ReportFigure(MigrationFigureName("sqlite", 5, n), v5, "s", false);
      std::filesystem::remove(path);
      std::filesystem::remove(path + "-wal");
      std::filesystem::remove(path + "-shm");
    }
  }
  if (postgres) {
    testing::PgTestServerOptions pg_options;
    pg_options.fsync = true;  // As in production.
    auto pg = testing::PgTestServer::Start(pg_options);
    if (!pg.ok()) {
      std::fprintf(stderr, "postgres: %s\n", pg.status().ToString().c_str());
    } else {
      if (history) {
        auto conninfo = (*pg)->CreateDatabase();
        absl::Status s = conninfo.status();
        if (s.ok()) {
          s = GeneratePostgres(*conninfo, internal::LatestSchemaVersion(), kScaleDevices,
                               history_rows);
        }
        if (s.ok()) {
          ReportHistory("postgres", MeasureHistory([&] {
                          PostgresStoreOptions options;
                          options.conninfo = *conninfo;
                          return OpenPostgresStore(options);
                        }, "postgres"));
        } else {
          std::fprintf(stderr, "postgres history: %s\n", s.ToString().c_str());
        }
      }
      if (migration) {
        for (const int64_t n : sizes) {
          auto conninfo = (*pg)->CreateDatabase();
          double v4 = 0, v5 = 0;
          absl::Status s = conninfo.status();
          if (s.ok()) s = GeneratePostgres(*conninfo, 3, kScaleDevices, n);
          if (s.ok()) {
            auto db = internal::PostgresDatabase::Open(*conninfo);
            if (db.ok()) v4 = TimeMigration(**db, 4, "postgres");
            if (db.ok() && v4 > 0) v5 = TimeMigration(**db, 5, "postgres");
          } else {
            std::fprintf(stderr, "postgres v3 %lld: %s\n", static_cast<long long>(n),
                         s.ToString().c_str());
          }
          lightcone::bench::ReportFigure(MigrationFigureName("postgres", 4, n), v4, "s", false);
          lightcone::bench::ReportFigure(MigrationFigureName("postgres", 5, n), v5, "s", false);
        }
      }
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
