// `lightcone landmark`: the landmark prober.
//
//   lightcone landmark probe --to HOST:PORT --device ID --pubkey KEY [--count N] ...
//       one-shot, like ping: prints each RTT, then min/median/max and every rejection.
//   lightcone landmark run --config landmark.toml [--server URL --token TOKEN]
//       the daemon: probes all targets, writes signed measurement batches (JSON lines);
//       with a fleet server it also follows the server's target list and submits every
//       batch through a durable spool (src/landmark/server_client.h).
//   lightcone landmark keygen --out FILE
//       creates the landmark's Ed25519 key file (mode 0600) and prints its public key.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "core/crypto.h"
#include "core/logging.h"
#include "core/wire.h"
#include "landmark/config.h"
#include "landmark/batch_spool.h"
#include "landmark/prober.h"
#include "landmark/server_client.h"
#include "landmark/service.h"
#include "nlohmann/json.hpp"
#include "core/clock.h"

namespace lightcone::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

nlohmann::json StatsJson(const landmark::ProberStats& s) {
  nlohmann::json rejected = nlohmann::json::object();
  for (size_t i = 0; i < landmark::kNumRejectReasons; ++i) {
    rejected[landmark::RejectReasonName(static_cast<landmark::RejectReason>(i))] = s.rejected[i];
  }
  for (size_t i = 1; i < wire::kNumDecodeErrors; ++i) {
    rejected[wire::DecodeErrorName(static_cast<wire::DecodeError>(i))] = s.decode_rejected[i];
  }
  return {{"sent", s.sent},
          {"accepted", s.accepted},
          {"timeouts", s.timeouts},
          {"send_errors", s.send_errors},
          {"rejected_total", s.rejected_total()},
          {"rejected", rejected},
          {"tx_kernel_timestamps", s.tx_kernel_timestamps},
          {"tx_user_timestamps", s.tx_user_timestamps},
          {"rx_user_timestamps", s.rx_user_timestamps}};
}

struct ProbeArgs {
  std::string to;
  std::string device;
  std::vector<std::string> pubkeys;
  std::vector<std::string> other_pubkeys;
  std::string landmark_id;
  std::string listen = "0.0.0.0:0";
  int count = 5;
  int interval_ms = 1000;
  int timeout_ms = 1000;
  int linger_ms = 0;
  std::string tx_timestamp = "kernel";
  bool json = false;
};

