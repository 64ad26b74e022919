// The landmark's configuration (TOML) and its signing key file. Only the CLI reads these;
// the prober and the service take Options.
//
//   id = "UUID"                     # this landmark
//   listen = "0.0.0.0:7448"         # fixed port so agents can open sessions to it
//   key_file = "/etc/lightcone/landmark.key"   # 64 hex digits: the Ed25519 seed
//   output = "-"                    # JSON-lines batches: "-" is stdout, else a file (appended)
//   interval_ms = 1000, jitter = 0.2, timeout_ms = 1000, window_s = 60
//   [server]                        # optional: the fleet server (docs/api.md)
//   url = "https://fleet:8443"
//   token = "..."  or  token_file = "/etc/lightcone/landmark.token"
//   ca_file = "/etc/lightcone/fleet-ca.pem"
//   landmark_id = 3                 # the server's id; omitted: asked from /whoami
//   state_dir = "/var/lib/lightcone/landmark"   # the durable batch spool
//   targets_poll_ms = 5000
//   [[targets]]                     # static targets (required without a server)
//   device = "UUID"
//   address = "HOST:PORT"           # omit for an agent-initiated target
//   public_keys = ["hex", ...]
#ifndef LIGHTCONE_LANDMARK_CONFIG_H_
#define LIGHTCONE_LANDMARK_CONFIG_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto.h"
#include "core/wire.h"

namespace lightcone::landmark {

inline constexpr size_t kMaxTargets = 100000;
inline constexpr size_t kMaxKeysPerTarget = 16;
inline constexpr std::chrono::milliseconds kDefaultInterval{1000};
inline constexpr std::chrono::milliseconds kMinInterval{1};
inline constexpr std::chrono::milliseconds kDefaultProbeTimeout{1000};
inline constexpr std::chrono::seconds kDefaultWindow{60};
inline constexpr char kDefaultLandmarkListen[] = "0.0.0.0:7448";

struct TargetConfig {
  wire::Id device_id{};
  std::string address;  // empty: agent-initiated
  std::vector<crypto::PublicKey> public_keys;
};

inline constexpr char kDefaultLandmarkStateDir[] = "/var/lib/lightcone/landmark";

struct LandmarkServerConfig {
  std::string url;  // empty: no server
  std::string token;
  std::string token_file;
  std::string ca_file;
  int64_t landmark_id = 0;  // 0: learn it from GET /api/v1/whoami
  std::string state_dir = kDefaultLandmarkStateDir;
  std::chrono::milliseconds targets_poll_interval{5000};
};

struct LandmarkConfig {
  wire::Id id{};
  std::string listen = kDefaultLandmarkListen;
  std::string key_file;
  std::string output = "-";
  std::chrono::milliseconds interval = kDefaultInterval;
  double jitter_fraction = 0.2;
  std::chrono::milliseconds timeout = kDefaultProbeTimeout;
  std::chrono::milliseconds window = kDefaultWindow;
  std::vector<TargetConfig> targets;
  LandmarkServerConfig server;
};

// Errors: kInvalidArgument naming the key and the problem. [[targets]] may be empty here;
// ValidateLandmarkConfig requires them when there is no server.
absl::StatusOr<LandmarkConfig> ParseLandmarkConfig(absl::string_view toml_text,
                                                   absl::string_view origin);
// Errors: kNotFound when unreadable, else as above.
absl::StatusOr<LandmarkConfig> LoadLandmarkConfig(const std::string& path);

// Checks the whole configuration after command-line overrides: targets or a server, and a
// token for the server. Errors: kInvalidArgument.
absl::Status ValidateLandmarkConfig(const LandmarkConfig& config, absl::string_view origin);

// Reads a key file (64 hex digits of Ed25519 seed, surrounding whitespace ignored).
// Errors: kNotFound when unreadable, kInvalidArgument when malformed.
absl::StatusOr<crypto::SigningKey> LoadLandmarkKey(const std::string& path);
// Writes a fresh key file with mode 0600 and returns the key. Errors: kAlreadyExists when
// the file exists, kUnavailable when it cannot be written.
absl::StatusOr<crypto::SigningKey> GenerateLandmarkKeyFile(const std::string& path);

}  // namespace lightcone::landmark

#endif  // LIGHTCONE_LANDMARK_CONFIG_H_
