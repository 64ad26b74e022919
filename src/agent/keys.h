// Per-GPU Ed25519 session keys for the agent.
//
// Each configured device gets a key pair at start; RotateAll() replaces every current key
// with a fresh one and keeps the previous one for an overlap period (listed in PublicKeys()
// so that verifiers still holding the old key can tell a rotation from a forgery), after
// which ExpirePrevious() wipes it. Secret halves live only in crypto::SigningKey (locked,
// wiped memory).
//
// Thread safety: Find() and Sign() are allocation-free and may run on the responder thread
// concurrently with RotateAll()/ExpirePrevious() on another thread. RotateAll() and
// ExpirePrevious() must not run concurrently with each other. Not copyable.
#ifndef LIGHTCONE_AGENT_KEYS_H_
#define LIGHTCONE_AGENT_KEYS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/config.h"
#include "core/crypto.h"
#include "core/wire.h"

namespace lightcone::agent {

struct PublicKeyInfo {
  wire::Id device_id{};
  std::string device_name;
  crypto::PublicKey public_key{};
  crypto::KeyId key_id = 0;
  int64_t created_unix_s = 0;
  bool current = false;  // false: the previous key, kept during the overlap period
};

class DeviceKeyStore {
 public:
  struct Options {
    // Previous keys are wiped this long after a rotation (at least kMinKeyOverlap, so that
    // a responder thread mid-signature never sees its key wiped).
    std::chrono::seconds overlap = kDefaultKeyOverlap;
  };
  static constexpr std::chrono::seconds kMinKeyOverlap{1};

  // Generates one key per device. Errors: kInvalidArgument for no devices or too many,
  // kResourceExhausted when locked memory is unavailable.
  static absl::StatusOr<std::unique_ptr<DeviceKeyStore>> Create(
      const std::vector<DeviceConfig>& devices, Options options);

  size_t size() const { return devices_.size(); }

  // The index of `device_id`, or -1 when this agent does not serve it.
  int Find(const wire::Id& device_id) const;

  // Signs the reply to `challenge` with the current key of device `index`.
  // REQUIRES: 0 <= index < size().
  void Sign(int index, const wire::Challenge& challenge, wire::Reply* reply) const;

  // Gives every device a fresh current key; the old current becomes the previous key.
  absl::Status RotateAll(std::chrono::system_clock::time_point now);
  // Wipes previous keys whose overlap period has ended.
  void ExpirePrevious(std::chrono::system_clock::time_point now);

  // Public halves of all current and still-kept previous keys.
  std::vector<PublicKeyInfo> PublicKeys() const;

 private:
  static constexpr int kSlots = 3;  // current, previous, and the one being written
  struct DeviceKeys {
    wire::Id id{};
    std::string name;
    std::array<std::optional<crypto::SigningKey>, kSlots> slots;
    std::array<int64_t, kSlots> created_unix_s{};
    std::atomic<int> current{0};
    int previous = -1;
    std::chrono::system_clock::time_point previous_retired_at{};
  };

  explicit DeviceKeyStore(Options options) : options_(options) {}

  Options options_;
  std::vector<std::unique_ptr<DeviceKeys>> devices_;
};

// The public keys as one JSON line:
// {"event":"keys","keys":[{"device":..,"name":..,"public_key":..,"key_id":..,"current":..}]}
std::string PublicKeysJson(const std::vector<PublicKeyInfo>& keys);

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_KEYS_H_
