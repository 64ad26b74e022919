// The concrete world of a scenario: every landmark, host and GPU with its identity (UUID,
// serial, wire id), its Ed25519 key and the modelled delay of every landmark-to-host path.
// Everything is derived from the scenario's seed, so `lightcone demo seed` and `lightcone
// demo` build the same world and the same keys on every run.
//
// Path delay: landmark -> GPU host, from the latency model; for a group behind a relay it
// is landmark -> relay -> GPU host (the two model paths added, the relay's own overhead
// counted once). The vacuum bound holds for the whole chain because it holds for each leg
// and the direct distance is at most the sum of the legs.
//
// World is move-only (it holds signing keys); const methods are thread-safe.
#ifndef LIGHTCONE_DEMO_WORLD_H_
#define LIGHTCONE_DEMO_WORLD_H_

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "demo/latency_model.h"
#include "demo/scenario.h"

namespace lightcone::demo {

// Overhead of a relay's own hop (forwarding in user space on a host at the relay place).
inline constexpr double kRelayOverheadMs = 0.1;

// A GPU session key of the simulated world. Unlike crypto::SigningKey it lives in ordinary
// memory: the world has up to hundreds of thousands of them, all derived from the public
// scenario seed, so there is nothing to protect (and sodium_malloc's guard pages would
// exhaust the process's memory mappings).
struct DemoKey {
  std::array<uint8_t, crypto::kSecretKeyBytes> secret{};
  crypto::PublicKey public_key{};
  crypto::KeyId key_id = 0;

  static DemoKey FromSeed(const std::array<uint8_t, crypto::kSeedBytes>& seed);
  void Sign(std::span<const uint8_t> message, crypto::Signature* signature) const;
  // The reply a device with this key sends to `challenge` (wire::SignReply's result).
  void SignReply(const wire::Challenge& challenge, wire::Reply* reply) const;
};

struct WorldLandmark {
  const ScenarioLandmark* spec = nullptr;
  wire::Id wire_id{};
  std::array<uint8_t, crypto::kSeedBytes> key_seed{};
  std::shared_ptr<crypto::SigningKey> key;
  double overhead_ms = 0;
};

// One GPU identity (shared by a group and the groups that reuse its identities).
struct WorldIdentity {
  std::string uuid;  // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
  wire::Id wire_id{};
  std::string serial;  // 13 digits
  std::string pci_bus_id;
};

struct WorldHost {
  const ScenarioHostGroup* group = nullptr;
  int group_index = 0;  // Index of the group in the scenario.
  int index = 0;        // Host index within the group.
  std::string hostname;
  double overhead_ms = 0;
  // Indexes into World::identities() of its GPUs, in GPU order.
  std::vector<int> identities;
  // One session key per GPU (a host that reuses identities has keys of its own).
  std::vector<DemoKey> keys;
  std::vector<std::array<uint8_t, crypto::kSeedBytes>> key_seeds;
};

class World {
 public:
  // Builds the world (generates every key: ~20 us each). InvalidArgument for a scenario
  // whose groups cannot be resolved.
  static absl::StatusOr<World> Build(const Scenario& scenario, const LatencyModel& model);

  const Scenario& scenario() const { return *scenario_; }
  const LatencyModel& model() const { return model_; }
  const std::vector<WorldLandmark>& landmarks() const { return landmarks_; }
  const std::vector<WorldIdentity>& identities() const { return identities_; }
  const std::vector<WorldHost>& hosts() const { return hosts_; }
  // Hosts of group `group_index`, as [first, last) indexes into hosts().
  std::pair<int, int> GroupHosts(int group_index) const { return group_hosts_[group_index]; }
  int GroupIndex(absl::string_view name) const;

  // The modelled path between landmark `l` and host `h` (indexes).
  PathDelay LandmarkToHost(int l, int h) const;
  // The `k` landmarks nearest to where host `h` is probed from (its declared site, else its
  // relay, else its real position), nearest first.
  std::vector<int> NearestLandmarks(int h, int k) const;

 private:
  World() = default;
  static int GroupIndexIn(const Scenario& s, absl::string_view name);

  std::unique_ptr<Scenario> scenario_;
  LatencyModel model_ = LatencyModel::Default();
  std::vector<WorldLandmark> landmarks_;
  std::vector<WorldIdentity> identities_;
  std::vector<WorldHost> hosts_;
  std::vector<std::pair<int, int>> group_hosts_;
  std::vector<int> group_first_identity_;  // Per group: first identity index of its identity group.
};

// Deterministic 32-byte key seed of `name` under `seed`.
std::array<uint8_t, crypto::kSeedBytes> KeySeed(uint64_t seed, absl::string_view name);

}  // namespace lightcone::demo

#endif  // LIGHTCONE_DEMO_WORLD_H_
