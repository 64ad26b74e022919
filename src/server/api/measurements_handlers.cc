// POST /measurements/batches (signed landmark batches) and GET /measurements.
#include <algorithm>
#include <atomic>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/logging.h"
#include "core/wire_record.h"
#include "server/api/api_context.h"

namespace lightcone::server::api {
namespace {

// Records per verification chunk: big enough to amortize scheduling, small enough to balance.
constexpr int kVerifyChunkRecords = 128;

std::string Raw(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

absl::StatusOr<Response> IngestBatch(ApiContext* ctx, const Request& req) {
  const int64_t landmark_id = req.principal->landmark_id;
  absl::StatusOr<Landmark> landmark = ctx->store->GetLandmark(landmark_id);
  if (!landmark.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("token's landmark ", landmark_id, " is not registered"));
  }
  absl::StatusOr<wire::MeasurementBatch> batch = wire::BatchFromJsonLine(req.body);
  if (!batch.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("batch: ", batch.status().message()));
  }
  if (crypto::HexEncode(batch->landmark_id) != landmark->wire_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch.landmark_id: ", crypto::HexEncode(batch->landmark_id),
        " is not this token's landmark (", landmark->name, ", wire id ", landmark->wire_id, ")"));
  }
  if (Raw(batch->landmark_public_key.data(), batch->landmark_public_key.size()) !=
      landmark->public_key) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch.landmark_public_key: not the key registered for landmark ",
                     landmark->name));
  }
  if (batch->records.empty()) return absl::InvalidArgumentError("batch.records: empty");
  absl::Status batch_ok = wire::VerifyBatch(*batch);
  if (!batch_ok.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("batch: ", batch_ok.message()));
  }

  // Device keys, looked up on this thread (store access), then signatures in parallel. First
  // every device's entry, re-read from the store (once per batch) when a record names a key
  // the cached entry does not know; then each record's key, so that the entries no longer
  // change while `keys` points into them.
  const int n = static_cast<int>(batch->records.size());
  struct BatchEntry {
    DeviceKeyCache::Entry entry;
    bool refreshed = false;
  };
  std::map<wire::Id, BatchEntry> entries;
  for (int i = 0; i < n; ++i) {
    const wire::MeasurementRecord& rec = batch->records[i];
    auto it = entries.find(rec.device_id);
    if (it != entries.end() && (it->second.refreshed || it->second.entry.Knows(rec.key_id))) {
      continue;
    }
    bool refresh = it != entries.end();
    absl::StatusOr<DeviceKeyCache::Entry> entry = ctx->device_keys->Lookup(rec.device_id, refresh);
    if (entry.ok() && !refresh && !entry->Knows(rec.key_id)) {
      refresh = true;
      entry = ctx->device_keys->Lookup(rec.device_id, /*refresh=*/true);
    }
    if (absl::IsNotFound(entry.status())) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch.records[", i, "].device_id: no enrolled device GPU-",
                       wire::FormatId(rec.device_id)));
    }
    if (!entry.ok()) return entry.status();
    entries[rec.device_id] = BatchEntry{*entry, refresh};
  }
  std::vector<const crypto::PublicKey*> keys(n, nullptr);
  std::vector<int64_t> device_ids(n, 0);
  for (int i = 0; i < n; ++i) {
    const wire::MeasurementRecord& rec = batch->records[i];
    const DeviceKeyCache::Entry& e = entries.at(rec.device_id).entry;
    device_ids[i] = e.device_id;
    if (!e.has_key) {
      return absl::InvalidArgumentError(absl::StrCat("batch.records[", i, "]: device GPU-",
                                                     wire::FormatId(rec.device_id),
                                                     " has no bound key"));
    }
    if (rec.key_id == e.key_id) {
      keys[i] = &e.public_key;
      continue;
    }
    if (e.has_previous_key && rec.key_id == e.previous_key_id) {
      const absl::Time time = absl::FromUnixNanos(rec.time_unix_ns);
      const absl::Time limit = e.previous_superseded_at + kKeyOverlapGrace;
      if (time >= limit) {
        return absl::InvalidArgumentError(absl::StrCat(
            "batch.records[", i, "].time: ", absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone()),
            " is not before ", absl::FormatTime(absl::RFC3339_full, limit, absl::UTCTimeZone()),
            ": the record is signed by key ", crypto::FormatKeyId(rec.key_id),
            ", which device GPU-", wire::FormatId(rec.device_id), " replaced at ",
            absl::FormatTime(absl::RFC3339_full, e.previous_superseded_at, absl::UTCTimeZone()),
            " (accepted until ", absl::FormatDuration(kKeyOverlapGrace), " after that)"));
      }
      keys[i] = &e.previous_public_key;
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "batch.records[", i, "].key_id: ", crypto::FormatKeyId(rec.key_id),
        " is not the bound key of device GPU-", wire::FormatId(rec.device_id), " (",
        crypto::FormatKeyId(e.key_id), ")",
        e.has_previous_key
            ? absl::StrCat(" nor the key it replaced (", crypto::FormatKeyId(e.previous_key_id), ")")
            : std::string()));
  }
  std::atomic<int> first_bad{n};
  const int chunks = (n + kVerifyChunkRecords - 1) / kVerifyChunkRecords;
  ctx->verify_pool->ParallelFor(chunks, [&](int c) {
    const int end = std::min(n, (c + 1) * kVerifyChunkRecords);
    for (int i = c * kVerifyChunkRecords; i < end; ++i) {
      if (i >= first_bad.load(std::memory_order_relaxed)) return;
      if (!wire::VerifyReply(wire::RecordReply(batch->records[i]), *keys[i])) {
        int expected = first_bad.load();
        while (i < expected && !first_bad.compare_exchange_weak(expected, i)) {
        }
        return;
      }
    }
  });
  if (first_bad.load() < n) {
    const int i = first_bad.load();
    ctx->device_keys->Invalidate(absl::StrCat("GPU-", wire::FormatId(batch->records[i].device_id)));
    return absl::InvalidArgumentError(
        absl::StrCat("batch.records[", i, "].reply_signature: does not verify with key ",
                     crypto::FormatKeyId(batch->records[i].key_id), " of device GPU-",
                     wire::FormatId(batch->records[i].device_id)));
  }

  MeasurementBatch stored;
  stored.landmark_id = landmark_id;
  stored.batch_sequence = static_cast<int64_t>(batch->batch_sequence);
  stored.measurements.reserve(n);
  for (int i = 0; i < n; ++i) {
    const wire::MeasurementRecord& rec = batch->records[i];
    Measurement m;
    m.device_id = device_ids[i];
    m.landmark_id = landmark_id;
    m.time = absl::FromUnixNanos(rec.time_unix_ns);
    m.rtt_ns = rec.rtt_ns;
    m.nonce = Raw(rec.nonce.data(), rec.nonce.size());
    m.sequence = static_cast<int64_t>(rec.sequence);
    m.key_id = crypto::FormatKeyId(rec.key_id);
    m.reply_signature = Raw(rec.reply_signature.data(), rec.reply_signature.size());
    stored.measurements.push_back(std::move(m));
  }
  absl::StatusOr<IngestResult> result = ctx->store->IngestMeasurements(stored);
  if (absl::IsAlreadyExists(result.status())) {
    return absl::AlreadyExistsError(absl::StrCat(
        "batch.batch_sequence: ", stored.batch_sequence,
        " was already stored with different content: ", result.status().message()));
  }
  if (!result.ok()) return result.status();
  if (ctx->options.on_batch_ingested) ctx->options.on_batch_ingested(landmark_id, *result);
  return JsonOk({{"batch_id", result->batch_id},
                 {"inserted", result->inserted},
                 {"duplicates", result->duplicates},
                 {"batch_already_stored", result->batch_already_stored}});
}

}  // namespace