int RunProbe(const ProbeArgs& a) {
  auto log = Logger("landmark");
  auto device = wire::ParseId(a.device);
  if (!device.ok()) {
    log->error("--device: {}", device.status().ToString());
    return 2;
  }
  auto endpoint = wire::ResolveEndpoint(a.to);
  if (!endpoint.ok()) {
    log->error("--to: {}", endpoint.status().ToString());
    return 2;
  }
  landmark::ProbeTarget target;
  target.device_id = *device;
  target.endpoint = *endpoint;
  for (const std::string& k : a.pubkeys) {
    auto key = crypto::ParsePublicKey(k);
    if (!key.ok()) {
      log->error("--pubkey: {}", key.status().ToString());
      return 2;
    }
    target.public_keys.push_back(*key);
  }
  std::vector<landmark::ProbeTarget> targets = {target};
  // Keys known to belong to other devices: never probed, they let the prober name a reply
  // signed by another device's key (other_device_key) instead of an unknown key.
  for (const std::string& k : a.other_pubkeys) {
    auto key = crypto::ParsePublicKey(k);
    if (!key.ok()) {
      log->error("--other-pubkey: {}", key.status().ToString());
      return 2;
    }
    landmark::ProbeTarget other;
    other.public_keys.push_back(*key);
    targets.push_back(other);
  }
  landmark::Prober::Options options;
  if (a.landmark_id.empty()) {
    crypto::RandomBytes(options.landmark_id);
  } else {
    auto id = wire::ParseId(a.landmark_id);
    if (!id.ok()) {
      log->error("--landmark-id: {}", id.status().ToString());
      return 2;
    }
    options.landmark_id = *id;
  }
  if (a.tx_timestamp != "kernel" && a.tx_timestamp != "user") {
    log->error("--tx-timestamp must be kernel or user");
    return 2;
  }
  options.tx_timestamp = a.tx_timestamp == "kernel" ? landmark::Prober::TxTimestamp::kKernel
                                                    : landmark::Prober::TxTimestamp::kUserspace;
  options.listen = a.listen;
  options.timeout = std::chrono::milliseconds(a.timeout_ms);
  auto prober = landmark::Prober::Create(options, std::move(targets));
  if (!prober.ok()) {
    log->error("{}", prober.status().ToString());
    return prober.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  InstallSignalHandlers();
  if (!a.json) {
    std::printf("PROBE %s device %s from %s (landmark %s)\n", wire::FormatEndpoint(*endpoint).c_str(),
                wire::FormatId(*device).c_str(),
                wire::FormatEndpoint((*prober)->local_endpoint()).c_str(),
                wire::FormatId(options.landmark_id).c_str());
    std::fflush(stdout);
  }
  std::vector<int64_t> rtts;
  auto on_result = [&](const landmark::ProbeResult& r) {
    rtts.push_back(r.rtt_ns);
    if (!a.json) {
      std::printf("seq=%llu rtt=%.3f ms\n", static_cast<unsigned long long>(r.sequence),
                  static_cast<double>(r.rtt_ns) / 1e6);
      std::fflush(stdout);
    }
  };
  const int64_t interval_ns = int64_t{a.interval_ms} * 1'000'000;
  int64_t next = MonotonicNs();
  for (int i = 0; i < a.count && !g_stop.load(); ++i) {
    if (auto s = (*prober)->Probe(0); !s.ok()) log->warn("{}", s.ToString());
    next += interval_ns;
    while (!g_stop.load()) {
      int64_t wait = next - MonotonicNs();
      if (i + 1 == a.count || wait <= 0) break;
      (*prober)->Poll(std::chrono::nanoseconds(wait), on_result);
    }
  }
  // Wait for the replies in flight, then linger to see (and count) any duplicates.
  int64_t give_up = MonotonicNs() + int64_t{a.timeout_ms} * 1'000'000 + 1'000'000;
  while (!g_stop.load() && (*prober)->outstanding() > 0 && MonotonicNs() < give_up) {
    (*prober)->Poll(std::chrono::milliseconds(5), on_result);
  }
  int64_t linger_until = MonotonicNs() + int64_t{a.linger_ms} * 1'000'000;
  while (!g_stop.load() && MonotonicNs() < linger_until) {
    (*prober)->Poll(std::chrono::nanoseconds(linger_until - MonotonicNs()), on_result);
  }
  (*prober)->Poll(std::chrono::nanoseconds(0), on_result);

  const landmark::ProberStats& s = (*prober)->stats();
  std::vector<int64_t> sorted = rtts;
  std::sort(sorted.begin(), sorted.end());
  if (a.json) {
    nlohmann::json out = StatsJson(s);
    out["event"] = "probe_summary";
    out["rtt_ns"] = rtts;
    if (!sorted.empty()) {
      out["min_rtt_ns"] = sorted.front();
      out["median_rtt_ns"] = sorted[sorted.size() / 2];
      out["max_rtt_ns"] = sorted.back();
    }
    out["kernel_tx_timestamps"] = (*prober)->kernel_tx_timestamps();
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("--- %s probe statistics ---\n", wire::FormatEndpoint(*endpoint).c_str());
    std::printf("%llu sent, %llu accepted, %llu timeouts, %llu rejected\n",
                static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.accepted),
                static_cast<unsigned long long>(s.timeouts),
                static_cast<unsigned long long>(s.rejected_total()));
    for (size_t i = 0; i < landmark::kNumRejectReasons; ++i) {
      if (s.rejected[i] == 0) continue;
      std::printf("  rejected %s: %llu\n", landmark::RejectReasonName(static_cast<landmark::RejectReason>(i)),
                  static_cast<unsigned long long>(s.rejected[i]));
    }
    for (size_t i = 1; i < wire::kNumDecodeErrors; ++i) {
      if (s.decode_rejected[i] == 0) continue;
      std::printf("  rejected %s: %llu\n", wire::DecodeErrorName(static_cast<wire::DecodeError>(i)),
                  static_cast<unsigned long long>(s.decode_rejected[i]));
    }
    if (!sorted.empty()) {
      std::printf("rtt min/median/max = %.3f/%.3f/%.3f ms\n", sorted.front() / 1e6,
                  sorted[sorted.size() / 2] / 1e6, sorted.back() / 1e6);
    }
  }
  std::fflush(stdout);
  return s.accepted > 0 ? 0 : 1;
}

