// lightcone-agent: answers timed challenges for this host's GPUs (docs/protocol.md).
//
//   lightcone-agent [--config FILE] [--listen HOST:PORT] [--device ID]... [--keys-file FILE]
//   lightcone-agent keys --keys-file FILE     print the public keys a running agent wrote
//
//   lightcone-agent inventory --json          print the GPU inventory (NVML) once
//
// With a fleet server ([server] url in the config, or --server URL --token TOKEN) it also
// enrolls the host and its GPUs, binds each session key (L1 with attestation when the GPU
// can, else L0) and posts telemetry, on its own thread (src/agent/server_client.h).
// With no device configured, it serves the GPUs the NVML inventory lists.
//
// On start it prints JSON lines on stdout: {"event":"listening","address":..},
// {"event":"metrics","address":..} (Prometheus /metrics, when served) and
// {"event":"keys",..} (again after every key rotation); on SIGTERM/SIGINT it stops and
// prints {"event":"stats",..}. Logs go to stderr.
//
// The GPU side (NVML inventory, telemetry, /metrics) is compiled in when the agent_metrics
// library is built (LIGHTCONE_AGENT_WITH_METRICS); the challenge responder never depends on
// it: it answers even while NVML hangs.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "agent/config.h"
#include "agent/keys.h"
#include "agent/responder.h"
#include "agent/responder_sessions.h"
#include "core/logging.h"
#include "core/wire_address.h"
#include "nlohmann/json.hpp"
#ifdef LIGHTCONE_AGENT_WITH_METRICS
#include "agent/metrics_service.h"
#endif
#ifdef LIGHTCONE_AGENT_WITH_SERVER
#include "agent/api_client.h"
#include "agent/server_client.h"
#endif

namespace {

using lightcone::agent::AgentConfig;

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

void PrintLine(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

absl::Status WriteKeysFile(const std::string& path, const std::string& json) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return absl::UnavailableError(absl::StrCat(tmp, ": cannot write the keys file"));
    out << json << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat(path, ": rename: ", ec.message()));
  return absl::OkStatus();
}

void PublishKeys(const lightcone::agent::DeviceKeyStore& keys, const std::string& keys_file) {
  std::string json = lightcone::agent::PublicKeysJson(keys.PublicKeys());
  PrintLine(json);
  if (!keys_file.empty()) {
    if (auto s = WriteKeysFile(keys_file, json); !s.ok()) {
      lightcone::Logger("agent")->warn("{}", s.ToString());
    }
  }
}

std::string StatsJson(const lightcone::agent::ResponderStats& s,
                      const lightcone::agent::LandmarkSessions& sessions) {
  nlohmann::json rejected = nlohmann::json::object();
  for (size_t i = 1; i < lightcone::wire::kNumDecodeErrors; ++i) {
    rejected[lightcone::wire::DecodeErrorName(static_cast<lightcone::wire::DecodeError>(i))] =
        s.rejected[i];
  }
  return nlohmann::json{{"event", "stats"},
                        {"received", s.received},
                        {"answered", s.answered},
                        {"rate_limited", s.rate_limited},
                        {"unknown_device", s.unknown_device},
                        {"send_errors", s.send_errors},
                        {"rejected", rejected},
                        {"hellos_sent", sessions.hellos_sent()}}
      .dump();
}

struct GpuFlags {
  std::string metrics_listen = "127.0.0.1:9402";
  int64_t telemetry_interval_s = 10;
};

#ifdef LIGHTCONE_AGENT_WITH_METRICS
// The responder's counters as Prometheus metrics.
lightcone::agent::MetricsCollector ResponderCollector(const lightcone::agent::Responder* responder,
                                                      const lightcone::agent::LandmarkSessions* sessions) {
  return [responder, sessions](lightcone::agent::MetricsWriter& w) {
    lightcone::agent::ResponderStats s = responder->stats();
    auto counter = [&w](const char* name, const char* help, double value) {
      w.Family(name, "counter", help);
      w.Sample(name, {}, value);
    };
    counter("lightcone_agent_challenges_received_total", "Datagrams read by the challenge responder.",
            static_cast<double>(s.received));
    counter("lightcone_agent_challenges_answered_total", "Signed replies sent.",
            static_cast<double>(s.answered));
    counter("lightcone_agent_challenges_rate_limited_total",
            "Datagrams dropped because their source exceeded its rate.",
            static_cast<double>(s.rate_limited));
    counter("lightcone_agent_challenges_unknown_device_total",
            "Valid challenges for a device this agent does not serve (no reply).",
            static_cast<double>(s.unknown_device));
    counter("lightcone_agent_reply_send_errors_total", "Replies the kernel refused.",
            static_cast<double>(s.send_errors));
    w.Family("lightcone_agent_challenges_rejected_total", "counter",
             "Datagrams rejected by the decoder, by reason.");
    for (size_t i = 1; i < lightcone::wire::kNumDecodeErrors; ++i) {
      w.Sample("lightcone_agent_challenges_rejected_total",
               {{"reason", lightcone::wire::DecodeErrorName(static_cast<lightcone::wire::DecodeError>(i))}},
               static_cast<double>(s.rejected[i]));
    }
    counter("lightcone_agent_landmark_hellos_sent_total",
            "Hello datagrams sent to landmarks (agent-initiated sessions).",
            static_cast<double>(sessions->hellos_sent()));
  };
}
#endif

