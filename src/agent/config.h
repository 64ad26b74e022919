// The agent's configuration (TOML, /etc/lightcone/agent.toml by default). Only main()
// reads files and flags; libraries take the Options built from this.
#ifndef LIGHTCONE_AGENT_CONFIG_H_
#define LIGHTCONE_AGENT_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/wire.h"

namespace lightcone::agent {

inline constexpr char kDefaultConfigPath[] = "/etc/lightcone/agent.toml";
inline constexpr char kDefaultListen[] = "0.0.0.0:7447";
inline constexpr size_t kMaxConfiguredDevices = 256;
inline constexpr size_t kMaxConfiguredLandmarks = 1024;
inline constexpr std::chrono::seconds kDefaultKeyRotationPeriod{24 * 3600};
inline constexpr std::chrono::seconds kMinKeyRotationPeriod{1};
inline constexpr std::chrono::seconds kDefaultKeyOverlap{300};
inline constexpr std::chrono::milliseconds kDefaultKeepaliveInterval{15000};
inline constexpr std::chrono::milliseconds kMinKeepaliveInterval{10};
inline constexpr double kDefaultRatePerSourcePerSecond = 200.0;
inline constexpr double kDefaultBurstPerSource = 400.0;

struct DeviceConfig {
  wire::Id id{};
  std::string name;  // free text for humans, e.g. "gpu0"
};

// A landmark the agent opens a flow to (agent-initiated sessions).
struct LandmarkPeerConfig {
  wire::Id id{};
  std::string address;  // HOST:PORT
};

// The fleet server (docs/api.md). Empty url: the agent does not talk to a server.
struct ServerConfig {
  std::string url;         // "https://fleet.example.net:8443"
  std::string token;       // agent token; or read from token_file
  std::string token_file;
  std::string site;        // declared site name sent at enrollment
  std::string ca_file;     // PEM bundle for an https server; empty: the system store
  // Hostname sent at enrollment; empty: the machine's (several agents on one machine, e.g.
  // `lightcone demo`, each name their simulated host here).
  std::string hostname;
  std::chrono::seconds enroll_interval{300};
  std::chrono::seconds telemetry_interval{60};
};

struct AgentConfig {
  std::string listen = kDefaultListen;
  std::vector<DeviceConfig> devices;
  std::vector<LandmarkPeerConfig> landmarks;
  std::chrono::seconds key_rotation_period = kDefaultKeyRotationPeriod;
  std::chrono::seconds key_overlap = kDefaultKeyOverlap;
  std::chrono::milliseconds keepalive_interval = kDefaultKeepaliveInterval;
  double rate_per_source_per_second = kDefaultRatePerSourcePerSecond;
  double burst_per_source = kDefaultBurstPerSource;
  // Responder busy polling after each challenge (Responder::Options::busy_poll_us); 0: off.
  int64_t busy_poll_us = 0;
  std::string keys_file;  // when set, the public keys are also written here (JSON)
  // "ip:port" the landmarks should probe (sent at enrollment); empty: agent-initiated
  // sessions only.
  std::string advertise_address;
  // "HOST:PORT" for Prometheus /metrics; "" turns the listener off. Unset: the default
  // (main.cc, 127.0.0.1:9402). Several agents on one machine need distinct ports or "".
  std::optional<std::string> metrics_listen;
  ServerConfig server;
};

// Parses TOML text; `origin` names the file in error messages. Errors: kInvalidArgument
// naming the key and the problem.
absl::StatusOr<AgentConfig> ParseAgentConfig(absl::string_view toml_text,
                                             absl::string_view origin);
// Reads and parses a file. Errors: kNotFound when it cannot be read, else as above.
absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_CONFIG_H_
