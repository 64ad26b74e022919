#include "landmark/config.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/toml_util.h"
#include "toml++/toml.h"

namespace lightcone::landmark {
namespace {

using toml_util::ConfigError;

}  // namespace

absl::StatusOr<LandmarkConfig> ParseLandmarkConfig(absl::string_view toml_text,
                                                   absl::string_view origin) {
  LC_ASSIGN_OR_RETURN(toml::table root, toml_util::ParseTable(toml_text, origin));
  LandmarkConfig config;
  auto id_text = root["id"].value<std::string>();
  if (!id_text) return ConfigError(origin, "id (this landmark's UUID) missing");
  auto id = wire::ParseId(*id_text);
  if (!id.ok()) return ConfigError(origin, absl::StrCat("id: ", id.status().message()));
  config.id = *id;
  if (auto v = root["listen"].value<std::string>()) config.listen = *v;
  if (auto v = root["key_file"].value<std::string>()) config.key_file = *v;
  if (auto v = root["output"].value<std::string>()) config.output = *v;
  if (auto v = root["interval_ms"].value<int64_t>()) {
    if (*v < kMinInterval.count()) return ConfigError(origin, "interval_ms must be >= 1");
    config.interval = std::chrono::milliseconds(*v);
  }
  if (auto v = root["jitter"].value<double>()) {
    if (*v < 0 || *v > 0.9) return ConfigError(origin, "jitter must be within [0, 0.9]");
    config.jitter_fraction = *v;
  }
  if (auto v = root["timeout_ms"].value<int64_t>()) {
    if (*v < 1) return ConfigError(origin, "timeout_ms must be >= 1");
    config.timeout = std::chrono::milliseconds(*v);
  }
  if (auto v = root["window_s"].value<int64_t>()) {
    if (*v < 1) return ConfigError(origin, "window_s must be >= 1");
    config.window = std::chrono::seconds(*v);
  }
  if (auto v = root["window_ms"].value<int64_t>()) {
    if (*v < 1) return ConfigError(origin, "window_ms must be >= 1");
    config.window = std::chrono::milliseconds(*v);
  }
  if (auto* server = root["server"].as_table()) {
    LandmarkServerConfig& sc = config.server;
    if (auto v = (*server)["url"].value<std::string>()) sc.url = *v;
    if (auto v = (*server)["token"].value<std::string>()) sc.token = *v;
    if (auto v = (*server)["token_file"].value<std::string>()) sc.token_file = *v;
    if (auto v = (*server)["ca_file"].value<std::string>()) sc.ca_file = *v;
    if (auto v = (*server)["state_dir"].value<std::string>()) sc.state_dir = *v;
    if (auto v = (*server)["landmark_id"].value<int64_t>()) {
      if (*v < 1) return ConfigError(origin, "server.landmark_id must be >= 1");
      sc.landmark_id = *v;
    }
    if (auto v = (*server)["targets_poll_ms"].value<int64_t>()) {
      if (*v < 1) return ConfigError(origin, "server.targets_poll_ms must be >= 1");
      sc.targets_poll_interval = std::chrono::milliseconds(*v);
    }
  }
  if (auto v = root["server_landmark_id"].value<int64_t>()) {
    if (*v < 1) return ConfigError(origin, "server_landmark_id must be >= 1");
    config.server.landmark_id = *v;
  }
  auto* targets = root["targets"].as_array();
  if (targets == nullptr) return config;
  if (targets->size() > kMaxTargets) {
    return ConfigError(origin, absl::StrCat("more than ", kMaxTargets, " targets"));
  }
  for (size_t i = 0; i < targets->size(); ++i) {
    auto* t = targets->get(i)->as_table();
    std::string where = absl::StrCat("targets[", i, "]");
    if (t == nullptr) return ConfigError(origin, absl::StrCat(where, " is not a table"));
    TargetConfig target;
    auto device = (*t)["device"].value<std::string>();
    if (!device) return ConfigError(origin, absl::StrCat(where, ".device missing"));
    auto device_id = wire::ParseId(*device);
    if (!device_id.ok()) {
      return ConfigError(origin, absl::StrCat(where, ".device: ", device_id.status().message()));
    }
    target.device_id = *device_id;
    target.address = (*t)["address"].value_or(std::string());
    auto* keys = (*t)["public_keys"].as_array();
    if (keys == nullptr || keys->empty() || keys->size() > kMaxKeysPerTarget) {
      return ConfigError(
          origin, absl::StrCat(where, ".public_keys must list 1..", kMaxKeysPerTarget, " keys"));
    }
    for (size_t k = 0; k < keys->size(); ++k) {
      auto text = keys->get(k)->value<std::string>();
      auto key =
          text ? crypto::ParsePublicKey(*text)
               : absl::StatusOr<crypto::PublicKey>(absl::InvalidArgumentError("not a string"));
      if (!key.ok()) {
        return ConfigError(origin,
                           absl::StrCat(where, ".public_keys[", k, "]: ", key.status().message()));
      }
      target.public_keys.push_back(*key);
    }
    config.targets.push_back(std::move(target));
  }
  return config;
}

absl::Status ValidateLandmarkConfig(const LandmarkConfig& config, absl::string_view origin) {
  if (config.server.url.empty() && config.targets.empty()) {
    return ConfigError(origin, "no [[targets]] and no server to fetch them from");
  }
  if (!config.server.url.empty()) {
    if (config.server.token.empty() && config.server.token_file.empty()) {
      return ConfigError(origin, "the server needs a landmark token (token or token_file)");
    }
    if (!config.server.token.empty() && !config.server.token_file.empty()) {
      return ConfigError(origin, "server token and token_file are exclusive");
    }
    if (config.server.state_dir.empty()) return ConfigError(origin, "server.state_dir is empty");
  }
  return absl::OkStatus();
}

absl::StatusOr<LandmarkConfig> LoadLandmarkConfig(const std::string& path) {
  LC_ASSIGN_OR_RETURN(std::string text, toml_util::ReadConfigFile(path, "landmark config"));
  return ParseLandmarkConfig(text, path);
}

absl::StatusOr<crypto::SigningKey> LoadLandmarkKey(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the landmark key"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::array<uint8_t, crypto::kSeedBytes> seed;
  absl::Status s = crypto::HexDecode(absl::StripAsciiWhitespace(text), seed);
  sodium_memzero(text.data(), text.size());
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": landmark key must be 64 hex digits: ", s.message()));
  }
  auto key = crypto::SigningKey::FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

absl::StatusOr<crypto::SigningKey> GenerateLandmarkKeyFile(const std::string& path) {
  std::array<uint8_t, crypto::kSeedBytes> seed;
  crypto::RandomBytes(seed);
  std::string hex = crypto::HexEncode(seed) + "\n";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    sodium_memzero(seed.data(), seed.size());
    if (err == EEXIST) return absl::AlreadyExistsError(absl::StrCat(path, ": already exists"));
    return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(err)));
  }
  bool ok = write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
  close(fd);
  sodium_memzero(hex.data(), hex.size());
  if (!ok) return absl::UnavailableError(absl::StrCat(path, ": short write"));
  auto key = crypto::SigningKey::FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

}  // namespace lightcone::landmark
