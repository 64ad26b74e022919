#include "core/wire_record.h"

#include <cstring>
#include <exception>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace lightcone::wire {
namespace {

using nlohmann::json;

void AppendU64(std::vector<uint8_t>* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}

template <size_t N>
void Append(std::vector<uint8_t>* out, const std::array<uint8_t, N>& bytes) {
  out->insert(out->end(), bytes.begin(), bytes.end());
}

template <size_t N>
absl::Status GetHex(const json& object, const char* field, std::array<uint8_t, N>* out) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("batch: field '", field, "' missing or not a string"));
  }
  std::string text = it->get<std::string>();
  if (absl::Status s = crypto::HexDecode(text, *out); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("batch: field '", field, "': ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status GetId(const json& object, const char* field, Id* out) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("batch: field '", field, "' missing or not a string"));
  }
  auto id = ParseId(it->get<std::string>());
  if (!id.ok()) return absl::InvalidArgumentError(absl::StrCat("batch: field '", field, "': ", id.status().message()));
  *out = *id;
  return absl::OkStatus();
}

template <typename T>
absl::Status GetInt(const json& object, const char* field, T* out) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat("batch: field '", field, "' missing or not an integer"));
  }
  *out = it->get<T>();
  return absl::OkStatus();
}

}  // namespace

Reply RecordReply(const MeasurementRecord& record) {
  Reply reply;
  reply.device_id = record.device_id;
  reply.landmark_id = record.landmark_id;
  reply.nonce = record.nonce;
  reply.sequence = record.sequence;
  reply.key_id = record.key_id;
  reply.signature = record.reply_signature;
  return reply;
}

absl::StatusOr<std::vector<uint8_t>> CanonicalBatchBytes(const MeasurementBatch& batch) {
  if (batch.records.size() > kMaxRecordsPerBatch) {
    return absl::InvalidArgumentError(absl::StrCat("batch: ", batch.records.size(),
                                                   " records, limit ", kMaxRecordsPerBatch));
  }
  std::vector<uint8_t> out;
  out.reserve(sizeof(kBatchSignatureDomainTag) + 72 + batch.records.size() * kCanonicalRecordBytes);
  out.insert(out.end(), kBatchSignatureDomainTag,
             kBatchSignatureDomainTag + sizeof(kBatchSignatureDomainTag));
  Append(&out, batch.landmark_id);
  Append(&out, batch.landmark_public_key);
  AppendU64(&out, batch.batch_sequence);
  AppendU64(&out, static_cast<uint64_t>(batch.created_unix_ns));
  AppendU64(&out, batch.records.size());
  for (const MeasurementRecord& r : batch.records) {
    Append(&out, r.device_id);
    Append(&out, r.landmark_id);
    AppendU64(&out, static_cast<uint64_t>(r.time_unix_ns));
    AppendU64(&out, static_cast<uint64_t>(r.rtt_ns));
    Append(&out, r.nonce);
    AppendU64(&out, r.sequence);
    AppendU64(&out, r.key_id);
    Append(&out, r.reply_signature);
  }
  return out;
}

absl::Status SignBatch(const crypto::SigningKey& key, MeasurementBatch* batch) {
  batch->landmark_public_key = key.public_key();
  auto bytes = CanonicalBatchBytes(*batch);
  if (!bytes.ok()) return bytes.status();
  key.Sign(*bytes, &batch->signature);
  return absl::OkStatus();
}

absl::Status VerifyBatch(const MeasurementBatch& batch) {
  for (size_t i = 0; i < batch.records.size(); ++i) {
    if (batch.records[i].landmark_id != batch.landmark_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch: record ", i, " names landmark ",
                       FormatId(batch.records[i].landmark_id), ", not the batch's ",
                       FormatId(batch.landmark_id)));
    }
  }
  auto bytes = CanonicalBatchBytes(batch);
  if (!bytes.ok()) return bytes.status();
  if (!crypto::VerifySignature(batch.landmark_public_key, *bytes, batch.signature)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch ", batch.batch_sequence, " from landmark ", FormatId(batch.landmark_id),
        ": bad landmark signature"));
  }
  return absl::OkStatus();
}

