#include "demo/world.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sodium.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"

namespace lightcone::demo {
namespace {

wire::Id IdFor(uint64_t seed, absl::string_view name) {
  wire::Id id{};
  uint64_t a = StableHash(seed, absl::StrCat("id1/", name));
  uint64_t b = StableHash(seed, absl::StrCat("id2/", name));
  std::memcpy(id.data(), &a, 8);
  std::memcpy(id.data() + 8, &b, 8);
  return id;
}

}  // namespace

DemoKey DemoKey::FromSeed(const std::array<uint8_t, crypto::kSeedBytes>& seed) {
  DemoKey k;
  crypto_sign_seed_keypair(k.public_key.data(), k.secret.data(), seed.data());
  k.key_id = crypto::ComputeKeyId(k.public_key);
  return k;
}

void DemoKey::Sign(std::span<const uint8_t> message, crypto::Signature* signature) const {
  crypto_sign_detached(signature->data(), nullptr, message.data(), message.size(), secret.data());
}

void DemoKey::SignReply(const wire::Challenge& challenge, wire::Reply* reply) const {
  reply->device_id = challenge.device_id;
  reply->landmark_id = challenge.landmark_id;
  reply->nonce = challenge.nonce;
  reply->sequence = challenge.sequence;
  reply->key_id = key_id;
  std::array<uint8_t, wire::kReplySignedMessageBytes> msg;
  wire::ReplySignedMessage(*reply, msg);
  Sign(msg, &reply->signature);
}

std::array<uint8_t, crypto::kSeedBytes> KeySeed(uint64_t seed, absl::string_view name) {
  std::array<uint8_t, crypto::kSeedBytes> out{};
  for (int i = 0; i < 4; ++i) {
    uint64_t h = StableHash(seed, absl::StrCat("key/", i, "/", name));
    std::memcpy(out.data() + 8 * i, &h, 8);
  }
  return out;
}

absl::StatusOr<World> World::Build(const Scenario& scenario, const LatencyModel& model) {
  LC_RETURN_IF_ERROR(crypto::InitSodium());
  World w;
  w.scenario_ = std::make_unique<Scenario>(scenario);
  w.model_ = model;
  const Scenario& s = *w.scenario_;
  const uint64_t seed = s.seed;
  for (const ScenarioLandmark& l : s.landmarks) {
    WorldLandmark wl;
    wl.spec = &l;
    wl.wire_id = IdFor(seed, absl::StrCat("landmark/", l.name));
    wl.key_seed = KeySeed(seed, absl::StrCat("landmark/", l.name));
    LC_ASSIGN_OR_RETURN(crypto::SigningKey key, crypto::SigningKey::FromSeed(wl.key_seed));
    wl.key = std::make_shared<crypto::SigningKey>(std::move(key));
    wl.overhead_ms = l.overhead_ms.value_or(model.HostOverheadMs(absl::StrCat("landmark/", l.name)));
    w.landmarks_.push_back(std::move(wl));
  }
  // Identities of every group that has its own.
  std::vector<int> first_identity(s.groups.size(), -1);
  for (size_t g = 0; g < s.groups.size(); ++g) {
    const ScenarioHostGroup& group = s.groups[g];
    if (!group.identities_from.empty()) continue;
    first_identity[g] = static_cast<int>(w.identities_.size());
    for (int i = 0; i < group.hosts * group.gpus_per_host; ++i) {
      WorldIdentity id;
      std::string name = absl::StrCat("gpu/", group.name, "/", i);
      id.wire_id = IdFor(seed, name);
      id.uuid = absl::StrCat("GPU-", wire::FormatId(id.wire_id));
      id.serial = absl::StrFormat("1652%09d", static_cast<int>(StableHash(seed, name) % 1000000000));
      int gpu = i % group.gpus_per_host;
      id.pci_bus_id = absl::StrFormat("00000000:%02X:00.0", 0x18 + gpu * 0x10 % 0xE0);
      w.identities_.push_back(std::move(id));
    }
  }
  for (size_t g = 0; g < s.groups.size(); ++g) {
    const ScenarioHostGroup& group = s.groups[g];
    int src = static_cast<int>(g);
    if (!group.identities_from.empty()) {
      src = w.GroupIndexIn(s, group.identities_from);
      if (src < 0) {
        return absl::InvalidArgumentError(absl::StrCat("group ", group.name,
                                                       ": unknown identities_from"));
      }
    }
    w.group_first_identity_.push_back(first_identity[src]);
    int first_host = static_cast<int>(w.hosts_.size());
    for (int h = 0; h < group.hosts; ++h) {
      WorldHost host;
      host.group = &group;
      host.group_index = static_cast<int>(g);
      host.index = h;
      host.hostname = HostName(group, h);
      host.overhead_ms =
          group.overhead_ms.value_or(model.HostOverheadMs(absl::StrCat("host/", host.hostname)));
      for (int j = 0; j < group.gpus_per_host; ++j) {
        host.identities.push_back(first_identity[src] + h * group.gpus_per_host + j);
        host.key_seeds.push_back(KeySeed(seed, absl::StrCat("gpu-key/", host.hostname, "/", j)));
        host.keys.push_back(DemoKey::FromSeed(host.key_seeds.back()));
      }
      w.hosts_.push_back(std::move(host));
    }
    w.group_hosts_.push_back({first_host, static_cast<int>(w.hosts_.size())});
  }
  return w;
}

int World::GroupIndexIn(const Scenario& s, absl::string_view name) {
  for (size_t g = 0; g < s.groups.size(); ++g) {
    if (s.groups[g].name == name) return static_cast<int>(g);
  }
  return -1;
}

int World::GroupIndex(absl::string_view name) const { return GroupIndexIn(*scenario_, name); }

PathDelay World::LandmarkToHost(int l, int h) const {
  const WorldLandmark& lm = landmarks_[l];
  const WorldHost& host = hosts_[h];
  const ScenarioHostGroup& g = *host.group;
  const std::string lname = absl::StrCat("landmark/", lm.spec->name);
  const std::string hname = absl::StrCat("host/", host.hostname);
  if (!g.relay_latitude_deg.has_value()) {
    double d = GreatCircleKm(lm.spec->latitude_deg, lm.spec->longitude_deg, g.latitude_deg,
                             g.longitude_deg);
    return model_.PathWithOverheads(lname, hname, d, lm.overhead_ms, host.overhead_ms);
  }
  const std::string rname = absl::StrCat("relay/", g.name);
  double d1 = GreatCircleKm(lm.spec->latitude_deg, lm.spec->longitude_deg, *g.relay_latitude_deg,
                            *g.relay_longitude_deg);
  double d2 = GreatCircleKm(*g.relay_latitude_deg, *g.relay_longitude_deg, g.latitude_deg,
                            g.longitude_deg);
  PathDelay a = model_.PathWithOverheads(lname, rname, d1, lm.overhead_ms, kRelayOverheadMs);
  PathDelay b = model_.PathWithOverheads(rname, hname, d2, 0, host.overhead_ms);
  PathDelay p;
  p.distance_km = GreatCircleKm(lm.spec->latitude_deg, lm.spec->longitude_deg, g.latitude_deg,
                                g.longitude_deg);
  p.base_rtt_ms = a.base_rtt_ms + b.base_rtt_ms;
  p.inflation = (a.base_rtt_ms + b.base_rtt_ms) / std::max(1e-9, a.base_rtt_ms / a.inflation +
                                                                   b.base_rtt_ms / b.inflation);
  p.light_bound_rtt_ms = 2 * p.distance_km / kLightKmPerMs;
  p.jitter_mean_ms = a.jitter_mean_ms + b.jitter_mean_ms;
  return p;
}

std::vector<int> World::NearestLandmarks(int h, int k) const {
  const ScenarioHostGroup& g = *hosts_[h].group;
  double lat = g.latitude_deg, lon = g.longitude_deg;
  if (const ScenarioSite* site = scenario_->FindSite(g.site)) {
    lat = site->latitude_deg;
    lon = site->longitude_deg;
  } else if (g.relay_latitude_deg) {
    lat = *g.relay_latitude_deg;
    lon = *g.relay_longitude_deg;
  }
  std::vector<int> order(landmarks_.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> dist(landmarks_.size());
  for (size_t i = 0; i < landmarks_.size(); ++i) {
    dist[i] = GreatCircleKm(lat, lon, landmarks_[i].spec->latitude_deg,
                            landmarks_[i].spec->longitude_deg);
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return dist[a] < dist[b]; });
  order.resize(std::min<size_t>(order.size(), std::max(0, k)));
  return order;
}

}  // namespace lightcone::demo
