// Agent endpoints: POST /enroll, POST /devices/{uuid}/key-binding, POST /telemetry.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <set>

#include "absl/strings/str_cat.h"
#include "agent/gpu/key_binding.h"
#include "attest/spdm_report.h"
#include "core/logging.h"
#include "server/api/api_context.h"

namespace lightcone::server::api {
namespace {

// A PEM chain of a handful of certificates is a few KiB; this bounds hostile input.
constexpr size_t kMaxCertificateChainBytes = 256 * 1024;

struct EnrollDevice {
  std::string uuid, serial, model, architecture, vbios, pci_bus_id, ueid;
  bool has_peers = false;
  std::vector<std::string> peers;
};

absl::StatusOr<Response> Enroll(ApiContext* ctx, const Request& req) {
  const int64_t org = req.principal->organization_id;
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  FieldReader r(*body, "");
  const std::string hostname = r.String("hostname", true);
  if (r.ok() && hostname.empty()) r.Fail("hostname", "must not be empty");
  const std::string probe_address = r.String("probe_address", false);
  const std::string agent_version = r.String("agent_version", false);
  const std::string site_name = r.String("site", false);
  const Json* devices_json = r.Array("devices", true);
  if (!r.ok()) return r.status();
  if (devices_json->size() > kMaxEnrollDevices) {
    return absl::InvalidArgumentError(
        absl::StrCat("devices: more than ", kMaxEnrollDevices, " devices in one enrollment"));
  }
  std::vector<EnrollDevice> devices;
  std::set<std::string> seen;
  for (size_t i = 0; i < devices_json->size(); ++i) {
    FieldReader d((*devices_json)[i], absl::StrCat("devices[", i, "]"));
    EnrollDevice e;
    const std::string uuid = d.String("uuid", true);
    e.serial = d.String("serial", false);
    e.model = d.String("model", false);
    e.architecture = d.String("architecture", false);
    e.vbios = d.String("vbios", false);
    e.pci_bus_id = d.String("pci_bus_id", false);
    e.ueid = d.String("ueid", false);
    e.has_peers = d.Has("nvlink_peers");
    std::vector<std::string> peers = d.StringList("nvlink_peers", false);
    if (!d.ok()) return d.status();
    absl::StatusOr<std::string> canonical = CanonicalUuid(uuid);
    if (!canonical.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("devices[", i, "].uuid: ", canonical.status().message()));
    }
    e.uuid = *canonical;
    if (!seen.insert(e.uuid).second) {
      return absl::InvalidArgumentError(absl::StrCat("devices[", i, "].uuid: ", e.uuid,
                                                     " appears twice"));
    }
    for (size_t p = 0; p < peers.size(); ++p) {
      absl::StatusOr<std::string> peer = CanonicalUuid(peers[p]);
      if (!peer.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("devices[", i, "].nvlink_peers[", p,
                                                       "]: ", peer.status().message()));
      }
      e.peers.push_back(*peer);
    }
    std::sort(e.peers.begin(), e.peers.end());
    e.peers.erase(std::unique(e.peers.begin(), e.peers.end()), e.peers.end());
    devices.push_back(std::move(e));
  }

  const absl::Time now = absl::Now();
  // Declared site (by name within the organization); unknown names leave the host's site.
  int64_t site_id = -1;
  if (!site_name.empty()) {
    absl::StatusOr<std::vector<Site>> sites = ctx->store->ListSites(org);
    if (!sites.ok()) return sites.status();
    for (const Site& s : *sites) {
      if (s.name == site_name) site_id = s.id;
    }
    if (site_id < 0) {
      Logger("server")->warn("enroll {}: declared site '{}' is not a site of organization {}",
                             hostname, site_name, org);
    }
  }
  absl::StatusOr<Host> host = ctx->store->GetHostByName(org, hostname);
  if (absl::IsNotFound(host.status())) {
    Host h;
    h.organization_id = org;
    h.hostname = hostname;
    h.first_seen = now;
    h.last_seen = now;
    h.site_id = std::max<int64_t>(site_id, 0);
    h.probe_address = probe_address;
    h.agent_version = agent_version;
    host = ctx->store->CreateHost(h);
  } else if (host.ok()) {
    host->last_seen = now;
    if (site_id >= 0) host->site_id = site_id;
    host->probe_address = probe_address;
    host->agent_version = agent_version;
    absl::Status updated = ctx->store->UpdateHost(*host);
    if (!updated.ok()) return updated;
  }
  if (!host.ok()) return host.status();