#if defined(LIGHTCONE_AGENT_WITH_METRICS) && defined(LIGHTCONE_AGENT_WITH_SERVER)
// The fleet server client's counters as Prometheus metrics.
lightcone::agent::MetricsCollector ServerCollector(const lightcone::agent::ServerClient* client) {
  return [client](lightcone::agent::MetricsWriter& w) {
    lightcone::agent::ServerClientStats s = client->stats();
    w.Family("lightcone_agent_server_requests_total", "counter",
             "Requests to the fleet server, by endpoint and result.");
    for (const char* endpoint : {"enroll", "key_binding", "telemetry"}) {
      for (const char* result : {"ok", "client_error", "server_error", "unavailable"}) {
        auto it = s.requests.find({endpoint, result});
        w.Sample("lightcone_agent_server_requests_total",
                 {{"endpoint", endpoint}, {"result", result}},
                 it == s.requests.end() ? 0.0 : static_cast<double>(it->second));
      }
    }
    w.Family("lightcone_agent_server_enrolled", "gauge",
             "1 when the last enrollment with the fleet server succeeded.");
    w.Sample("lightcone_agent_server_enrolled", {}, s.enrolled ? 1 : 0);
    w.Family("lightcone_agent_server_key_bindings_total", "counter",
             "Session keys the fleet server accepted, by assurance level.");
    w.Sample("lightcone_agent_server_key_bindings_total", {{"assurance", "L0"}},
             static_cast<double>(s.bindings_l0));
    w.Sample("lightcone_agent_server_key_bindings_total", {{"assurance", "L1"}},
             static_cast<double>(s.bindings_l1));
    w.Family("lightcone_agent_attestation_failures_total", "counter",
             "Attestation reports a GPU could not produce for a key binding.");
    w.Sample("lightcone_agent_attestation_failures_total", {},
             static_cast<double>(s.attestation_failures));
  };
}
#endif

