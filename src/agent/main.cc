// lightcone-agent: answers timed challenges for this host's GPUs (docs/protocol.md).
//
//   lightcone-agent [--config FILE] [--listen HOST:PORT] [--device ID]... [--keys-file FILE]
//   lightcone-agent keys --keys-file FILE     print the public keys a running agent wrote
//
//   lightcone-agent inventory --json          print the GPU inventory (NVML) once
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

int Run(AgentConfig config, const GpuFlags& gpu_flags) {
  auto log = lightcone::Logger("agent");
  auto local = lightcone::wire::ResolveEndpoint(config.listen);
  if (!local.ok()) {
    log->error("--listen: {}", local.status().ToString());
    return 2;
  }
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
  lightcone::agent::MetricsService::Options metrics_options;
  metrics_options.metrics_listen = gpu_flags.metrics_listen;
  metrics_options.monitor.telemetry_interval = absl::Seconds(gpu_flags.telemetry_interval_s);
  auto metrics = lightcone::agent::MetricsService::Start(metrics_options);
  if (!metrics.ok()) {
    log->error("metrics: {}", metrics.status().ToString());
  } else {
    (*metrics)->registry().AddCollector(ResponderCollector(&responder, &sessions));
    std::string address = (*metrics)->metrics_address();
    if (!address.empty()) PrintLine(nlohmann::json{{"event", "metrics"}, {"address", address}}.dump());
  }
#else
  (void)gpu_flags;
#endif
  PublishKeys(**keys, config.keys_file);
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
        PublishKeys(**keys, config.keys_file);
      }
      next_rotation = now + config.key_rotation_period;
    }
  }
#ifdef LIGHTCONE_AGENT_WITH_METRICS
  if (metrics.ok()) (*metrics)->Stop();
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
  app.add_option("--metrics-listen", gpu_flags.metrics_listen,
                 "HOST:PORT for Prometheus /metrics (empty: off)")
      ->capture_default_str();
  app.add_option("--telemetry-interval-seconds", gpu_flags.telemetry_interval_s,
                 "GPU telemetry period")
      ->capture_default_str();
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
