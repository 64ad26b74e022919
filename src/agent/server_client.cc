#include "agent/server_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/gpu/key_binding.h"
#include "core/logging.h"
#include "core/wire.h"

namespace lightcone::agent {
namespace {

using Clock = std::chrono::steady_clock;

// The UUID text of a configured device: the inventory's own spelling when NVML lists it,
// else "GPU-" + the canonical UUID.
std::string UuidFor(const wire::Id& id, const Inventory& inventory) {
  for (const GpuInventory& g : inventory.gpus) {
    auto parsed = wire::ParseId(g.uuid);
    if (parsed.ok() && *parsed == id) return g.uuid;
  }
  return absl::StrCat("GPU-", wire::FormatId(id));
}

// "GPU-" + lowercase 8-4-4-4-12, as the server spells UUIDs in its answers; the text
// itself when it is not a UUID.
std::string Canonical(const std::string& uuid) {
  auto id = wire::ParseId(uuid);
  return id.ok() ? absl::StrCat("GPU-", wire::FormatId(*id)) : uuid;
}

int GpuIndexFor(const std::string& uuid, const Inventory& inventory) {
  for (const GpuInventory& g : inventory.gpus) {
    if (Canonical(g.uuid) == Canonical(uuid) && !g.lost) return g.index;
  }
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerClient>> ServerClient::Create(
    Options options, Inventory inventory, std::vector<DeviceConfig> configured,
    GpuSource* source, GpuMonitor* monitor) {
  options.api.user_agent = absl::StrCat("lightcone-agent/", kAgentVersion);
  auto api = api::ApiClient::Create(options.api);
  if (!api.ok()) return api.status();
  std::unique_ptr<ServerClient> client(new ServerClient(
      std::move(options), std::move(inventory), std::move(configured), source, monitor));
  client->api_ = *std::move(api);
  return client;
}

ServerClient::ServerClient(Options options, Inventory inventory,
                           std::vector<DeviceConfig> configured, GpuSource* source,
                           GpuMonitor* monitor)
    : options_(std::move(options)),
      inventory_(std::move(inventory)),
      configured_(std::move(configured)),
      source_(source),
      monitor_(monitor) {}

ServerClient::~ServerClient() { Stop(); }

void ServerClient::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void ServerClient::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (api_) api_->Cancel();
  if (thread_.joinable()) thread_.join();
}

void ServerClient::UpdateKeys(std::vector<PublicKeyInfo> keys) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys_ = std::move(keys);
    keys_changed_ = true;
  }
  cv_.notify_all();
}

ServerClientStats ServerClient::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

EnrollRequest ServerClient::BuildEnrollRequest() const {
  EnrollRequest request;
  request.hostname = options_.hostname.empty() ? inventory_.host.hostname : options_.hostname;
  request.probe_address = options_.probe_address;
  request.site = options_.site;
  request.devices = EnrollDevicesFromInventory(inventory_);
  for (const DeviceConfig& d : configured_) {
    std::string uuid = UuidFor(d.id, inventory_);
    bool listed = std::any_of(request.devices.begin(), request.devices.end(),
                              [&](const EnrollDevice& e) { return e.uuid == uuid; });
    if (!listed) request.devices.push_back(EnrollDevice{.uuid = uuid});
  }
  return request;
}

absl::StatusOr<api::ApiResponse> ServerClient::Send(const char* endpoint, const std::string& method,
                                                    const std::string& path,
                                                    const std::string& body) {
  auto response = method == "GET" ? api_->Get(path) : api_->Post(path, body);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.requests[{endpoint, api::ResultLabel(response)}];
  return response;
}