int Run(AgentConfig config, const GpuFlags& gpu_flags) {
  auto log = lightcone::Logger("agent");
  auto local = lightcone::wire::ResolveEndpoint(config.listen);
  if (!local.ok()) {
    log->error("--listen: {}", local.status().ToString());
    return 2;
  }
#ifdef LIGHTCONE_AGENT_WITH_METRICS
  // The GPU side. Started before the keys when no device is configured, so that the NVML
  // inventory can name the devices; otherwise after the responder, which never waits on it.
  std::unique_ptr<lightcone::agent::MetricsService> metrics;
  auto start_metrics = [&] {
    lightcone::agent::MetricsService::Options metrics_options;
    metrics_options.metrics_listen = gpu_flags.metrics_listen;
    metrics_options.monitor.telemetry_interval = absl::Seconds(gpu_flags.telemetry_interval_s);
    auto started = lightcone::agent::MetricsService::Start(metrics_options);
    if (!started.ok()) {
      log->error("metrics: {}", started.status().ToString());
    } else {
      metrics = *std::move(started);
    }
  };
  if (config.devices.empty()) {
    start_metrics();
    if (metrics) {
      for (const auto& gpu : metrics->inventory().gpus) {
        auto id = lightcone::wire::ParseId(gpu.uuid);
        if (gpu.lost || !id.ok()) continue;
        config.devices.push_back({*id, "gpu" + std::to_string(gpu.index)});
      }
      if (!config.devices.empty()) {
        log->info("serving the {} GPU(s) NVML lists", config.devices.size());
      }
    }
  }
#endif
  if (config.devices.empty()) {
    log->error("no devices configured: add [[devices]] to the config or pass --device");
    return 2;
  }
  auto keys = lightcone::agent::DeviceKeyStore::Create(config.devices, {config.key_overlap});
  if (!keys.ok()) {
    log->error("{}", keys.status().ToString());
    return 1;
  }
  auto fd = lightcone::wire::BindUdpSocket(*local);
  if (!fd.ok()) {
    log->error("{}", fd.status().ToString());
    return 1;
  }
  auto bound = lightcone::wire::LocalEndpoint(*fd);
  lightcone::agent::Responder::Options options;
  options.rate_per_source_per_second = config.rate_per_source_per_second;
  options.burst_per_source = config.burst_per_source;
  options.busy_poll_us = config.busy_poll_us;
  lightcone::agent::Responder responder(*fd, keys->get(), options);
  if (auto s = responder.Start(); !s.ok()) {
    log->error("{}", s.ToString());
    return 1;
  }
  lightcone::agent::LandmarkSessions sessions(*fd, {config.keepalive_interval});
  std::vector<lightcone::wire::Id> device_ids;
  for (const auto& d : config.devices) device_ids.push_back(d.id);
  if (auto s = sessions.Start(config.landmarks, device_ids); !s.ok()) {
    log->error("landmarks: {}", s.ToString());
    return 2;
  }
  PrintLine(nlohmann::json{{"event", "listening"},
                           {"address", lightcone::wire::FormatEndpoint(*bound)}}
                .dump());
#ifdef LIGHTCONE_AGENT_WITH_METRICS
  if (!metrics) start_metrics();
  if (metrics) {
    metrics->registry().AddCollector(ResponderCollector(&responder, &sessions));
    std::string address = metrics->metrics_address();
    if (!address.empty()) PrintLine(nlohmann::json{{"event", "metrics"}, {"address", address}}.dump());
  }
#else
  (void)gpu_flags;
#endif
#if defined(LIGHTCONE_AGENT_WITH_METRICS) && defined(LIGHTCONE_AGENT_WITH_SERVER)
  std::unique_ptr<lightcone::agent::ServerClient> server;
  if (!config.server.url.empty()) {
    lightcone::agent::ServerClient::Options server_options;
    server_options.api.url = config.server.url;
    server_options.api.token = config.server.token;
    server_options.api.ca_file = config.server.ca_file;
    if (!config.server.token_file.empty()) {
      auto token = lightcone::api::ReadTokenFile(config.server.token_file);
      if (!token.ok()) {
        log->error("server: {}", token.status().ToString());
        return 2;
      }
      server_options.api.token = *token;
    }
    server_options.site = config.server.site;
    server_options.hostname = config.server.hostname;
    server_options.probe_address = config.advertise_address;
    server_options.enroll_interval = config.server.enroll_interval;
    server_options.telemetry_interval = config.server.telemetry_interval;
    lightcone::agent::Inventory inventory;
    lightcone::agent::GpuSource* source = nullptr;
    lightcone::agent::GpuMonitor* monitor = nullptr;
    if (metrics) {
      inventory = metrics->inventory();
      source = metrics->source();
      monitor = metrics->monitor();
    }
    auto client = lightcone::agent::ServerClient::Create(server_options, std::move(inventory),
                                                         config.devices, source, monitor);
    if (!client.ok()) {
      log->error("server: {}", client.status().ToString());
      return 2;
    }
    server = *std::move(client);
    if (metrics) metrics->registry().AddCollector(ServerCollector(server.get()));
  }
  auto publish = [&] {
    PublishKeys(**keys, config.keys_file);
    if (server) server->UpdateKeys((*keys)->PublicKeys());
  };
  publish();
  if (server) server->Start();
#else
  auto publish = [&] { PublishKeys(**keys, config.keys_file); };
  publish();
#endif
  log->info("answering challenges for {} device(s) on {}, {} landmark session(s)",
            config.devices.size(), lightcone::wire::FormatEndpoint(*bound),
            config.landmarks.size());

  auto next_rotation = std::chrono::system_clock::now() + config.key_rotation_period;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = std::chrono::system_clock::now();
    (*keys)->ExpirePrevious(now);
    if (now >= next_rotation) {
      if (auto s = (*keys)->RotateAll(now); !s.ok()) {
        log->error("key rotation failed, keeping the current keys: {}", s.ToString());
      } else {
        publish();
      }
      next_rotation = now + config.key_rotation_period;
    }
  }
#if defined(LIGHTCONE_AGENT_WITH_METRICS) && defined(LIGHTCONE_AGENT_WITH_SERVER)
  if (server) server->Stop();
#endif
#ifdef LIGHTCONE_AGENT_WITH_METRICS
  if (metrics) metrics->Stop();