  Json out_devices = Json::array();
  for (const EnrollDevice& e : devices) {
    absl::StatusOr<Device> device = ctx->store->GetDeviceByUuid(e.uuid);
    if (absl::IsNotFound(device.status())) {
      Device d;
      d.organization_id = org;
      d.host_id = host->id;
      d.uuid = e.uuid;
      d.serial = e.serial;
      d.ueid = e.ueid;
      d.model = e.model;
      d.architecture = e.architecture;
      d.vbios = e.vbios;
      d.pci_bus_id = e.pci_bus_id;
      d.first_seen = now;
      d.last_seen = now;
      device = ctx->store->CreateDevice(d);
      if (!device.ok()) return device.status();
      DeviceEvent event;
      event.device_id = device->id;
      event.time = now;
      event.kind = "enrolled";
      event.host_id = host->id;
      event.organization_id = org;
      event.details_json = Json{{"hostname", hostname}, {"serial", e.serial}}.dump();
      absl::StatusOr<DeviceEvent> appended = ctx->store->AppendDeviceEvent(event);
      if (!appended.ok()) return appended.status();
    } else if (device.ok()) {
      if (device->host_id != host->id || device->organization_id != org) {
        DeviceEvent event;
        event.device_id = device->id;
        event.time = now;
        event.kind = "host_changed";
        event.host_id = host->id;
        event.organization_id = org;
        event.details_json = Json{{"from_host_id", device->host_id},
                                  {"from_organization_id", device->organization_id},
                                  {"from_licence_id", device->licence_id},
                                  {"to_host_id", host->id},
                                  {"to_organization_id", org},
                                  {"hostname", hostname}}
                                 .dump();
        absl::StatusOr<DeviceEvent> appended = ctx->store->AppendDeviceEvent(event);
        if (!appended.ok()) return appended.status();
      }
      // Only what enrollment knows: a key bound or a licence set meanwhile stays. The store
      // clears the licence when the organization changes (a licence does not follow the
      // device into another organization).
      DevicePlacement placement;
      placement.device_id = device->id;
      placement.organization_id = org;
      placement.host_id = host->id;
      placement.serial = e.serial;
      placement.ueid = e.ueid;
      placement.model = e.model;
      placement.architecture = e.architecture;
      placement.vbios = e.vbios;
      placement.pci_bus_id = e.pci_bus_id;
      placement.last_seen = now;
      absl::Status updated = ctx->store->UpdateDevicePlacement(placement);
      if (!updated.ok()) return updated;
    } else {
      return device.status();
    }
    if (e.has_peers) {
      absl::StatusOr<TopologySnapshot> latest = ctx->store->LatestTopology(device->id);
      if (!latest.ok() && !absl::IsNotFound(latest.status())) return latest.status();
      if (!latest.ok() || latest->peer_uuids != e.peers) {
        TopologySnapshot snapshot;
        snapshot.device_id = device->id;
        snapshot.time = now;
        snapshot.peer_uuids = e.peers;
        absl::StatusOr<TopologySnapshot> appended = ctx->store->AppendTopology(snapshot);
        if (!appended.ok()) return appended.status();
      }
    }
    std::array<uint8_t, 32> nonce;
    crypto::RandomBytes(nonce);
    {
      absl::MutexLock lock(&ctx->nonce_mu);
      if (ctx->nonces.size() >= kMaxPendingNonces) {
        for (auto it = ctx->nonces.begin(); it != ctx->nonces.end();) {
          it = it->second.expires < now ? ctx->nonces.erase(it) : std::next(it);
        }
        if (ctx->nonces.size() >= kMaxPendingNonces) ctx->nonces.clear();
      }
      ctx->nonces[e.uuid] = {std::string(nonce.begin(), nonce.end()),
                             now + ctx->options.key_binding_nonce_ttl};
    }
    out_devices.push_back(
        {{"uuid", e.uuid}, {"id", device->id}, {"key_binding_nonce", crypto::HexEncode(nonce)}});
  }
  return JsonOk({{"host_id", host->id}, {"devices", out_devices}});
}

