// Signed measurement records and batches (docs/protocol.md, "Measurement records").
//
// A landmark turns each accepted reply into a MeasurementRecord (the reply's fields, its
// signature and the measured RTT) and ships records in a MeasurementBatch signed with the
// landmark's own Ed25519 key over a canonical binary encoding. Batches travel as one JSON
// line each. Anyone holding the device's and the landmark's public keys can re-check both
// signatures offline.
#ifndef LIGHTCONE_CORE_WIRE_RECORD_H_
#define LIGHTCONE_CORE_WIRE_RECORD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto.h"
#include "core/wire.h"

namespace lightcone::wire {

inline constexpr char kBatchFormat[] = "lightcone.measurement_batch.v1";
inline constexpr char kBatchSignatureDomainTag[] = "lightcone/measurement-batch/v1";
inline constexpr size_t kMaxRecordsPerBatch = 10000;
inline constexpr size_t kMaxBatchLineBytes = 8 << 20;
inline constexpr size_t kCanonicalRecordBytes = 160;

struct MeasurementRecord {
  Id device_id{};
  Id landmark_id{};
  int64_t time_unix_ns = 0;  // when the challenge was sent (landmark clock)
  int64_t rtt_ns = 0;
  Nonce nonce{};
  uint64_t sequence = 0;
  crypto::KeyId key_id = 0;
  crypto::Signature reply_signature{};
};

struct MeasurementBatch {
  Id landmark_id{};
  crypto::PublicKey landmark_public_key{};
  uint64_t batch_sequence = 0;
  int64_t created_unix_ns = 0;
  std::vector<MeasurementRecord> records;
  crypto::Signature signature{};
};

// The record's device reply, rebuilt from its fields (to re-check the device signature).
Reply RecordReply(const MeasurementRecord& record);

// The bytes the batch signature covers: domain tag (with NUL), header, then every record in
// order, all integers big-endian. Errors: kInvalidArgument with more than
// kMaxRecordsPerBatch records.
absl::StatusOr<std::vector<uint8_t>> CanonicalBatchBytes(const MeasurementBatch& batch);

// Sets batch->landmark_public_key from `key` and signs the batch.
absl::Status SignBatch(const crypto::SigningKey& key, MeasurementBatch* batch);

// Checks the batch signature against batch.landmark_public_key and that every record names
// the batch's landmark. The caller must still check that this public key is the one
// registered for the landmark. Errors: kInvalidArgument naming what is wrong.
absl::Status VerifyBatch(const MeasurementBatch& batch);

// One JSON line (no trailing newline).
std::string BatchToJsonLine(const MeasurementBatch& batch);
// Strict parse of a JSON line: every field present with the right type and size, at most
// kMaxRecordsPerBatch records, at most kMaxBatchLineBytes. Does not verify signatures.
absl::StatusOr<MeasurementBatch> BatchFromJsonLine(absl::string_view line);

}  // namespace lightcone::wire

#endif  // LIGHTCONE_CORE_WIRE_RECORD_H_
