// `lightcone demo`: the whole simulated world on one machine (docs/demo.md).
//
//   lightcone demo seed --db sqlite:PATH [--gpus N] [--tokens-out FILE] [--scenario FILE]
//                       [--summary-out FILE] [--threads N]
//     Writes the scenario's world and episode straight into a fresh store (no processes),
//     with real signatures and fleet passes, so verdicts and alerts exist. Exit 0 when the
//     episode's alerts match the scenario, 1 when they do not, 2 on bad input.
//
//   lightcone demo [--duration SECONDS] [--speed X] [--scenario FILE] [--summary-out FILE]
//                  [--listen 127.0.0.1:8080] [--web-root DIR]
//     Plays the episode live on loopback (src/demo/runner.h).
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "demo/builtin_scenario.h"
#include "demo/latency_model.h"
#include "demo/scenario.h"
#include "demo/seeder.h"
#include "demo/world.h"
#include "nlohmann/json.hpp"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"
#if __has_include("demo/runner.h")
#include "demo/runner.h"
#define LIGHTCONE_DEMO_HAVE_RUNNER 1
#endif

namespace lightcone::cli {
namespace {

struct SeedArgs {
  std::string db;
  int gpus = 0;
  std::string tokens_out;
  std::string scenario;
  std::string summary_out;
  int threads = 2;
};

absl::StatusOr<demo::Scenario> LoadScenarioArg(const std::string& path) {
  if (path.empty()) {
    return demo::ParseScenario(demo::BuiltinScenarioText(), demo::kBuiltinScenarioName);
  }
  return demo::LoadScenario(path);
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

int Fail(const absl::Status& status, int code) {
  std::fprintf(stderr, "lightcone demo: %s\n", std::string(status.message()).c_str());
  return code;
}

int RunSeed(const SeedArgs& args) {
  absl::StatusOr<demo::Scenario> scenario = LoadScenarioArg(args.scenario);
  if (!scenario.ok()) return Fail(scenario.status(), 2);
  if (args.gpus != 0) {
    if (absl::Status st = demo::ScaleScenario(args.gpus, &*scenario); !st.ok()) return Fail(st, 2);
  }
  std::unique_ptr<server::Store> store;
  if (absl::StartsWith(args.db, "sqlite:") && args.db.size() > 7) {
    server::SqliteStoreOptions o;
    o.path = args.db.substr(7);
    // A seed is rebuilt, not recovered: skip the per-commit fsync (still safe against kill -9).
    o.synchronous_full = false;
    auto opened = server::OpenSqliteStore(o);
    if (!opened.ok()) return Fail(opened.status(), 2);
    store = std::move(*opened);
  } else if (absl::StartsWith(args.db, "postgres:") || absl::StartsWith(args.db, "postgresql:")) {
    server::PostgresStoreOptions o;
    o.conninfo = absl::StartsWith(args.db, "postgresql://") ? args.db
                                                             : args.db.substr(args.db.find(':') + 1);
    auto opened = server::OpenPostgresStore(o);
    if (!opened.ok()) return Fail(opened.status(), 2);
    store = std::move(*opened);
  } else {
    return Fail(absl::InvalidArgumentError("--db: expected sqlite:PATH or postgres:CONNINFO"), 2);
  }
  auto orgs = store->ListOrganizations();
  if (!orgs.ok()) return Fail(orgs.status(), 2);
  if (!orgs->empty()) {
    return Fail(absl::FailedPreconditionError("--db " + args.db +
                                              ": the store is not empty (seed a fresh database)"),
                2);
  }
  const absl::Time begin = absl::Now();
  absl::StatusOr<demo::World> world =
      demo::World::Build(*scenario, demo::LatencyModel::Default(scenario->seed));
  if (!world.ok()) return Fail(world.status(), 2);
  demo::SeedOptions options;
  options.threads = args.threads;
  absl::StatusOr<demo::SeedResult> result = demo::SeedStore(*store, *world, options);
  if (!result.ok()) return Fail(result.status(), 1);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - begin);
  if (!args.tokens_out.empty()) {
    if (absl::Status st = WriteFile(args.tokens_out, demo::TokensJson(result->tokens).dump(2) + "\n");
        !st.ok()) {
      return Fail(st, 2);
    }
  }
  if (!args.summary_out.empty()) {
    if (absl::Status st = WriteFile(args.summary_out, result->summary.dump(2) + "\n"); !st.ok()) {
      return Fail(st, 2);
    }
  }
  nlohmann::json line = {{"seeded", true},
                         {"db", args.db},
                         {"landmarks", result->landmarks},
                         {"hosts", result->hosts},
                         {"devices", result->devices},
                         {"measurements", result->measurements},
                         {"fleet_passes", result->fleet_passes},
                         {"seconds", seconds},
                         {"verdicts", result->summary["verdicts"]},
                         {"raised_by_type", result->summary["raised_by_type"]},
                         {"passed", result->summary["passed"]}};
  std::printf("%s\n", line.dump().c_str());
  return result->summary["passed"].get<bool>() ? 0 : 1;
}

}  // namespace

void AddDemoCommand(CLI::App& app, int* exit_code) {
  CLI::App* demo = app.add_subcommand("demo", "the whole simulated world on one machine (docs/demo.md)");
  auto seed_args = std::make_shared<SeedArgs>();
  CLI::App* seed = demo->add_subcommand("seed", "write the scenario's world and episode into a fresh store");
  seed->add_option("--db", seed_args->db, "sqlite:PATH or postgres:CONNINFO (a fresh store)")->required();
  seed->add_option("--gpus", seed_args->gpus, "scale the world to about this many GPUs");
  seed->add_option("--tokens-out", seed_args->tokens_out, "write the API tokens (JSON) here");
  seed->add_option("--scenario", seed_args->scenario, "scenario TOML (default: the built-in ghost-datacenter)");
  seed->add_option("--summary-out", seed_args->summary_out, "write the episode summary (JSON) here");
  seed->add_option("--threads", seed_args->threads, "signing and verdict threads")->capture_default_str();
  seed->callback([seed_args, exit_code] { *exit_code = RunSeed(*seed_args); });
#ifdef LIGHTCONE_DEMO_HAVE_RUNNER
  auto run_args = std::make_shared<demo::RunnerOptions>();
  demo->add_option("--duration", run_args->duration_s, "stop after this many seconds (0: at the episode's end + linger)");
  demo->add_option("--speed", run_args->speed, "scenario seconds per real second")->capture_default_str();
  demo->add_option("--scenario", run_args->scenario_path, "scenario TOML (default: built in)");
  demo->add_option("--summary-out", run_args->summary_out, "write the summary (JSON) here");
  demo->add_option("--listen", run_args->listen, "dashboard/API HOST:PORT (loopback only)")->capture_default_str();
  demo->add_option("--web-root", run_args->web_root, "the dashboard's built files (web/dist)");
  demo->add_option("--gpus", run_args->gpus, "scale the world to about this many GPUs");
  demo->add_option("--probe-interval-ms", run_args->probe_interval_ms, "landmark probe interval")
      ->capture_default_str();
  demo->add_option("--work-dir", run_args->work_dir, "keep the world's files here (default: a temporary directory)");
  demo->callback([demo, run_args, exit_code] {
    if (demo->get_subcommands().empty()) *exit_code = demo::RunDemo(*run_args);
  });
#else
  demo->callback([demo, exit_code] {
    if (demo->get_subcommands().empty()) {
      std::fprintf(stderr, "lightcone demo: the live runner is not built in; use `lightcone demo seed`\n");
      *exit_code = 2;
    }
  });
#endif
}

}  // namespace lightcone::cli