bool ServerClient::Enroll() {
  auto log = Logger("agent");
  auto response = Send("enroll", "POST", "/api/v1/enroll", EnrollRequestJson(BuildEnrollRequest()));
  if (!response.ok()) {
    log->warn("server: enroll: {}", response.status().ToString());
    return false;
  }
  api::Outcome outcome = api::Classify(response->status);
  if (outcome != api::Outcome::kOk) {
    log->error("server: enroll refused ({}): {}", response->status, api::ErrorMessage(*response));
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.enrolled = false;
    }
    return outcome == api::Outcome::kPermanent;
  }
  auto parsed = ParseEnrollResponse(response->body);
  if (!parsed.ok()) {
    log->error("server: {}", parsed.status().ToString());
    return true;  // a malformed answer will not improve by resending at once
  }
  for (const EnrolledDevice& d : parsed->devices) {
    const std::string uuid = Canonical(d.uuid);
    auto it = enrolled_.find(uuid);
    if (it != enrolled_.end() && it->second.id != d.id) bound_.erase(uuid);  // server reset
    enrolled_[uuid] = d;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stats_.enrolled) {
      log->info("server: enrolled host {} with {} device(s) at {}", parsed->host_id,
                parsed->devices.size(), api_->base_url());
    }
    stats_.enrolled = true;
  }
  return true;
}

bool ServerClient::BindOne(const std::string& uuid, const PublicKeyInfo& key,
                           const EnrolledDevice& enrolled) {
  auto log = Logger("agent");
  KeyBindingRequest request;
  request.public_key = key.public_key;
  request.key_id = key.key_id;
  int index = GpuIndexFor(uuid, inventory_);
  if (source_ != nullptr && index >= 0) {
    auto nonce = KeyBindingNonce(key.public_key, enrolled.key_binding_nonce);
    auto evidence = source_->Attest(index, nonce);
    if (evidence.ok()) {
      request.assurance = "L1";
      request.evidence = evidence->report;
      request.certificates = evidence->attestation_cert_chain_pem;
    } else if (evidence.status().code() != absl::StatusCode::kUnimplemented) {
      log->warn("server: {}: no attestation report, binding L0: {}", uuid,
                evidence.status().ToString());
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.attestation_failures;
    }
  }
  const std::string path = absl::StrCat("/api/v1/devices/", uuid, "/key-binding");
  auto response = Send("key_binding", "POST", path, KeyBindingRequestJson(request));
  if (!response.ok()) {
    log->warn("server: key binding of {}: {}", uuid, response.status().ToString());
    return false;
  }
  api::Outcome outcome = api::Classify(response->status);
  if (outcome == api::Outcome::kRetry) {
    log->warn("server: key binding of {} ({}): {}", uuid, response->status,
              api::ErrorMessage(*response));
    return false;
  }
  if (outcome == api::Outcome::kPermanent) {
    if (response->status == 404) {
      // The server does not know the device (any more): enroll again first.
      enrolled_.erase(uuid);
      log->warn("server: {} unknown to the server, enrolling again", uuid);
      return true;
    }
    if (request.assurance == "L1") {
      log->error("server: L1 binding of {} refused ({}): {}; binding L0 instead", uuid,
                 response->status, api::ErrorMessage(*response));
      request = KeyBindingRequest{.public_key = key.public_key, .key_id = key.key_id};
      response = Send("key_binding", "POST", path, KeyBindingRequestJson(request));
      if (!response.ok() || api::Classify(response->status) == api::Outcome::kRetry) return false;
      if (api::Classify(response->status) == api::Outcome::kOk) {
        bound_[uuid] = key.key_id;
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.bindings_l0;
        return true;
      }
    }
    log->error("server: key binding of {} refused ({}): {}", uuid, response->status,
               api::ErrorMessage(*response));
    refused_[uuid] = key.key_id;
    return true;
  }
  bound_[uuid] = key.key_id;
  log->info("server: bound key {} of {} ({})", crypto::FormatKeyId(key.key_id), uuid,
            request.assurance);
  std::lock_guard<std::mutex> lock(mu_);
  if (request.assurance == "L1") {
    ++stats_.bindings_l1;
  } else {
    ++stats_.bindings_l0;
  }
  return true;
}

bool ServerClient::BindKeys() {
  std::vector<PublicKeyInfo> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys = keys_;
  }
  for (const PublicKeyInfo& key : keys) {
    if (!key.current) continue;
    std::string uuid = Canonical(UuidFor(key.device_id, inventory_));
    auto enrolled = enrolled_.find(uuid);
    if (enrolled == enrolled_.end()) continue;
    auto bound = bound_.find(uuid);
    if (bound != bound_.end() && bound->second == key.key_id) continue;
    auto refused = refused_.find(uuid);
    if (refused != refused_.end() && refused->second == key.key_id) continue;
    if (!BindOne(uuid, key, enrolled->second)) return false;
  }
  return true;
}