absl::StatusOr<Response> BindKey(ApiContext* ctx, const Request& req) {
  absl::StatusOr<std::string> uuid = CanonicalUuid(req.Param("uuid"));
  if (!uuid.ok()) return uuid.status();
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  FieldReader r(*body, "");
  const std::string public_key_hex = r.String("public_key", true);
  const std::string key_id_hex = r.String("key_id", true);
  const std::string assurance_name = r.String("assurance", true);
  if (!r.ok()) return r.status();
  absl::StatusOr<crypto::PublicKey> public_key = crypto::ParsePublicKey(public_key_hex);
  if (!public_key.ok()) {
    return absl::InvalidArgumentError("public_key: must be 64 hex digits (an Ed25519 public key)");
  }
  absl::StatusOr<crypto::KeyId> key_id = crypto::ParseKeyId(key_id_hex);
  if (!key_id.ok()) return absl::InvalidArgumentError("key_id: must be 16 hex digits");
  if (*key_id != crypto::ComputeKeyId(*public_key)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key_id: ", key_id_hex, " is not the key id of public_key (",
        crypto::FormatKeyId(crypto::ComputeKeyId(*public_key)), ")"));
  }
  absl::StatusOr<AssuranceLevel> assurance = ParseAssurance(assurance_name);
  if (!assurance.ok()) return absl::InvalidArgumentError(absl::StrCat("assurance: ", assurance.status().message()));
  if (*assurance != AssuranceLevel::kL0 && *assurance != AssuranceLevel::kL1) {
    return absl::InvalidArgumentError(
        absl::StrCat("assurance: ", assurance_name, " bindings are not supported (L0 or L1)"));
  }
  absl::StatusOr<Device> device = ctx->store->GetDeviceByUuid(*uuid);
  if (!device.ok()) return device.status();
  absl::Status in_scope =
      CheckScope(*req.principal, device->organization_id, absl::StrCat("device ", *uuid));
  if (!in_scope.ok()) return in_scope;

  const absl::Time now = absl::Now();
  KeyBinding binding;
  binding.public_key = std::string(public_key->begin(), public_key->end());
  binding.key_id = crypto::FormatKeyId(*key_id);
  binding.assurance = *assurance;
  binding.bound_at = now;
  std::string ueid;
  if (*assurance == AssuranceLevel::kL1) {
    const std::string evidence_hex = r.String("evidence", true, "", 2 * attest::kMaxReportBytes);
    const std::string certificates = r.String("certificates", true, "", kMaxCertificateChainBytes);
    if (!r.ok()) return r.status();
    if (evidence_hex.size() % 2 != 0 || evidence_hex.size() / 2 > attest::kMaxReportBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "evidence: must be hex of at most ", attest::kMaxReportBytes, " bytes"));
    }
    std::vector<uint8_t> report(evidence_hex.size() / 2);
    if (!crypto::HexDecode(evidence_hex, report).ok()) {
      return absl::InvalidArgumentError("evidence: not hex");
    }
    std::string server_nonce;
    {
      absl::MutexLock lock(&ctx->nonce_mu);
      auto it = ctx->nonces.find(*uuid);
      if (it != ctx->nonces.end() && it->second.expires >= now) server_nonce = it->second.nonce;
    }
    if (server_nonce.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "device ", *uuid, ": no valid key_binding_nonce; POST /enroll first to get one"));
    }
    attest::Evidence evidence;
    evidence.report = std::move(report);
    evidence.certificate_chain_pem = certificates;
    evidence.expected_nonce = agent::KeyBindingNonce(
        *public_key, std::span<const uint8_t>(
                         reinterpret_cast<const uint8_t*>(server_nonce.data()), server_nonce.size()));
    const attest::VerificationResult result = ctx->verifier->Verify(evidence);
    if (!result.valid) {
      std::string reasons;
      for (size_t i = 0; i < result.reasons.size(); ++i) {
        absl::StrAppend(&reasons, i == 0 ? "" : ", ", result.reasons[i]);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("evidence: attestation rejected (", reasons, ")"));
    }
    std::array<uint8_t, crypto_hash_sha256_BYTES> digest;
    crypto_hash_sha256(digest.data(), evidence.report.data(), evidence.report.size());
    binding.evidence_sha256 = crypto::HexEncode(digest);
    ueid = result.ueid;
    absl::MutexLock lock(&ctx->nonce_mu);
    ctx->nonces.erase(*uuid);  // single use
  }
  const std::string previous_ueid = device->ueid;
  device->key = binding;
  if (!ueid.empty()) device->ueid = ueid;
  // Only the binding (and the attested ueid): an enrollment or licence change landing
  // meanwhile stays.
  absl::Status updated =
      ctx->store->BindDeviceKey(device->id, device->organization_id, binding, ueid, now);
  if (!updated.ok()) return updated;
  ctx->device_keys->Invalidate(*uuid);
  DeviceEvent event;
  event.device_id = device->id;
  event.time = now;
  event.kind = "key_bound";
  event.host_id = device->host_id;
  event.organization_id = device->organization_id;
  Json details = {{"key_id", binding.key_id}, {"assurance", assurance_name}};
  if (!ueid.empty()) details["ueid"] = ueid;
  if (!ueid.empty() && !previous_ueid.empty() && ueid != previous_ueid) {
    details["previous_ueid"] = previous_ueid;
  }
  event.details_json = details.dump();
  absl::StatusOr<DeviceEvent> appended = ctx->store->AppendDeviceEvent(event);
  if (!appended.ok()) return appended.status();
  return JsonOk({{"device_id", device->id}, {"uuid", device->uuid}, {"key", KeyToJson(binding)},
                 {"ueid", device->ueid}});
}

