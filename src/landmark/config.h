// The landmark's configuration (TOML) and its signing key file. Only the CLI reads these;
// the prober and the service take Options.
//
//   id = "UUID"                     # this landmark
//   listen = "0.0.0.0:7448"         # fixed port so agents can open sessions to it
//   key_file = "/etc/lightcone/landmark.key"   # 64 hex digits: the Ed25519 seed
//   output = "-"                    # JSON-lines batches: "-" is stdout, else a file (appended)
//   interval_ms = 1000, jitter = 0.2, timeout_ms = 1000, window_s = 60
//   [[targets]]
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
};

// Errors: kInvalidArgument naming the key and the problem.
absl::StatusOr<LandmarkConfig> ParseLandmarkConfig(absl::string_view toml_text,
                                                   absl::string_view origin);
// Errors: kNotFound when unreadable, else as above.
absl::StatusOr<LandmarkConfig> LoadLandmarkConfig(const std::string& path);

// Reads a key file (64 hex digits of Ed25519 seed, surrounding whitespace ignored).
// Errors: kNotFound when unreadable, kInvalidArgument when malformed.
absl::StatusOr<crypto::SigningKey> LoadLandmarkKey(const std::string& path);
// Writes a fresh key file with mode 0600 and returns the key. Errors: kAlreadyExists when
// the file exists, kUnavailable when it cannot be written.
absl::StatusOr<crypto::SigningKey> GenerateLandmarkKeyFile(const std::string& path);

}  // namespace lightcone::landmark

#endif  // LIGHTCONE_LANDMARK_CONFIG_H_
