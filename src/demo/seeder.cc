#include "demo/seeder.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/crypto.h"
#include "core/status_macros.h"
#include "core/wire_record.h"
#include "demo/health_model.h"
#include "demo/summary.h"
#include "server/fleet/fleet_monitor.h"
#include "sodium.h"

namespace lightcone::demo {
namespace {

using server::Store;

constexpr char kAgentVersion[] = "0.1.0-demo";
constexpr char kVbios[] = "96.00.99.00.01";
// Shipments leave this long before the episode starts.
constexpr absl::Duration kShippedBeforeStart = absl::Hours(48);
// Licences became valid this long before the episode starts.
constexpr absl::Duration kLicenceValidBeforeStart = absl::Hours(24 * 30);

std::string Raw(const uint8_t* p, size_t n) { return std::string(reinterpret_cast<const char*>(p), n); }

std::string Slug(absl::string_view name) {
  std::string out;
  for (char c : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

// Health history: each probe round, every active GPU reports telemetry this many times,
// evenly spread over the time since the previous round (from its start at the earliest),
// stored through Store::RecordTelemetry with kTelemetrySampleInterval. With the default
// options (10 h rounds) a report every 30 min and a sample every hour: ~70 samples per GPU
// over the 70 h episode, ~24 in the dashboard's default 24 h window, plus every XID/ECC event.
constexpr int kTelemetryReportsPerRound = 20;
constexpr absl::Duration kTelemetrySampleInterval = absl::Hours(1);

// One probe of one GPU by one landmark in a round, before signing.
struct Probe {
  int landmark = 0;
  int host = 0;
  int gpu = 0;
};

class Seeder {
 public:
  Seeder(Store& store, const World& world, const SeedOptions& options)
      : store_(store), world_(world), s_(world.scenario()), options_(options) {}

  absl::StatusOr<SeedResult> Run();
  absl::StatusOr<SeedDirectoryResult> DirectoryOnly(absl::Time start);

 private:
  absl::Time At(double at_s) const {
    return start_ + absl::Seconds(at_s * options_.time_scale);
  }
  absl::Status CreateDirectory();
  absl::Status CreateToken(const std::string& key, const std::string& name, server::Role role,
                           int64_t org, int64_t landmark);
  absl::Status StartGroup(int group, absl::Time t);
  absl::Status Round(int round, absl::Time t);
  // The telemetry reports of the active GPUs over (t - one round, t], from each group's start.
  absl::Status ReportTelemetry(absl::Time t);

  Store& store_;
  const World& world_;
  const Scenario& s_;
  SeedOptions options_;
  absl::Time start_;
  SeedResult result_;
  absl::flat_hash_map<std::string, int64_t> org_ids_, site_ids_, licence_ids_;
  std::vector<int64_t> landmark_ids_;
  std::vector<int64_t> host_ids_;           // Per world host; 0 until started.
  std::vector<int64_t> device_ids_;         // Per identity; 0 until first enrolled.
  std::vector<bool> active_;                // Per group.
  std::vector<absl::Time> started_at_;      // Per group: its latest start.
  std::vector<double> added_delay_ms_;      // Per group.
  std::vector<double> lie_factor_;          // Per landmark.
  std::vector<int64_t> batch_sequence_;     // Per landmark.
};

absl::Status Seeder::CreateToken(const std::string& key, const std::string& name,
                                 server::Role role, int64_t org, int64_t landmark) {
  server::ApiToken t;
  t.name = name;
  t.role = role;
  t.organization_id = org;
  t.landmark_id = landmark;
  std::string secret = NewTokenSecret();
  t.secret_sha256 = TokenHash(secret);
  t.created_at = start_;
  LC_RETURN_IF_ERROR(store_.CreateToken(t).status());
  result_.tokens[key] = SeedToken{secret, server::RoleName(role), org, landmark, name};
  return absl::OkStatus();
}

absl::Status Seeder::CreateDirectory() {
  for (const std::string& name : s_.organizations) {
    server::Organization o;
    o.name = name;
    o.created_at = start_;
    LC_ASSIGN_OR_RETURN(server::Organization stored, store_.CreateOrganization(o));
    org_ids_[name] = stored.id;
  }
  for (const ScenarioSite& x : s_.sites) {
    server::Site site;
    site.organization_id = org_ids_[x.organization];
    site.name = x.name;
    site.latitude_deg = x.latitude_deg;
    site.longitude_deg = x.longitude_deg;
    site.radius_km = x.radius_km;
    site.country = x.country;
    LC_ASSIGN_OR_RETURN(server::Site stored, store_.CreateSite(site));
    site_ids_[x.name] = stored.id;
  }
  for (const ScenarioLicence& x : s_.licences) {
    server::Licence l;
    l.organization_id = org_ids_[x.organization];
    l.reference = x.reference;
    l.holder = x.holder;
    l.end_user = x.end_user;
    for (const std::string& name : x.allowed_sites) {
      const ScenarioSite* site = s_.FindSite(name);
      l.allowed_sites.push_back(
          {site->name, site->latitude_deg, site->longitude_deg, site->radius_km});
    }
    l.allowed_countries = x.allowed_countries;
    l.prohibited_regions = x.prohibited_regions;
    for (const ScenarioModelCap& c : x.model_caps) l.model_caps.push_back({c.model, c.max_count});
    l.valid_from = start_ - kLicenceValidBeforeStart;
    l.valid_until = l.valid_from + absl::Hours(24 * x.valid_days);
    LC_ASSIGN_OR_RETURN(server::Licence stored, store_.CreateLicence(l));
    licence_ids_[x.reference] = stored.id;
  }
  for (const WorldLandmark& wl : world_.landmarks()) {
    server::Landmark l;
    l.name = wl.spec->name;
    l.latitude_deg = wl.spec->latitude_deg;
    l.longitude_deg = wl.spec->longitude_deg;
    l.country = wl.spec->country;
    l.public_key = Raw(wl.key->public_key().data(), wl.key->public_key().size());
    l.wire_id = crypto::HexEncode(wl.wire_id);
    l.created_at = start_;
    LC_ASSIGN_OR_RETURN(server::Landmark stored, store_.CreateLandmark(l));
    landmark_ids_.push_back(stored.id);
  }
  // Tokens: one per role for the first organization, operator/agent for the others.
  LC_RETURN_IF_ERROR(CreateToken("admin", "demo-admin", server::Role::kAdmin, 0, 0));
  LC_RETURN_IF_ERROR(CreateToken("auditor", "demo-auditor", server::Role::kAuditor, 0, 0));
  for (size_t i = 0; i < s_.organizations.size(); ++i) {
    const std::string& org = s_.organizations[i];
    std::string suffix = i == 0 ? "" : absl::StrCat("_", Slug(org));
    LC_RETURN_IF_ERROR(CreateToken("operator" + suffix, "demo-operator-" + Slug(org),
                                   server::Role::kOperator, org_ids_[org], 0));
    LC_RETURN_IF_ERROR(CreateToken("agent" + suffix, "demo-agent-" + Slug(org),
                                   server::Role::kAgent, org_ids_[org], 0));
  }
  LC_RETURN_IF_ERROR(CreateToken("landmark", "demo-landmark-" + world_.landmarks()[0].spec->name,
                                 server::Role::kLandmark, 0, landmark_ids_[0]));
  for (const ScenarioShipment& x : s_.shipments) {
    server::Shipment sh;
    sh.organization_id = org_ids_[x.organization];
    sh.licence_id = licence_ids_[x.licence];
    sh.reference = x.reference;
    sh.consignee = x.consignee;
    sh.billed_country = x.billed_country;
    sh.shipped_at = start_ - kShippedBeforeStart;
    for (const std::string& g : x.groups) {
      auto [first, last] = world_.GroupHosts(world_.GroupIndex(g));
      for (int h = first; h < last; ++h) {
        for (int id : world_.hosts()[h].identities) {
          sh.serials.push_back(world_.identities()[id].serial);
        }
      }
    }
    LC_RETURN_IF_ERROR(store_.CreateShipment(sh).status());
  }
  return absl::OkStatus();
}

absl::Status Seeder::StartGroup(int group, absl::Time t) {
  const ScenarioHostGroup& g = s_.groups[group];
  active_[group] = true;
  started_at_[group] = t;
  const int64_t org = org_ids_[g.organization];
  const int64_t site = g.site.empty() ? 0 : site_ids_[g.site];
  const int64_t licence = g.licence.empty() ? 0 : licence_ids_[g.licence];
  auto [first, last] = world_.GroupHosts(group);
  for (int h = first; h < last; ++h) {
    const WorldHost& wh = world_.hosts()[h];
    if (host_ids_[h] == 0) {
      server::Host host;
      host.organization_id = org;
      host.hostname = wh.hostname;
      host.site_id = site;
      host.agent_version = kAgentVersion;
      host.first_seen = t;
      host.last_seen = t;
      LC_ASSIGN_OR_RETURN(server::Host stored, store_.CreateHost(host));
      host_ids_[h] = stored.id;
      ++result_.hosts;
    }
    std::vector<std::string> uuids;
    for (int id : wh.identities) uuids.push_back(world_.identities()[id].uuid);
    for (size_t j = 0; j < wh.identities.size(); ++j) {
      const int id = wh.identities[j];
      const WorldIdentity& ident = world_.identities()[id];
      const DemoKey& key = wh.keys[j];
      server::KeyBinding binding;
      binding.public_key = Raw(key.public_key.data(), key.public_key.size());
      binding.key_id = crypto::FormatKeyId(key.key_id);
      binding.assurance = server::AssuranceLevel::kL0;
      binding.bound_at = t;
      server::DeviceEvent event;
      event.time = t;
      event.host_id = host_ids_[h];
      event.organization_id = org;
      if (device_ids_[id] == 0) {
        server::Device d;
        d.organization_id = org;
        d.host_id = host_ids_[h];
        d.licence_id = licence;
        d.uuid = ident.uuid;
        d.serial = ident.serial;
        d.model = g.model;
        d.architecture = "Hopper";
        d.vbios = kVbios;
        d.pci_bus_id = ident.pci_bus_id;
        d.key = binding;
        d.first_seen = t;
        d.last_seen = t;
        LC_ASSIGN_OR_RETURN(server::Device stored, store_.CreateDevice(d));
        device_ids_[id] = stored.id;
        ++result_.devices;
        event.kind = "enrolled";
        event.details_json =
            nlohmann::json{{"hostname", wh.hostname}, {"serial", ident.serial}}.dump();
      } else {
        // The same identity on another host: what POST /enroll records (docs/api.md).
        LC_ASSIGN_OR_RETURN(server::Device d, store_.GetDevice(device_ids_[id]));
        event.kind = "host_changed";
        event.details_json = nlohmann::json{{"from_host_id", d.host_id},
                                            {"from_organization_id", d.organization_id},
                                            {"from_licence_id", d.licence_id},
                                            {"to_host_id", host_ids_[h]},
                                            {"to_organization_id", org},
                                            {"hostname", wh.hostname}}
                                 .dump();
        if (d.organization_id != org) d.licence_id = 0;
        d.organization_id = org;
        d.host_id = host_ids_[h];
        d.key = binding;
        d.last_seen = t;
        LC_RETURN_IF_ERROR(store_.UpdateDevice(d));
      }
      event.device_id = device_ids_[id];
      LC_RETURN_IF_ERROR(store_.AppendDeviceEvent(event).status());
      server::TopologySnapshot topo;
      topo.device_id = device_ids_[id];
      topo.time = t;
      for (const std::string& u : uuids) {
        if (u != ident.uuid) topo.peer_uuids.push_back(u);
      }
      std::sort(topo.peer_uuids.begin(), topo.peer_uuids.end());
      LC_RETURN_IF_ERROR(store_.AppendTopology(topo).status());
    }
  }
  return absl::OkStatus();
}

absl::Status Seeder::ReportTelemetry(absl::Time t) {
  const int per_round = kTelemetryReportsPerRound;
  if (per_round <= 0) return absl::OkStatus();
  const absl::Duration round = absl::Seconds(options_.probe_interval_s * options_.time_scale);
  const absl::Duration step = round / per_round;
  const absl::Duration episode = absl::Seconds(s_.duration_s * options_.time_scale);
  std::vector<server::Telemetry> reports;
  for (const WorldHost& wh : world_.hosts()) {
    if (!active_[wh.group_index]) continue;
    for (int id : wh.identities) {
      const std::string& uuid = world_.identities()[id].uuid;
      for (int k = 1; k <= per_round; ++k) {
        const absl::Time at = t - round + k * step;
        if (at < started_at_[wh.group_index]) continue;
        reports.push_back(DemoTelemetry(s_.seed, uuid, device_ids_[id], at, start_, episode));
      }
    }
  }
  // Oldest first, so that each device's samples are thinned in time order.
  std::stable_sort(reports.begin(), reports.end(),
                   [](const server::Telemetry& a, const server::Telemetry& b) {
                     return a.time < b.time;
                   });
  return store_.RecordTelemetry(reports, kTelemetrySampleInterval).status();
}

absl::Status Seeder::Round(int round, absl::Time t) {
  // Who probes whom this round.
  std::vector<Probe> probes;
  for (size_t h = 0; h < world_.hosts().size(); ++h) {
    const WorldHost& wh = world_.hosts()[h];
    if (!active_[wh.group_index]) continue;
    for (int l : world_.NearestLandmarks(static_cast<int>(h), options_.landmarks_per_host)) {
      for (size_t j = 0; j < wh.identities.size(); ++j) {
        probes.push_back({l, static_cast<int>(h), static_cast<int>(j)});
      }
    }
  }
  if (probes.empty()) return absl::OkStatus();
  // Sign every reply in parallel.
  std::vector<wire::MeasurementRecord> records(probes.size());
  const int64_t t_ns = absl::ToUnixNanos(t);
  auto work = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const Probe& p = probes[i];
      const WorldHost& wh = world_.hosts()[p.host];
      const WorldIdentity& ident = world_.identities()[wh.identities[p.gpu]];
      std::mt19937_64 rng(StableHash(s_.seed, absl::StrCat("probe/", round, "/", p.host, "/",
                                                            p.gpu, "/", p.landmark)));
      PathDelay path = world_.LandmarkToHost(p.landmark, p.host);
      double rtt_ms = world_.model().SampleRttMs(path, rng) + added_delay_ms_[wh.group_index];
      rtt_ms *= lie_factor_[p.landmark];
      wire::Challenge c;
      c.landmark_id = world_.landmarks()[p.landmark].wire_id;
      c.device_id = ident.wire_id;
      for (size_t k = 0; k < c.nonce.size(); k += 8) {
        uint64_t r = rng();
        std::memcpy(c.nonce.data() + k, &r, 8);
      }
      c.sequence = static_cast<uint64_t>(round) + 1;
      wire::Reply reply;
      wh.keys[p.gpu].SignReply(c, &reply);
      wire::MeasurementRecord& rec = records[i];
      rec.device_id = reply.device_id;
      rec.landmark_id = reply.landmark_id;
      rec.time_unix_ns = t_ns + static_cast<int64_t>(i % 1000) * 1000;
      rec.rtt_ns = static_cast<int64_t>(rtt_ms * 1e6);
      rec.nonce = reply.nonce;
      rec.sequence = reply.sequence;
      rec.key_id = reply.key_id;
      rec.reply_signature = reply.signature;
    }
  };
  const int threads = std::max(1, options_.threads);
  std::vector<std::thread> pool;
  const size_t chunk = (probes.size() + threads - 1) / threads;
  for (int k = 1; k < threads; ++k) {
    size_t b = std::min(probes.size(), k * chunk), e = std::min(probes.size(), (k + 1) * chunk);
    if (b < e) pool.emplace_back(work, b, e);
  }
  work(0, std::min(probes.size(), chunk));
  for (std::thread& th : pool) th.join();

  // Per landmark: signed batches of at most kMaxRecordsPerBatch, stored.
  std::vector<std::vector<size_t>> by_landmark(world_.landmarks().size());
  for (size_t i = 0; i < probes.size(); ++i) by_landmark[probes[i].landmark].push_back(i);
  for (size_t l = 0; l < by_landmark.size(); ++l) {
    const std::vector<size_t>& idx = by_landmark[l];
    for (size_t b = 0; b < idx.size(); b += wire::kMaxRecordsPerBatch) {
      size_t e = std::min(idx.size(), b + wire::kMaxRecordsPerBatch);
      wire::MeasurementBatch batch;
      batch.landmark_id = world_.landmarks()[l].wire_id;
      batch.batch_sequence = static_cast<uint64_t>(++batch_sequence_[l]);
      batch.created_unix_ns = t_ns;
      for (size_t i = b; i < e; ++i) batch.records.push_back(records[idx[i]]);
      LC_RETURN_IF_ERROR(wire::SignBatch(*world_.landmarks()[l].key, &batch));
      server::MeasurementBatch stored;
      stored.landmark_id = landmark_ids_[l];
      stored.batch_sequence = static_cast<int64_t>(batch.batch_sequence);
      stored.measurements.reserve(e - b);
      for (size_t i = b; i < e; ++i) {
        const Probe& p = probes[idx[i]];
        const wire::MeasurementRecord& rec = records[idx[i]];
        server::Measurement m;
        m.device_id = device_ids_[world_.hosts()[p.host].identities[p.gpu]];
        m.landmark_id = landmark_ids_[l];
        m.time = absl::FromUnixNanos(rec.time_unix_ns);
        m.rtt_ns = rec.rtt_ns;
        m.nonce = Raw(rec.nonce.data(), rec.nonce.size());
        m.sequence = static_cast<int64_t>(rec.sequence);
        m.key_id = crypto::FormatKeyId(rec.key_id);
        m.reply_signature = Raw(rec.reply_signature.data(), rec.reply_signature.size());
        stored.measurements.push_back(std::move(m));
      }
      LC_ASSIGN_OR_RETURN(server::IngestResult r, store_.IngestMeasurements(stored));
      result_.measurements += r.inserted;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SeedDirectoryResult> Seeder::DirectoryOnly(absl::Time start) {
  start_ = start;
  LC_RETURN_IF_ERROR(CreateDirectory());
  for (size_t l = 1; l < world_.landmarks().size(); ++l) {
    const std::string& name = world_.landmarks()[l].spec->name;
    LC_RETURN_IF_ERROR(CreateToken("landmark_" + name, "demo-landmark-" + name,
                                   server::Role::kLandmark, 0, landmark_ids_[l]));
  }
  SeedDirectoryResult out;
  out.organization_ids.insert(org_ids_.begin(), org_ids_.end());
  out.site_ids.insert(site_ids_.begin(), site_ids_.end());
  out.licence_ids.insert(licence_ids_.begin(), licence_ids_.end());
  out.landmark_ids = landmark_ids_;
  out.tokens = result_.tokens;
  out.tokens["landmark_" + world_.landmarks()[0].spec->name] = result_.tokens["landmark"];
  return out;
}

absl::StatusOr<SeedResult> Seeder::Run() {
  LC_RETURN_IF_ERROR(crypto::InitSodium());
  start_ = options_.now - absl::Seconds(s_.duration_s * options_.time_scale);
  result_.episode_start = start_;
  host_ids_.assign(world_.hosts().size(), 0);
  device_ids_.assign(world_.identities().size(), 0);
  active_.assign(s_.groups.size(), false);
  started_at_.assign(s_.groups.size(), absl::InfiniteFuture());
  added_delay_ms_.assign(s_.groups.size(), 0);
  lie_factor_.assign(world_.landmarks().size(), 1.0);
  batch_sequence_.assign(world_.landmarks().size(), 0);
  LC_RETURN_IF_ERROR(CreateDirectory());
  result_.landmarks = static_cast<int64_t>(landmark_ids_.size());

  std::unique_ptr<server::fleet::FleetMonitor> monitor;
  if (options_.run_fleet) {
    server::fleet::FleetMonitorOptions fo;
    fo.threads = std::max(1, options_.threads);
    fo.verdict.window =
        absl::Seconds(options_.probe_interval_s * options_.window_rounds * options_.time_scale);
    monitor = std::make_unique<server::fleet::FleetMonitor>(&store_, fo);
  }
  size_t next_step = 0;
  const int rounds = static_cast<int>(s_.duration_s / options_.probe_interval_s) + 1;
  for (int round = 0; round < rounds; ++round) {
    const double round_s = round * options_.probe_interval_s;
    // Steps up to and including this round's time happen before its probes.
    while (next_step < s_.steps.size() && s_.steps[next_step].at_s <= round_s) {
      const ScenarioStep& st = s_.steps[next_step++];
      const absl::Time t = At(st.at_s);
      for (const std::string& name : st.groups) {
        int g = world_.GroupIndex(name);
        switch (st.action) {
          case StepAction::kStart:
            if (!s_.groups[g].identities_from.empty()) {
              result_.diverted_since = std::min(result_.diverted_since, t);
            }
            LC_RETURN_IF_ERROR(StartGroup(g, t));
            break;
          case StepAction::kGoDark: active_[g] = false; break;
          case StepAction::kAddDelay: added_delay_ms_[g] += st.delay_ms; break;
          case StepAction::kLandmarkLies: break;
        }
      }
      if (st.action == StepAction::kLandmarkLies) {
        for (size_t l = 0; l < world_.landmarks().size(); ++l) {
          if (world_.landmarks()[l].spec->name == st.landmark) lie_factor_[l] = st.rtt_factor;
        }
      }
    }
    const absl::Time t = At(round_s);
    LC_RETURN_IF_ERROR(Round(round, t));
    LC_RETURN_IF_ERROR(ReportTelemetry(t));
    if (monitor) {
      LC_RETURN_IF_ERROR(monitor->RunPass(t + absl::Seconds(1)).status());
      ++result_.fleet_passes;
    }
  }
  if (monitor) {
    SummaryOptions so;
    so.diverted_since = result_.diverted_since;
    LC_ASSIGN_OR_RETURN(result_.summary, BuildSummary(store_, world_, so));
  }
  return std::move(result_);
}

}  // namespace

nlohmann::json TokensJson(const std::map<std::string, SeedToken>& tokens) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, t] : tokens) {
    out[key] = {{"token", t.secret},
                {"role", t.role},
                {"organization_id", t.organization_id},
                {"landmark_id", t.landmark_id},
                {"name", t.name}};
  }
  return out;
}

std::string NewTokenSecret() {
  std::array<uint8_t, 20> bytes;
  crypto::RandomBytes(bytes);
  return "lc_" + crypto::HexEncode(bytes);
}

std::string TokenHash(const std::string& secret) {
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const uint8_t*>(secret.data()),
                     secret.size());
  return crypto::HexEncode(digest);
}

absl::StatusOr<SeedDirectoryResult> SeedDirectory(Store& store, const World& world,
                                                  absl::Time start) {
  Seeder seeder(store, world, SeedOptions{});
  return seeder.DirectoryOnly(start);
}

absl::StatusOr<SeedResult> SeedStore(Store& store, const World& world,
                                     const SeedOptions& options) {
  if (options.time_scale <= 0 || options.probe_interval_s <= 0 ||
      options.landmarks_per_host < 1) {
    return absl::InvalidArgumentError(
        "seed options: time_scale, probe_interval_s and landmarks_per_host must be positive");
  }
  Seeder seeder(store, world, options);
  return seeder.Run();
}

}  // namespace lightcone::demo