absl::StatusOr<Response> PostTelemetry(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  FieldReader r(*body, "");
  const Json* devices = r.Array("devices", true);
  if (!r.ok()) return r.status();
  if (devices->size() > kMaxTelemetryDevices) {
    return absl::InvalidArgumentError(absl::StrCat("devices: more than ", kMaxTelemetryDevices));
  }
  std::vector<std::pair<std::string, Telemetry>> parsed;
  for (size_t i = 0; i < devices->size(); ++i) {
    FieldReader d((*devices)[i], absl::StrCat("devices[", i, "]"));
    const std::string uuid = d.String("uuid", true);
    Telemetry t;
    t.time = d.Time("time", false, absl::Now());
    t.temperature_c = d.Number("temperature_c", false);
    t.power_w = d.Number("power_w", false);
    t.utilization_pct = d.Number("utilization_pct", false);
    t.ecc_uncorrected = d.Int("ecc_uncorrected", false);
    t.xid_count = d.Int("xid_count", false);
    t.last_xid = d.Int("last_xid", false);
    if (!d.ok()) return d.status();
    // A report from the future would stay the device's latest health, and its newest sample,
    // until that time came; the agent's clock may run a little ahead, not more.
    if (t.time > absl::Now() + kMaxTelemetryClockAheadOfServer) {
      return absl::InvalidArgumentError(absl::StrCat(
          "devices[", i, "].time: ", ApiTime(t.time), " is more than ",
          absl::FormatDuration(kMaxTelemetryClockAheadOfServer),
          " ahead of the server's clock"));
    }
    absl::StatusOr<std::string> canonical = CanonicalUuid(uuid);
    if (!canonical.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("devices[", i, "].uuid: ", canonical.status().message()));
    }
    parsed.emplace_back(*canonical, t);
  }
  for (size_t i = 0; i < parsed.size(); ++i) {
    absl::StatusOr<Device> device = ctx->store->GetDeviceByUuid(parsed[i].first);
    if (absl::IsNotFound(device.status()) ||
        (device.ok() && device->organization_id != req.principal->organization_id)) {
      return absl::NotFoundError(
          absl::StrCat("devices[", i, "].uuid: ", parsed[i].first, " is not enrolled"));
    }
    if (!device.ok()) return device.status();
    parsed[i].second.device_id = device->id;
  }
  std::vector<Telemetry> reports;
  reports.reserve(parsed.size());
  for (const auto& [uuid, t] : parsed) reports.push_back(t);
  absl::StatusOr<int64_t> sampled =
      ctx->store->RecordTelemetry(reports, ctx->options.telemetry_sample_interval);
  if (!sampled.ok()) return sampled.status();
  return Response::NoContent();
}

}  // namespace

void AddAgentRoutes(ApiContext* ctx, std::vector<Route>* routes) {
  auto bind = [ctx](auto fn) { return [ctx, fn](const Request& r) { return fn(ctx, r); }; };
  routes->push_back({"POST", "/api/v1/enroll", kAgentOnly, false, http::kDefaultMaxBodyBytes,
                     bind(Enroll)});
  routes->push_back({"POST", "/api/v1/devices/{uuid}/key-binding", kAgentOnly, false,
                     http::kDefaultMaxBodyBytes, bind(BindKey)});
  routes->push_back({"POST", "/api/v1/telemetry", kAgentOnly, false, http::kDefaultMaxBodyBytes,
                     bind(PostTelemetry)});
}

}  // namespace lightcone::server::api