absl::StatusOr<Response> MeasurementsPage(ApiContext* ctx, const Request& req,
                                          std::optional<int64_t> device_id) {
  MeasurementFilter filter;
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  filter.page = *page;
  if (!device_id.has_value()) {
    absl::StatusOr<std::optional<int64_t>> q = QueryId(req, "device_id");
    if (!q.ok()) return q.status();
    device_id = *q;
  }
  filter.device_id = device_id;
  absl::StatusOr<std::optional<int64_t>> landmark = QueryId(req, "landmark_id");
  if (!landmark.ok()) return landmark.status();
  filter.landmark_id = *landmark;
  absl::StatusOr<std::optional<absl::Time>> since = QueryTime(req, "since");
  if (!since.ok()) return since.status();
  filter.since = *since;
  absl::StatusOr<std::optional<absl::Time>> until = QueryTime(req, "until");
  if (!until.ok()) return until.status();
  filter.until = *until;
  const std::optional<int64_t> scope = ScopeOf(*req.principal);
  if (device_id.has_value()) {
    absl::StatusOr<Device> device = ctx->store->GetDevice(*device_id);
    if (!device.ok()) return device.status();
    absl::Status in_scope = CheckScope(*req.principal, device->organization_id,
                                       absl::StrCat("device ", *device_id));
    if (!in_scope.ok()) return in_scope;
    absl::StatusOr<absl::Time> visible = VisibleSince(ctx, *req.principal, *device_id);
    if (!visible.ok()) return visible.status();
    if (*visible != absl::InfinitePast()) {
      filter.since = std::max(filter.since.value_or(absl::InfinitePast()), *visible);
    }
  }
  absl::StatusOr<Page<Measurement>> result = ctx->store->ListMeasurements(filter);
  if (!result.ok()) return result.status();
  Json items = Json::array();
  // Per device of the page: in the caller's scope, and since when (VisibleSince).
  std::unordered_map<int64_t, std::optional<absl::Time>> device_visible;
  for (const Measurement& m : result->items) {
    if (scope.has_value() && !device_id.has_value()) {
      auto it = device_visible.find(m.device_id);
      if (it == device_visible.end()) {
        std::optional<absl::Time> visible;
        absl::StatusOr<Device> d = ctx->store->GetDevice(m.device_id);
        if (d.ok() && d->organization_id == *scope) {
          absl::StatusOr<absl::Time> from = VisibleSince(ctx, *req.principal, m.device_id);
          if (!from.ok()) return from.status();
          visible = *from;
        }
        it = device_visible.emplace(m.device_id, visible).first;
      }
      if (!it->second.has_value() || m.time < *it->second) continue;
    }
    items.push_back(MeasurementToJson(m));
  }
  return PageResponse(std::move(items), result->next_after_id);
}

void AddMeasurementRoutes(ApiContext* ctx, std::vector<Route>* routes) {
  routes->push_back({"POST", "/api/v1/measurements/batches", {Role::kLandmark}, false,
                     http::kMaxBatchBodyBytes,
                     [ctx](const Request& r) { return IngestBatch(ctx, r); }});
  routes->push_back({"GET", "/api/v1/measurements", kReaders, false, http::kDefaultMaxBodyBytes,
                     [ctx](const Request& r) { return MeasurementsPage(ctx, r, std::nullopt); }});
}

}  // namespace lightcone::server::api
