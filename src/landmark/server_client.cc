#include "landmark/server_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/crypto.h"
#include "core/logging.h"
#include "core/wire.h"
#include "nlohmann/json.hpp"

namespace lightcone::landmark {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

absl::Status FieldError(absl::string_view what, absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", field, ": ", why));
}

absl::StatusOr<int64_t> IntField(const json& j, const char* what, const std::string& field) {
  if (!j.contains(field) || !j[field].is_number_integer()) {
    return FieldError(what, field, "missing or not an integer");
  }
  return j[field].get<int64_t>();
}

}  // namespace

absl::StatusOr<TargetList> ParseTargetsResponse(absl::string_view body) {
  constexpr char kWhat[] = "targets answer";
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return FieldError(kWhat, "$", "not a JSON object");
  TargetList out;
  auto version = IntField(j, kWhat, "version");
  if (!version.ok()) return version.status();
  out.version = *version;
  if (!j.contains("targets") || !j["targets"].is_array()) {
    return FieldError(kWhat, "targets", "missing or not an array");
  }
  if (j["targets"].size() > kMaxTargets) {
    return FieldError(kWhat, "targets", absl::StrCat("more than ", kMaxTargets));
  }
  for (size_t i = 0; i < j["targets"].size(); ++i) {
    const json& t = j["targets"][i];
    std::string where = absl::StrCat("targets[", i, "]");
    if (!t.is_object()) return FieldError(kWhat, where, "not an object");
    auto text = [&](const char* field) -> std::string {
      return t.contains(field) && t[field].is_string() ? t[field].get<std::string>() : "";
    };
    TargetConfig target;
    std::string id_text = text("wire_device_id");
    if (id_text.empty()) id_text = text("device_uuid");
    auto id = wire::ParseId(id_text);
    if (!id.ok()) {
      return FieldError(kWhat, absl::StrCat(where, ".wire_device_id"), id.status().message());
    }
    target.device_id = *id;
    target.address = text("address");
    std::string key_text = text("public_key");
    if (key_text.empty()) {
      ++out.without_key;
      continue;
    }
    auto key = crypto::ParsePublicKey(key_text);
    if (!key.ok()) {
      return FieldError(kWhat, absl::StrCat(where, ".public_key"), key.status().message());
    }
    target.public_keys.push_back(*key);
    out.targets.push_back(std::move(target));
  }
  return out;
}

absl::StatusOr<BatchAnswer> ParseBatchResponse(absl::string_view body) {
  constexpr char kWhat[] = "batch answer";
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return FieldError(kWhat, "$", "not a JSON object");
  BatchAnswer out;
  const std::pair<const char*, int64_t*> fields[] = {
      {"batch_id", &out.batch_id}, {"inserted", &out.inserted}, {"duplicates", &out.duplicates}};
  for (const auto& [field, dst] : fields) {
    auto v = IntField(j, kWhat, field);
    if (!v.ok()) return v.status();
    *dst = *v;
  }
  if (j.contains("batch_already_stored")) {
    if (!j["batch_already_stored"].is_boolean()) {
      return FieldError(kWhat, "batch_already_stored", "not a boolean");
    }
    out.batch_already_stored = j["batch_already_stored"].get<bool>();
  }
  return out;
}

absl::StatusOr<int64_t> ParseWhoamiLandmarkId(absl::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return FieldError("whoami answer", "$", "not a JSON object");
  auto id = IntField(j, "whoami answer", "landmark_id");
  if (!id.ok()) return id.status();
  if (*id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "whoami answer: landmark_id is ", *id, ": the token is not a landmark's (role ",
        j.value("role", std::string("?")), ")"));
  }
  return *id;
}

absl::StatusOr<std::unique_ptr<LandmarkServerClient>> LandmarkServerClient::Create(
    Options options, BatchSpool* spool) {
  options.api.user_agent = "lightcone-landmark";
  auto api = api::ApiClient::Create(options.api);
  if (!api.ok()) return api.status();
  std::unique_ptr<LandmarkServerClient> client(new LandmarkServerClient(std::move(options), spool));
  client->api_ = *std::move(api);
  client->stats_.landmark_id = client->options_.landmark_id;
  return client;
}

LandmarkServerClient::~LandmarkServerClient() { Stop(); }

void LandmarkServerClient::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void LandmarkServerClient::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  flushed_cv_.notify_all();
  if (api_) api_->Cancel();
  if (thread_.joinable()) thread_.join();
}

std::optional<std::vector<TargetConfig>> LandmarkServerClient::TakeTargets() {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<std::vector<TargetConfig>> out = std::move(new_targets_);
  new_targets_.reset();
  return out;
}

void LandmarkServerClient::NotifyBatch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch_ready_ = true;
  }
  cv_.notify_all();
}

bool LandmarkServerClient::WaitUntilFlushed(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  flushed_cv_.wait_for(lock, timeout, [&] { return stop_ || spool_->pending() == 0; });
  return spool_->pending() == 0;
}