// Command-line overrides of the config's [server] section.
struct ServerFlags {
  std::string url;
  std::string token;
  std::string token_file;
  std::string ca_file;
  std::string state_dir;
  int64_t landmark_id = 0;
};

// How long a stopping landmark waits for the server to take its last batches (they stay in
// the spool otherwise, and are sent at the next start).
constexpr std::chrono::seconds kShutdownFlushTimeout{5};

int RunDaemon(const std::string& config_path, const ServerFlags& flags) {
  auto log = Logger("landmark");
  auto config = landmark::LoadLandmarkConfig(config_path);
  if (!config.ok()) {
    log->error("{}", config.status().ToString());
    return 2;
  }
  landmark::LandmarkServerConfig& sc = config->server;
  if (!flags.url.empty()) sc.url = flags.url;
  if (!flags.token.empty()) {
    sc.token = flags.token;
    sc.token_file.clear();
  }
  if (!flags.token_file.empty()) {
    sc.token_file = flags.token_file;
    sc.token.clear();
  }
  if (!flags.ca_file.empty()) sc.ca_file = flags.ca_file;
  if (!flags.state_dir.empty()) sc.state_dir = flags.state_dir;
  if (flags.landmark_id > 0) sc.landmark_id = flags.landmark_id;
  if (auto s = landmark::ValidateLandmarkConfig(*config, config_path); !s.ok()) {
    log->error("{}", s.ToString());
    return 2;
  }
  if (config->key_file.empty()) {
    log->error("{}: key_file missing (create one with `lightcone landmark keygen`)", config_path);
    return 2;
  }
  auto key = landmark::LoadLandmarkKey(config->key_file);
  if (!key.ok()) {
    log->error("{}", key.status().ToString());
    return 2;
  }
  std::FILE* out = stdout;
  if (config->output != "-") {
    out = std::fopen(config->output.c_str(), "a");
    if (out == nullptr) {
      log->error("{}: cannot open the output file", config->output);
      return 2;
    }
  }
  std::unique_ptr<landmark::BatchSpool> spool;
  std::unique_ptr<landmark::LandmarkServerClient> server;
  if (!sc.url.empty()) {
    landmark::LandmarkServerClient::Options options;
    options.api.url = sc.url;
    options.api.token = sc.token;
    options.api.ca_file = sc.ca_file;
    if (!sc.token_file.empty()) {
      auto token = api::ReadTokenFile(sc.token_file);
      if (!token.ok()) {
        log->error("{}", token.status().ToString());
        return 2;
      }
      options.api.token = *token;
    }
    options.landmark_id = sc.landmark_id;
    options.targets_poll_interval = sc.targets_poll_interval;
    options.expected_wire_id_hex = crypto::HexEncode(config->id);
    options.expected_public_key_hex = crypto::HexEncode(key->public_key());
    auto opened = landmark::BatchSpool::Open(sc.state_dir);
    if (!opened.ok()) {
      log->error("{}", opened.status().ToString());
      return 1;
    }
    spool = *std::move(opened);
    auto client = landmark::LandmarkServerClient::Create(options, spool.get());
    if (!client.ok()) {
      log->error("{}", client.status().ToString());
      return 2;
    }
    server = *std::move(client);
  }
  auto service = landmark::LandmarkService::Create(*config, *std::move(key), out,
                                                   {spool.get(), server.get()});
  if (!service.ok()) {
    log->error("{}", service.status().ToString());
    return 1;
  }
  InstallSignalHandlers();
  if (server) server->Start();
  (*service)->Run(g_stop);
  nlohmann::json stats = StatsJson((*service)->prober().stats());
  stats["event"] = "landmark_stats";
  stats["batches"] = (*service)->batches_written();
  if (server) {
    server->NotifyBatch();
    bool flushed = server->WaitUntilFlushed(kShutdownFlushTimeout);
    server->Stop();
    landmark::ServerClientStats ss = server->stats();
    stats["server"] = {{"batches_acked", ss.batches_acked},
                       {"batches_rejected", ss.batches_rejected},
                       {"batches_pending", spool->pending()},
                       {"upload_failures", ss.upload_failures},
                       {"target_updates", ss.target_updates},
                       {"targets_version", ss.targets_version},
                       {"records_dropped_stale_key", (*service)->records_dropped_stale_key()}};
    if (!flushed) {
      log->warn("{} batch(es) not yet acknowledged stay in {} for the next start",
                spool->pending(), sc.state_dir);
    }
  }
  log->info("stopped: {}", stats.dump());
  if (out != stdout) std::fclose(out);
  return 0;
}

}  // namespace