#endif
  sessions.Stop();
  responder.Stop();
  close(*fd);
  PrintLine(StatsJson(responder.stats(), sessions));
  log->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lightcone-agent: answers Lightcone timed challenges for this host's GPUs"};
  std::string config_path = lightcone::agent::kDefaultConfigPath;
  std::string listen;
  std::vector<std::string> device_texts;
  std::vector<std::string> landmark_texts;
  std::string keys_file;
  int64_t rotation_s = 0;
  std::string log_level = "info";
  auto* config_opt = app.add_option("--config", config_path, "TOML config file")->capture_default_str();
  app.add_option("--listen", listen, "HOST:PORT to answer on (overrides the config)");
  app.add_option("--device", device_texts, "serve this device id (UUID); repeatable");
  app.add_option("--landmark", landmark_texts,
                 "open a session to landmark ID@HOST:PORT; repeatable");
  app.add_option("--keys-file", keys_file, "also write the public keys (JSON) here");
  app.add_option("--key-rotation-seconds", rotation_s, "key rotation period (overrides config)");
  app.add_option("--log-level", log_level, "debug, info, warn, error or off");
  GpuFlags gpu_flags;
  auto* metrics_opt =
      app.add_option("--metrics-listen", gpu_flags.metrics_listen,
                     "HOST:PORT for Prometheus /metrics (\"\": off; overrides metrics_listen)")
          ->capture_default_str();
  app.add_option("--telemetry-interval-seconds", gpu_flags.telemetry_interval_s,
                 "GPU telemetry period")
      ->capture_default_str();
  std::string server_url, server_token, server_token_file, server_site, advertise_address;
  std::string server_hostname;
  app.add_option("--server", server_url, "fleet server URL (overrides [server] url)");
  app.add_option("--token", server_token, "fleet server agent token (overrides the config)");
  app.add_option("--token-file", server_token_file, "read the agent token from this file");
  app.add_option("--site", server_site, "declared site name sent at enrollment");
  app.add_option("--hostname", server_hostname,
                 "hostname sent at enrollment (overrides [server] hostname; default: the machine's)");
  app.add_option("--advertise-address", advertise_address,
                 "IP:PORT landmarks should probe (sent at enrollment; empty: agent-initiated)");
  auto* inventory_cmd = app.add_subcommand("inventory", "print the GPU inventory (NVML) once");
  bool inventory_json = false;
  inventory_cmd->add_flag("--json", inventory_json, "as JSON (the only format)");
  auto* keys_cmd = app.add_subcommand("keys", "print the public keys a running agent wrote");
  std::string keys_cmd_file;
  keys_cmd->add_option("--keys-file", keys_cmd_file, "the agent's keys file")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  lightcone::SetLogLevel(log_level);
  auto log = lightcone::Logger("agent");

  if (inventory_cmd->parsed()) {
#ifdef LIGHTCONE_AGENT_WITH_METRICS
    auto json = lightcone::agent::InventoryJsonOnce({});
    if (!json.ok()) {
      log->error("inventory: {}", json.status().ToString());
      return 1;
    }
    std::printf("%s\n", json->c_str());
    return 0;
#else
    log->error("inventory: this build has no GPU support (agent_metrics not built)");
    return 1;
#endif
  }

  if (keys_cmd->parsed()) {
    std::ifstream in(keys_cmd_file);
    if (!in) {
      log->error("{}: cannot read the keys file", keys_cmd_file);
      return 2;
    }
    std::cout << in.rdbuf();
    return 0;
  }

  AgentConfig config;
  bool config_given = config_opt->count() > 0;
  if (config_given || std::filesystem::exists(config_path)) {
    auto loaded = lightcone::agent::LoadAgentConfig(config_path);
    if (!loaded.ok()) {
      log->error("{}", loaded.status().ToString());
      return 2;
    }
    config = *std::move(loaded);
  }
  if (!listen.empty()) config.listen = listen;
  if (!keys_file.empty()) config.keys_file = keys_file;
  if (rotation_s > 0) config.key_rotation_period = std::chrono::seconds(rotation_s);
  if (!server_url.empty()) config.server.url = server_url;
  if (!server_token.empty()) {
    config.server.token = server_token;
    config.server.token_file.clear();
  }
  if (!server_token_file.empty()) {
    config.server.token_file = server_token_file;
    config.server.token.clear();
  }
  if (!server_site.empty()) config.server.site = server_site;
  if (!server_hostname.empty()) config.server.hostname = server_hostname;
  if (metrics_opt->count() == 0 && config.metrics_listen) {
    gpu_flags.metrics_listen = *config.metrics_listen;
  }
  if (!advertise_address.empty()) config.advertise_address = advertise_address;
  for (const std::string& text : device_texts) {
    auto id = lightcone::wire::ParseId(text);
    if (!id.ok()) {
      log->error("--device: {}", id.status().ToString());
      return 2;
    }
    config.devices.push_back({*id, ""});
  }
  for (const std::string& text : landmark_texts) {
    size_t at = text.find('@');
    auto id = lightcone::wire::ParseId(text.substr(0, at == std::string::npos ? 0 : at));
    if (at == std::string::npos || !id.ok()) {
      log->error("--landmark '{}': want LANDMARK_ID@HOST:PORT", text);
      return 2;
    }
    config.landmarks.push_back({*id, text.substr(at + 1)});
  }

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (gpu_flags.telemetry_interval_s < 1) {
    log->error("--telemetry-interval-seconds must be >= 1");
    return 2;
  }
  return Run(std::move(config), gpu_flags);
}
