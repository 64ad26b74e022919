// `lightcone server`: the fleet server (docs/api.md).
//
//   lightcone server --db sqlite:PATH|postgres:CONNINFO --listen 127.0.0.1:8080
//       [--tls-cert FILE --tls-key FILE] [--web-root DIR] [--admin-token-file FILE]
//       serves /api/v1 and the dashboard until SIGINT/SIGTERM. On first start (no token in
//       the store) it creates an admin token and writes it to --admin-token-file (mode 0600)
//       or prints it.
//   lightcone server token create --db .. --name NAME --role ROLE [--organization ID]
//       [--landmark ID]
//       creates a token directly in the store (bootstrap) and prints {"id",...,"token"}.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "cli/commands.h"
#include "core/logging.h"
#include "nlohmann/json.hpp"
#include "server/api/server.h"
#if __has_include("server/fleet/fleet_monitor.h") && __has_include("server/fleet/region_view.h")
#define LIGHTCONE_SERVER_HAVE_FLEET 1
#include "server/fleet/fleet_monitor.h"
#include "server/fleet/licence_geometry.h"
#include "server/fleet/region_view.h"
#endif

namespace lightcone::cli {
namespace {

std::atomic<bool> g_server_stop{false};
void OnServerSignal(int) { g_server_stop.store(true); }

struct ServerArgs {
  std::string db;
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert;
  std::string tls_key;
  std::string web_root;
  std::string admin_token_file;
  std::string port_file;
  std::string attestation_root;
  int http_threads = 8;
  int verify_threads = server::kDefaultVerifyThreads;
  std::string log_level = "info";
  bool fleet = true;  // run the verdict/detector loop and the region view
  double fleet_period_s = 60;
  // Health history (docs/api.md "Health history").
  int64_t telemetry_sample_interval_s =
      absl::ToInt64Seconds(server::kDefaultTelemetrySampleInterval);
  int64_t telemetry_retention_days = 30;
  // GET /licences/{id}/history (docs/api.md "Compliance over time").
  int64_t licence_history_time_limit_s =
      absl::ToInt64Seconds(server::kDefaultLicenceHistoryTimeLimit);
};

// Writes `text` to a new file readable by its owner only.
bool WritePrivateFile(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

int RunServer(const ServerArgs& a) {
  SetLogLevel(a.log_level);
  auto log = Logger("server");
  server::ServerOptions options;
  options.db = a.db;
  options.listen = a.listen;
  options.tls_cert_path = a.tls_cert;
  options.tls_key_path = a.tls_key;
  options.web_root = a.web_root;
  options.http_threads = a.http_threads;
  options.verify_threads = a.verify_threads;
  options.telemetry_sample_interval = absl::Seconds(a.telemetry_sample_interval_s);
  options.licence_history_time_limit = absl::Seconds(a.licence_history_time_limit_s);
  if (!a.attestation_root.empty()) {
    std::ifstream in(a.attestation_root);
    if (!in) {
      log->error("--attestation-root {}: cannot read", a.attestation_root);
      return 2;
    }
    options.attestation_roots_pem.assign(std::istreambuf_iterator<char>(in),
                                         std::istreambuf_iterator<char>());
  }
  absl::StatusOr<std::unique_ptr<server::Server>> srv = server::Server::Create(options);
  if (!srv.ok()) {
    log->error("{}", srv.status().ToString());
    return srv.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  absl::StatusOr<std::string> admin = server::BootstrapAdminToken((*srv)->store());
  if (!admin.ok()) {
    log->error("creating the first admin token: {}", admin.status().ToString());
    return 1;
  }
  if (!admin->empty()) {
    if (!a.admin_token_file.empty()) {
      if (!WritePrivateFile(a.admin_token_file, *admin + "\n")) {
        log->error("--admin-token-file {}: cannot write", a.admin_token_file);
        return 1;
      }
      log->info("first start: admin token written to {}", a.admin_token_file);
    } else {
      std::printf("admin token (shown once): %s\n", admin->c_str());
      std::fflush(stdout);
    }
  }
#ifdef LIGHTCONE_SERVER_HAVE_FLEET
  // The fleet analysis (src/server/fleet): the verdict + detector loop over the same store,
  // and the region view behind GET /devices/{id}/region.
  std::unique_ptr<server::fleet::FleetMonitor> monitor;
  if (a.fleet) {
    server::fleet::FleetMonitorOptions fleet_options;
    fleet_options.period = absl::Seconds(a.fleet_period_s);
    fleet_options.telemetry_retention = absl::Hours(24) * a.telemetry_retention_days;
    auto countries = server::fleet::CountryAreaCache::LoadDefault();
    std::shared_ptr<server::Store> store = (*srv)->shared_store();
    monitor = std::make_unique<server::fleet::FleetMonitor>(store.get(), fleet_options, countries);
    server::fleet::RegionViewOptions region_options;
    region_options.verdict = fleet_options.verdict;
    (*srv)->SetRegionProvider([store, region_options](int64_t device_id) {
      return server::fleet::RegionViewJson(*store, device_id, absl::Now(), region_options);
    });
  }
#endif
  struct sigaction sa {};
  sa.sa_handler = OnServerSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  absl::Status started = (*srv)->Start();
  if (!started.ok()) {
    log->error("{}", started.ToString());
    return 1;
  }
  if (!a.port_file.empty()) {
    const std::string tmp = a.port_file + ".tmp";
    if (!WritePrivateFile(tmp, std::to_string((*srv)->port()) + "\n") ||
        ::rename(tmp.c_str(), a.port_file.c_str()) != 0) {
      log->error("--port-file {}: cannot write", a.port_file);
      return 1;
    }
  }
#ifdef LIGHTCONE_SERVER_HAVE_FLEET
  if (monitor) monitor->Start();
#endif
  while (!g_server_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  log->info("stopping");
  (*srv)->Stop();
#ifdef LIGHTCONE_SERVER_HAVE_FLEET
  if (monitor) monitor->Stop();
#endif
  return 0;
}

struct TokenArgs {
  std::string db;
  std::string name;
  std::string role;
  int64_t organization_id = 0;
  int64_t landmark_id = 0;
};

int RunTokenCreate(const TokenArgs& a) {
  auto log = Logger("server");
  absl::StatusOr<server::Role> role = server::ParseRole(a.role);
  if (!role.ok()) {
    log->error("--role {}: expected agent, landmark, operator, auditor or admin", a.role);
    return 2;
  }
  absl::StatusOr<std::shared_ptr<server::Store>> store = server::OpenStoreFromUrl(a.db);
  if (!store.ok()) {
    log->error("{}", store.status().ToString());
    return 2;
  }
  server::ApiToken token;
  token.name = a.name;
  token.role = *role;
  token.organization_id = a.organization_id;
  token.landmark_id = a.landmark_id;
  auto created = server::CreateApiToken(**store, token);
  if (!created.ok()) {
    log->error("{}", created.status().ToString());
    return created.status().code() == absl::StatusCode::kInvalidArgument ||
                   created.status().code() == absl::StatusCode::kAlreadyExists
               ? 2
               : 1;
  }
  nlohmann::json out = {{"id", created->first.id},
                        {"name", created->first.name},
                        {"role", server::RoleName(created->first.role)},
                        {"organization_id", created->first.organization_id},
                        {"landmark_id", created->first.landmark_id},
                        {"token", created->second}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

void AddServerCommand(CLI::App& app, int* exit_code) {
  auto* server = app.add_subcommand("server", "the fleet server: /api/v1 and the dashboard");
  auto args = std::make_shared<ServerArgs>();
  server->add_option("--db", args->db, "sqlite:PATH or postgres:CONNINFO");
  server->add_option("--listen", args->listen, "HOST:PORT (port 0 = any)")->capture_default_str();
  server->add_option("--tls-cert", args->tls_cert, "PEM certificate (HTTPS)");
  server->add_option("--tls-key", args->tls_key, "PEM private key (HTTPS)");
  server->add_option("--web-root", args->web_root, "directory of the dashboard's built files");
  server->add_option("--admin-token-file", args->admin_token_file,
                     "first start: write the admin token here (mode 0600) instead of stdout");
  server->add_option("--port-file", args->port_file, "write the bound port here once listening");
  server->add_option("--attestation-root", args->attestation_root,
                     "PEM root for L1 evidence instead of the pinned NVIDIA root (tests, demo)");
  server->add_option("--http-threads", args->http_threads, "HTTP worker threads")
      ->capture_default_str();
  server->add_option("--verify-threads", args->verify_threads,
                     "threads sharing one batch's signature checks")
      ->capture_default_str();
  server->add_option("--log-level", args->log_level, "debug, info, warn, error")
      ->capture_default_str();
  server->add_flag("!--no-fleet", args->fleet,
                   "do not run the verdict/detector loop nor the region view");
  server->add_option("--fleet-period-s", args->fleet_period_s,
                     "seconds between verdict/detector passes")
      ->capture_default_str();
  server->add_option("--telemetry-sample-interval-s", args->telemetry_sample_interval_s,
                     "keep a telemetry report in the health history when the device's previous "
                     "sample is this old (XID/ECC changes are always kept)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  server->add_option("--telemetry-retention-days", args->telemetry_retention_days,
                     "the fleet pass deletes health history samples older than this "
                     "(0 = keep all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  server->add_option("--licence-history-time-limit-s", args->licence_history_time_limit_s,
                     "a compliance history read (GET /licences/{id}/history) taking longer "
                     "answers 503")
      ->check(CLI::Range(int64_t{1}, int64_t{3600}))
      ->capture_default_str();

  auto* token = server->add_subcommand("token", "API tokens, directly in the store");
  auto* create = token->add_subcommand("create", "create a token and print its secret once");
  auto targs = std::make_shared<TokenArgs>();
  create->add_option("--db", targs->db, "sqlite:PATH or postgres:CONNINFO")->required();
  create->add_option("--name", targs->name, "unique token name")->required();
  create->add_option("--role", targs->role, "agent, landmark, operator, auditor, admin")->required();
  create->add_option("--organization", targs->organization_id, "organization id (agent, operator)");
  create->add_option("--landmark", targs->landmark_id, "landmark id (landmark)");
  token->require_subcommand(1);
  create->callback([targs, exit_code] { *exit_code = RunTokenCreate(*targs); });

  server->callback([server, token, args, exit_code] {
    if (token->parsed()) return;
    if (args->db.empty()) {
      Logger("server")->error("--db is required (sqlite:PATH or postgres:CONNINFO)");
      *exit_code = 2;
      return;
    }
    *exit_code = RunServer(*args);
  });
}

}  // namespace lightcone::cli
