#include "agent/keys.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace lightcone::agent {

absl::StatusOr<std::unique_ptr<DeviceKeyStore>> DeviceKeyStore::Create(
    const std::vector<DeviceConfig>& devices, Options options) {
  if (devices.empty()) return absl::InvalidArgumentError("agent keys: no devices configured");
  if (devices.size() > kMaxConfiguredDevices) {
    return absl::InvalidArgumentError(
        absl::StrCat("agent keys: ", devices.size(), " devices, limit ", kMaxConfiguredDevices));
  }
  options.overlap = std::max(options.overlap, kMinKeyOverlap);
  std::unique_ptr<DeviceKeyStore> store(new DeviceKeyStore(options));
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  for (const DeviceConfig& d : devices) {
    auto keys = std::make_unique<DeviceKeys>();
    keys->id = d.id;
    keys->name = d.name;
    auto key = crypto::SigningKey::Generate();
    if (!key.ok()) return key.status();
    keys->slots[0].emplace(*std::move(key));
    keys->created_unix_s[0] = now_s;
    store->devices_.push_back(std::move(keys));
  }
  return store;
}

int DeviceKeyStore::Find(const wire::Id& device_id) const {
  for (size_t i = 0; i < devices_.size(); ++i) {
    if (std::memcmp(devices_[i]->id.data(), device_id.data(), wire::kIdBytes) == 0) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void DeviceKeyStore::Sign(int index, const wire::Challenge& challenge, wire::Reply* reply) const {
  const DeviceKeys& d = *devices_[index];
  int slot = d.current.load(std::memory_order_acquire);
  wire::SignReply(challenge, *d.slots[slot], reply);
}

absl::Status DeviceKeyStore::RotateAll(std::chrono::system_clock::time_point now) {
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  for (auto& d : devices_) {
    int current = d->current.load(std::memory_order_relaxed);
    int next = (current + 1) % kSlots;
    if (next == d->previous) next = (next + 1) % kSlots;
    auto key = crypto::SigningKey::Generate();
    if (!key.ok()) return key.status();
    // `next` is neither current nor previous: no reader can be using it.
    d->slots[next].reset();
    d->slots[next].emplace(*std::move(key));
    d->created_unix_s[next] = now_s;
    if (d->previous >= 0 && d->previous != current) d->slots[d->previous].reset();
    d->previous = current;
    d->previous_retired_at = now;
    d->current.store(next, std::memory_order_release);
  }
  return absl::OkStatus();
}

void DeviceKeyStore::ExpirePrevious(std::chrono::system_clock::time_point now) {
  for (auto& d : devices_) {
    if (d->previous >= 0 && now - d->previous_retired_at >= options_.overlap) {
      d->slots[d->previous].reset();  // SigningKey's destructor wipes the secret
      d->previous = -1;
    }
  }
}

std::vector<PublicKeyInfo> DeviceKeyStore::PublicKeys() const {
  std::vector<PublicKeyInfo> out;
  for (const auto& d : devices_) {
    int current = d->current.load(std::memory_order_acquire);
    for (int slot : {current, d->previous}) {
      if (slot < 0 || !d->slots[slot].has_value()) continue;
      const crypto::SigningKey& key = *d->slots[slot];
      out.push_back({d->id, d->name, key.public_key(), key.key_id(), d->created_unix_s[slot],
                     slot == current});
    }
  }
  return out;
}

std::string PublicKeysJson(const std::vector<PublicKeyInfo>& keys) {
  nlohmann::json list = nlohmann::json::array();
  for (const PublicKeyInfo& k : keys) {
    list.push_back({{"device", wire::FormatId(k.device_id)},
                    {"name", k.device_name},
                    {"public_key", crypto::HexEncode(k.public_key)},
                    {"key_id", crypto::FormatKeyId(k.key_id)},
                    {"created_unix_s", k.created_unix_s},
                    {"current", k.current}});
  }
  return nlohmann::json{{"event", "keys"}, {"keys", std::move(list)}}.dump();
}

}  // namespace lightcone::agent