std::vector<DeviceHealth> ServerClient::CollectHealth() {
  std::vector<DeviceHealth> out;
  if (monitor_ == nullptr) return out;
  MonitorSnapshot snapshot = monitor_->Snapshot();
  for (const GpuInventory& g : inventory_.gpus) {
    if (g.index < 0 || static_cast<size_t>(g.index) >= snapshot.gpus.size()) continue;
    if (enrolled_.find(Canonical(g.uuid)) == enrolled_.end()) continue;
    const GpuState& state = snapshot.gpus[g.index];
    if (!state.has_data) continue;
    DeviceHealth h;
    h.uuid = g.uuid;
    h.time = state.last_success;
    h.temperature_c = state.latest.gpu_temperature_celsius;
    h.power_w = state.latest.power_watts;
    if (state.latest.gpu_utilization_ratio) {
      h.utilization_pct = *state.latest.gpu_utilization_ratio * 100.0;
    }
    h.ecc_uncorrected = state.latest.ecc_uncorrected_total;
    auto& seen = last_xids_[g.index];
    for (const auto& [code, count] : state.xid_counts) {
      h.xid_count += count;
      if (count > seen[code]) last_xid_code_[g.index] = code;
      seen[code] = count;
    }
    h.last_xid = last_xid_code_[g.index];
    out.push_back(std::move(h));
  }
  return out;
}

bool ServerClient::PostTelemetry() {
  std::vector<DeviceHealth> health = CollectHealth();
  if (health.empty()) return true;
  auto response = Send("telemetry", "POST", "/api/v1/telemetry", TelemetryRequestJson(health));
  auto log = Logger("agent");
  if (!response.ok()) {
    log->warn("server: telemetry: {}", response.status().ToString());
    return false;
  }
  api::Outcome outcome = api::Classify(response->status);
  if (outcome != api::Outcome::kOk) {
    log->warn("server: telemetry refused ({}): {}", response->status, api::ErrorMessage(*response));
  }
  return outcome != api::Outcome::kRetry;
}

void ServerClient::Run() {
  api::RetryBackoff backoff(options_.retry_initial, options_.retry_max);
  Clock::time_point next_enroll = Clock::now();
  Clock::time_point next_telemetry = Clock::now() + options_.telemetry_interval;
  Clock::time_point retry_at = Clock::time_point::min();
  bool need_bind = true;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      Clock::time_point now = Clock::now();
      bool retrying = retry_at > now;
      Clock::time_point wake;
      if (retrying) {
        wake = retry_at;
      } else {
        wake = std::min(next_enroll, next_telemetry);
        if (need_bind) wake = now;
      }
      cv_.wait_until(lock, wake, [&] { return stop_ || (keys_changed_ && retry_at <= Clock::now()); });
      if (stop_) return;
      if (keys_changed_) {
        keys_changed_ = false;
        need_bind = true;
        // A fresh enrollment first: it brings a fresh key-binding nonce for L1 evidence.
        next_enroll = Clock::now();
      }
    }
    Clock::time_point now = Clock::now();
    if (retry_at > now) continue;
    bool ok = true;
    if (now >= next_enroll) {
      ok = Enroll();
      if (ok) {
        next_enroll = now + options_.enroll_interval;
        need_bind = true;
      }
    }
    if (ok && need_bind && !enrolled_.empty()) {
      size_t before = enrolled_.size();
      ok = BindKeys();
      if (ok && enrolled_.size() != before) next_enroll = now;  // a 404: enroll again
      if (ok) need_bind = enrolled_.size() != before;
    }
    if (ok && now >= next_telemetry) {
      if (!enrolled_.empty()) ok = PostTelemetry();
      if (ok) next_telemetry = now + options_.telemetry_interval;
    }
    if (ok) {
      backoff.Reset();
      retry_at = Clock::time_point::min();
      // A permanent enrollment refusal leaves nothing enrolled: wait for the next round.
      if (enrolled_.empty()) need_bind = false;
    } else {
      retry_at = Clock::now() + backoff.Next();
    }
  }
}

}  // namespace lightcone::agent
