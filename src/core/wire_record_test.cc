#include "core/wire_record.h"

#include "gtest/gtest.h"

namespace lightcone::wire {
namespace {

MeasurementBatch SampleBatch(const crypto::SigningKey& device_key, int n) {
  MeasurementBatch batch;
  batch.landmark_id.fill(0x5a);
  batch.batch_sequence = 7;
  batch.created_unix_ns = 1'700'000'000'000'000'000;
  for (int i = 0; i < n; ++i) {
    Challenge c;
    c.landmark_id = batch.landmark_id;
    c.device_id.fill(static_cast<uint8_t>(i + 1));
    crypto::RandomBytes(c.nonce);
    c.sequence = 100 + i;
    Reply r;
    SignReply(c, device_key, &r);
    MeasurementRecord rec;
    rec.device_id = r.device_id;
    rec.landmark_id = r.landmark_id;
    rec.time_unix_ns = batch.created_unix_ns - 1000 * i;
    rec.rtt_ns = 20'000'000 + i;
    rec.nonce = r.nonce;
    rec.sequence = r.sequence;
    rec.key_id = r.key_id;
    rec.reply_signature = r.signature;
    batch.records.push_back(rec);
  }
  return batch;
}

TEST(MeasurementBatch, SignsVerifiesAndRoundTripsThroughJson) {
  auto landmark_key = crypto::SigningKey::Generate();
  auto device_key = crypto::SigningKey::Generate();
  ASSERT_TRUE(landmark_key.ok() && device_key.ok());
  MeasurementBatch batch = SampleBatch(*device_key, 3);
  ASSERT_TRUE(SignBatch(*landmark_key, &batch).ok());
  EXPECT_TRUE(VerifyBatch(batch).ok());
  std::string line = BatchToJsonLine(batch);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto parsed = BatchFromJsonLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(VerifyBatch(*parsed).ok());
  ASSERT_EQ(parsed->records.size(), 3u);
  EXPECT_EQ(parsed->records[2].rtt_ns, 20'000'002);
  // Each record's device signature can be re-checked offline.
  for (const auto& rec : parsed->records) {
    EXPECT_TRUE(VerifyReply(RecordReply(rec), device_key->public_key()));
  }
}

TEST(MeasurementBatch, TamperedRecordFailsVerification) {
  auto landmark_key = crypto::SigningKey::Generate();
  auto device_key = crypto::SigningKey::Generate();
  ASSERT_TRUE(landmark_key.ok() && device_key.ok());
  MeasurementBatch batch = SampleBatch(*device_key, 2);
  ASSERT_TRUE(SignBatch(*landmark_key, &batch).ok());
  batch.records[1].rtt_ns -= 1;  // a landmark shaving a nanosecond after signing
  EXPECT_EQ(VerifyBatch(batch).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MeasurementBatch, RecordForAnotherLandmarkIsRejected) {
  auto landmark_key = crypto::SigningKey::Generate();
  auto device_key = crypto::SigningKey::Generate();
  ASSERT_TRUE(landmark_key.ok() && device_key.ok());
  MeasurementBatch batch = SampleBatch(*device_key, 1);
  batch.records[0].landmark_id.fill(0x01);
  ASSERT_TRUE(SignBatch(*landmark_key, &batch).ok());
  EXPECT_EQ(VerifyBatch(batch).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MeasurementBatch, StrictJsonParsing) {
  EXPECT_EQ(BatchFromJsonLine("not json").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchFromJsonLine("[]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchFromJsonLine(R"({"format":"other"})").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto key = crypto::SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  MeasurementBatch batch = SampleBatch(*key, 1);
  ASSERT_TRUE(SignBatch(*key, &batch).ok());
  std::string line = BatchToJsonLine(batch);
  std::string short_nonce = line;
  size_t pos = short_nonce.find("\"nonce\":\"");
  ASSERT_NE(pos, std::string::npos);
  short_nonce.erase(pos + 9, 2);
  EXPECT_EQ(BatchFromJsonLine(short_nonce).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MeasurementBatch, TooManyRecordsIsRejected) {
  MeasurementBatch batch;
  batch.records.resize(kMaxRecordsPerBatch + 1);
  EXPECT_EQ(CanonicalBatchBytes(batch).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::wire
