#include "agent/config.h"

#include "agent/responder.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/toml_util.h"
#include "toml++/toml.h"

namespace lightcone::agent {
namespace {

using toml_util::ConfigError;

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfig(absl::string_view toml_text,
                                             absl::string_view origin) {
  LC_ASSIGN_OR_RETURN(toml::table root, toml_util::ParseTable(toml_text, origin));
  AgentConfig config;
  if (auto v = root["listen"].value<std::string>()) config.listen = *v;
  if (auto v = root["keys_file"].value<std::string>()) config.keys_file = *v;
  if (auto v = root["key_rotation_seconds"].value<int64_t>()) {
    if (*v < kMinKeyRotationPeriod.count()) {
      return ConfigError(origin, absl::StrCat("key_rotation_seconds must be >= ",
                                              kMinKeyRotationPeriod.count()));
    }
    config.key_rotation_period = std::chrono::seconds(*v);
  }
  if (auto v = root["key_overlap_seconds"].value<int64_t>()) {
    if (*v < 0) return ConfigError(origin, "key_overlap_seconds must be >= 0");
    config.key_overlap = std::chrono::seconds(*v);
  }
  if (auto v = root["keepalive_ms"].value<int64_t>()) {
    if (*v < kMinKeepaliveInterval.count()) {
      return ConfigError(origin,
                         absl::StrCat("keepalive_ms must be >= ", kMinKeepaliveInterval.count()));
    }
    config.keepalive_interval = std::chrono::milliseconds(*v);
  }
  if (auto v = root["advertise_address"].value<std::string>()) config.advertise_address = *v;
  if (auto v = root["metrics_listen"].value<std::string>()) config.metrics_listen = *v;
  if (auto* server = root["server"].as_table()) {
    ServerConfig& sc = config.server;
    if (auto v = (*server)["url"].value<std::string>()) sc.url = *v;
    if (auto v = (*server)["token"].value<std::string>()) sc.token = *v;
    if (auto v = (*server)["token_file"].value<std::string>()) sc.token_file = *v;
    if (auto v = (*server)["site"].value<std::string>()) sc.site = *v;
    if (auto v = (*server)["ca_file"].value<std::string>()) sc.ca_file = *v;
    if (auto v = (*server)["hostname"].value<std::string>()) sc.hostname = *v;
    if (auto v = (*server)["enroll_interval"].value<int64_t>()) {
      if (*v < 1) return ConfigError(origin, "server.enroll_interval must be >= 1 (seconds)");
      sc.enroll_interval = std::chrono::seconds(*v);
    }
    if (auto v = (*server)["telemetry_interval"].value<int64_t>()) {
      if (*v < 1) return ConfigError(origin, "server.telemetry_interval must be >= 1 (seconds)");
      sc.telemetry_interval = std::chrono::seconds(*v);
    }
    if (sc.url.empty()) return ConfigError(origin, "[server] needs url");
    if (!sc.token.empty() && !sc.token_file.empty()) {
      return ConfigError(origin, "server.token and server.token_file are exclusive");
    }
  }
  if (auto v = root["busy_poll_us"].value<int64_t>()) {
    if (*v < 0 || *v > Responder::kMaxBusyPollUs) {
      return ConfigError(origin, absl::StrCat("busy_poll_us must be between 0 and ",
                                              Responder::kMaxBusyPollUs, " (microseconds)"));
    }
    config.busy_poll_us = *v;
  }
  if (auto* limit = root["rate_limit"].as_table()) {
    if (auto v = (*limit)["per_source_per_second"].value<double>()) {
      if (*v <= 0) return ConfigError(origin, "rate_limit.per_source_per_second must be > 0");
      config.rate_per_source_per_second = *v;
    }
    if (auto v = (*limit)["burst"].value<double>()) {
      if (*v < 1) return ConfigError(origin, "rate_limit.burst must be >= 1");
      config.burst_per_source = *v;
    }
  }
  if (auto* devices = root["devices"].as_array()) {
    if (devices->size() > kMaxConfiguredDevices) {
      return ConfigError(origin, absl::StrCat("more than ", kMaxConfiguredDevices, " [[devices]]"));
    }
    for (size_t i = 0; i < devices->size(); ++i) {
      auto* t = devices->get(i)->as_table();
      if (t == nullptr) return ConfigError(origin, absl::StrCat("devices[", i, "] is not a table"));
      auto id_text = (*t)["id"].value<std::string>();
      if (!id_text) return ConfigError(origin, absl::StrCat("devices[", i, "].id missing"));
      auto id = wire::ParseId(*id_text);
      if (!id.ok()) {
        return ConfigError(origin, absl::StrCat("devices[", i, "].id: ", id.status().message()));
      }
      DeviceConfig device{*id, (*t)["name"].value_or(std::string())};
      for (const auto& existing : config.devices) {
        if (existing.id == device.id) {
          return ConfigError(origin,
                             absl::StrCat("devices[", i, "].id ", *id_text, " listed twice"));
        }
      }
      config.devices.push_back(device);
    }
  }
  if (auto* landmarks = root["landmarks"].as_array()) {
    if (landmarks->size() > kMaxConfiguredLandmarks) {
      return ConfigError(origin,
                         absl::StrCat("more than ", kMaxConfiguredLandmarks, " [[landmarks]]"));
    }
    for (size_t i = 0; i < landmarks->size(); ++i) {
      auto* t = landmarks->get(i)->as_table();
      if (t == nullptr) {
        return ConfigError(origin, absl::StrCat("landmarks[", i, "] is not a table"));
      }
      auto id_text = (*t)["id"].value<std::string>();
      auto address = (*t)["address"].value<std::string>();
      if (!id_text || !address) {
        return ConfigError(origin, absl::StrCat("landmarks[", i, "] needs id and address"));
      }
      auto id = wire::ParseId(*id_text);
      if (!id.ok()) {
        return ConfigError(origin, absl::StrCat("landmarks[", i, "].id: ", id.status().message()));
      }
      config.landmarks.push_back({*id, *address});
    }
  }
  return config;
}

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path) {
  LC_ASSIGN_OR_RETURN(std::string text, toml_util::ReadConfigFile(path, "agent config"));
  return ParseAgentConfig(text, path);
}

}  // namespace lightcone::agent