std::string BatchToJsonLine(const MeasurementBatch& batch) {
  json records = json::array();
  for (const MeasurementRecord& r : batch.records) {
    records.push_back(json{{"device", FormatId(r.device_id)},
                           {"landmark", FormatId(r.landmark_id)},
                           {"time_unix_ns", r.time_unix_ns},
                           {"rtt_ns", r.rtt_ns},
                           {"nonce", crypto::HexEncode(r.nonce)},
                           {"sequence", r.sequence},
                           {"key_id", crypto::FormatKeyId(r.key_id)},
                           {"reply_signature", crypto::HexEncode(r.reply_signature)}});
  }
  json line{{"format", kBatchFormat},
            {"landmark", FormatId(batch.landmark_id)},
            {"landmark_public_key", crypto::HexEncode(batch.landmark_public_key)},
            {"batch_sequence", batch.batch_sequence},
            {"created_unix_ns", batch.created_unix_ns},
            {"records", std::move(records)},
            {"signature", crypto::HexEncode(batch.signature)}};
  return line.dump();
}

absl::StatusOr<MeasurementBatch> BatchFromJsonLine(absl::string_view line) {
  if (line.size() > kMaxBatchLineBytes) {
    return absl::InvalidArgumentError(absl::StrCat("batch: line of ", line.size(),
                                                   " bytes, limit ", kMaxBatchLineBytes));
  }
  json doc;
  try {
    doc = json::parse(line.begin(), line.end());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("batch: not JSON: ", e.what()));
  }
  if (!doc.is_object()) return absl::InvalidArgumentError("batch: not a JSON object");
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_string() || format->get<std::string>() != kBatchFormat) {
    return absl::InvalidArgumentError(absl::StrCat("batch: 'format' must be ", kBatchFormat));
  }
  MeasurementBatch batch;
  if (auto s = GetId(doc, "landmark", &batch.landmark_id); !s.ok()) return s;
  if (auto s = GetHex(doc, "landmark_public_key", &batch.landmark_public_key); !s.ok()) return s;
  if (auto s = GetInt(doc, "batch_sequence", &batch.batch_sequence); !s.ok()) return s;
  if (auto s = GetInt(doc, "created_unix_ns", &batch.created_unix_ns); !s.ok()) return s;
  if (auto s = GetHex(doc, "signature", &batch.signature); !s.ok()) return s;
  auto records = doc.find("records");
  if (records == doc.end() || !records->is_array()) {
    return absl::InvalidArgumentError("batch: 'records' missing or not an array");
  }
  if (records->size() > kMaxRecordsPerBatch) {
    return absl::InvalidArgumentError(absl::StrCat("batch: ", records->size(),
                                                   " records, limit ", kMaxRecordsPerBatch));
  }
  batch.records.reserve(records->size());
  for (const json& r : *records) {
    if (!r.is_object()) return absl::InvalidArgumentError("batch: a record is not an object");
    MeasurementRecord record;
    if (auto s = GetId(r, "device", &record.device_id); !s.ok()) return s;
    if (auto s = GetId(r, "landmark", &record.landmark_id); !s.ok()) return s;
    if (auto s = GetInt(r, "time_unix_ns", &record.time_unix_ns); !s.ok()) return s;
    if (auto s = GetInt(r, "rtt_ns", &record.rtt_ns); !s.ok()) return s;
    if (auto s = GetHex(r, "nonce", &record.nonce); !s.ok()) return s;
    if (auto s = GetInt(r, "sequence", &record.sequence); !s.ok()) return s;
    auto key_id_it = r.find("key_id");
    if (key_id_it == r.end() || !key_id_it->is_string()) {
      return absl::InvalidArgumentError("batch: field 'key_id' missing or not a string");
    }
    auto key_id = crypto::ParseKeyId(key_id_it->get<std::string>());
    if (!key_id.ok()) return key_id.status();
    record.key_id = *key_id;
    if (auto s = GetHex(r, "reply_signature", &record.reply_signature); !s.ok()) return s;
    batch.records.push_back(record);
  }
  return batch;
}

}  // namespace lightcone::wire