void AddLandmarkCommand(CLI::App& app, int* exit_code) {
  auto* landmark = app.add_subcommand("landmark", "landmark prober: timed, signed challenges");
  landmark->require_subcommand(1);

  auto* probe = landmark->add_subcommand("probe", "probe one device, like ping");
  auto args = std::make_shared<ProbeArgs>();
  probe->add_option("--to", args->to, "the agent's HOST:PORT")->required();
  probe->add_option("--device", args->device, "device id (UUID)")->required();
  probe->add_option("--pubkey", args->pubkeys, "the device's public key (hex); repeatable")->required();
  probe->add_option("--other-pubkey", args->other_pubkeys,
                    "public key of another device (to name replies it signs); repeatable");
  probe->add_option("--count", args->count, "challenges to send")->capture_default_str();
  probe->add_option("--interval-ms", args->interval_ms, "between challenges")->capture_default_str();
  probe->add_option("--timeout-ms", args->timeout_ms, "a reply later than this is rejected")
      ->capture_default_str();
  probe->add_option("--linger-ms", args->linger_ms, "keep listening after the last reply")
      ->capture_default_str();
  probe->add_option("--landmark-id", args->landmark_id, "landmark id to sign for (default random)");
  probe->add_option("--listen", args->listen, "local HOST:PORT")->capture_default_str();
  probe->add_option("--tx-timestamp", args->tx_timestamp, "kernel or user")->capture_default_str();
  probe->add_flag("--json", args->json, "print one JSON summary line instead");
  probe->callback([args, exit_code] { *exit_code = RunProbe(*args); });

  auto* run = landmark->add_subcommand("run", "run the landmark daemon");
  auto config_path = std::make_shared<std::string>();
  auto server_flags = std::make_shared<ServerFlags>();
  run->add_option("--config", *config_path, "landmark TOML config")->required();
  run->add_option("--server", server_flags->url, "fleet server URL (overrides [server] url)");
  run->add_option("--token", server_flags->token, "landmark token for the fleet server");
  run->add_option("--token-file", server_flags->token_file, "read the landmark token from here");
  run->add_option("--ca-file", server_flags->ca_file, "PEM CA bundle for an https server");
  run->add_option("--state-dir", server_flags->state_dir,
                  "durable batch spool directory (default /var/lib/lightcone/landmark)");
  run->add_option("--server-landmark-id", server_flags->landmark_id,
                  "this landmark's id on the server (default: ask /whoami)");
  run->callback([config_path, server_flags, exit_code] {
    *exit_code = RunDaemon(*config_path, *server_flags);
  });

  auto* keygen = landmark->add_subcommand("keygen", "create the landmark's key file");
  auto out_path = std::make_shared<std::string>();
  keygen->add_option("--out", *out_path, "key file to create (mode 0600)")->required();
  keygen->callback([out_path, exit_code] {
    auto key = landmark::GenerateLandmarkKeyFile(*out_path);
    if (!key.ok()) {
      Logger("landmark")->error("{}", key.status().ToString());
      *exit_code = key.status().code() == absl::StatusCode::kAlreadyExists ? 2 : 1;
      return;
    }
    std::printf("%s\n", nlohmann::json{{"public_key", crypto::HexEncode(key->public_key())},
                                       {"key_id", crypto::FormatKeyId(key->key_id())}}
                            .dump()
                            .c_str());
    *exit_code = 0;
  });
}

}  // namespace lightcone::cli