ServerClientStats LandmarkServerClient::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool LandmarkServerClient::ResolveLandmarkId() {
  auto log = Logger("landmark");
  int64_t id = options_.landmark_id;
  if (id <= 0) {
    auto response = api_->Get("/api/v1/whoami");
    if (!response.ok() || api::Classify(response->status) == api::Outcome::kRetry) {
      log->warn("server: whoami: {}", response.ok() ? api::ErrorMessage(*response)
                                                    : response.status().ToString());
      return false;
    }
    if (api::Classify(response->status) != api::Outcome::kOk) {
      log->error("server: whoami refused ({}): {}", response->status, api::ErrorMessage(*response));
      return false;
    }
    auto parsed = ParseWhoamiLandmarkId(response->body);
    if (!parsed.ok()) {
      log->error("server: {}", parsed.status().ToString());
      return false;
    }
    id = *parsed;
    log->info("server: this landmark is landmark {} on {}", id, api_->base_url());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.landmark_id = id;
  }
  // Diagnostics only: a landmark whose id or key differs from the registered one has every
  // batch refused.
  auto landmark = api_->Get(absl::StrCat("/api/v1/landmarks/", id));
  if (landmark.ok() && landmark->status == 200) {
    json j = json::parse(landmark->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
      std::string wire_id = j.value("wire_id", std::string());
      std::string public_key = j.value("public_key", std::string());
      if (!options_.expected_wire_id_hex.empty() && !wire_id.empty() &&
          wire_id != options_.expected_wire_id_hex) {
        log->error("server: landmark {} is registered with wire id {}, this landmark's id is {}: "
                   "its batches will be refused",
                   id, wire_id, options_.expected_wire_id_hex);
      }
      if (!options_.expected_public_key_hex.empty() && !public_key.empty() &&
          public_key != options_.expected_public_key_hex) {
        log->error("server: landmark {} is registered with public key {}, this landmark signs "
                   "with {}: its batches will be refused",
                   id, public_key, options_.expected_public_key_hex);
      }
    }
  }
  return true;
}

bool LandmarkServerClient::PollTargets() {
  auto log = Logger("landmark");
  int64_t version;
  int64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    version = stats_.targets_version;
    id = stats_.landmark_id;
  }
  std::string path = absl::StrCat("/api/v1/landmarks/", id, "/targets");
  if (version >= 0) absl::StrAppend(&path, "?if_version=", version);
  auto response = api_->Get(path);
  if (!response.ok()) {
    log->warn("server: targets: {}", response.status().ToString());
    return false;
  }
  if (response->status == 304) return true;
  api::Outcome outcome = api::Classify(response->status);
  if (outcome != api::Outcome::kOk) {
    log->error("server: targets refused ({}): {}", response->status, api::ErrorMessage(*response));
    return outcome == api::Outcome::kPermanent;
  }
  auto list = ParseTargetsResponse(response->body);
  if (!list.ok()) {
    log->error("server: {}", list.status().ToString());
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (list->version == stats_.targets_version) return true;
  log->info("server: {} target(s), version {}{}", list->targets.size(), list->version,
            list->without_key > 0
                ? absl::StrCat(" (", list->without_key, " without a bound key, not probed)")
                : "");
  stats_.targets_version = list->version;
  ++stats_.target_updates;
  new_targets_ = std::move(list->targets);
  return true;
}

bool LandmarkServerClient::UploadOne() {
  auto log = Logger("landmark");
  std::optional<SpooledBatch> batch = spool_->Front();
  if (!batch) return true;
  auto response = api_->Post("/api/v1/measurements/batches", batch->json_line);
  if (!response.ok()) {
    log->warn("server: batch {}: {}", batch->sequence, response.status().ToString());
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.upload_failures;
    return false;
  }
  api::Outcome outcome = api::Classify(response->status);
  if (outcome == api::Outcome::kRetry) {
    log->warn("server: batch {} ({}), will retry: {}", batch->sequence, response->status,
              api::ErrorMessage(*response));
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.upload_failures;
    return false;
  }
  if (outcome == api::Outcome::kPermanent) {
    std::string message = api::ErrorMessage(*response);
    log->error("server: batch {} refused ({}): {}; moved to {}/rejected.jsonl", batch->sequence,
               response->status, message, spool_->state_dir());
    if (absl::Status s = spool_->Reject(batch->sequence, response->status, message); !s.ok()) {
      log->error("spool: {}", s.ToString());
      return false;
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.batches_rejected;
    return true;
  }
  auto answer = ParseBatchResponse(response->body);
  if (answer.ok()) {
    log->debug("server: batch {} stored as {}: {} inserted, {} duplicates{}", batch->sequence,
               answer->batch_id, answer->inserted, answer->duplicates,
               answer->batch_already_stored ? " (already stored)" : "");
  }
  if (absl::Status s = spool_->Ack(batch->sequence); !s.ok()) {
    log->error("spool: {}", s.ToString());
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.batches_acked;
  return true;
}

void LandmarkServerClient::Run() {
  api::RetryBackoff target_backoff(options_.retry_initial, options_.retry_max);
  api::RetryBackoff upload_backoff(options_.retry_initial, options_.retry_max);
  bool have_id = false;
  Clock::time_point next_poll = Clock::now();
  Clock::time_point upload_retry_at = Clock::time_point::min();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      Clock::time_point now = Clock::now();
      Clock::time_point wake = next_poll;
      if (spool_->pending() > 0) wake = std::min(wake, std::max(now, upload_retry_at));
      cv_.wait_until(lock, wake, [&] {
        return stop_ || (batch_ready_ && upload_retry_at <= Clock::now());
      });
      if (stop_) return;
      batch_ready_ = false;
    }
    Clock::time_point now = Clock::now();
    if (now >= next_poll) {
      if (!have_id) have_id = ResolveLandmarkId();
      bool ok = have_id && PollTargets();
      if (ok) target_backoff.Reset();
      next_poll = Clock::now() + (ok ? options_.targets_poll_interval : target_backoff.Next());
    }
    while (spool_->pending() > 0 && Clock::now() >= upload_retry_at) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      if (UploadOne()) {
        upload_backoff.Reset();
      } else {
        upload_retry_at = Clock::now() + upload_backoff.Next();
      }
    }
    if (spool_->pending() == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      flushed_cv_.notify_all();
    }
  }
}

}  // namespace lightcone::landmark
