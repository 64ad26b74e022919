#include "landmark/batch_spool.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace lightcone::landmark {
namespace {

class BatchSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/batch_spool_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    auto key = crypto::SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    key_.emplace(*std::move(key));
  }

  wire::MeasurementBatch Batch(uint64_t sequence) {
    wire::MeasurementBatch b;
    b.landmark_id.fill(0x1a);
    b.batch_sequence = sequence;
    b.created_unix_ns = 1'795'338'000'000'000'000 + static_cast<int64_t>(sequence);
    wire::MeasurementRecord r;
    r.device_id.fill(0xd1);
    r.landmark_id = b.landmark_id;
    r.rtt_ns = 1000 + static_cast<int64_t>(sequence);
    r.sequence = sequence;
    b.records.push_back(r);
    EXPECT_TRUE(wire::SignBatch(*key_, &b).ok());
    return b;
  }

  std::string Slurp(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
  std::optional<crypto::SigningKey> key_;
};

TEST_F(BatchSpoolTest, KeepsBatchesInOrderUntilAcknowledged) {
  auto spool = BatchSpool::Open(dir_);
  ASSERT_TRUE(spool.ok()) << spool.status();
  EXPECT_EQ((*spool)->pending(), 0u);
  EXPECT_FALSE((*spool)->Front().has_value());
  ASSERT_TRUE((*spool)->Append(Batch(5)).ok());
  ASSERT_TRUE((*spool)->Append(Batch(6)).ok());
  EXPECT_EQ((*spool)->pending(), 2u);
  auto front = (*spool)->Front();
  ASSERT_TRUE(front.has_value());
  EXPECT_EQ(front->sequence, 5u);
  EXPECT_EQ(front->json_line, wire::BatchToJsonLine(Batch(5)));  // Ed25519 is deterministic
  auto parsed = wire::BatchFromJsonLine(front->json_line);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(wire::VerifyBatch(*parsed).ok());
  // Only the front can be acknowledged.
  EXPECT_EQ((*spool)->Ack(6).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*spool)->Ack(5).ok());
  EXPECT_EQ((*spool)->Front()->sequence, 6u);
  EXPECT_EQ((*spool)->acked(), 1u);
}

TEST_F(BatchSpoolTest, UnacknowledgedBatchesAreThereAgainAfterARestart) {
  {
    auto spool = BatchSpool::Open(dir_);
    ASSERT_TRUE(spool.ok());
    for (uint64_t s : {1, 2, 3}) ASSERT_TRUE((*spool)->Append(Batch(s)).ok());
    ASSERT_TRUE((*spool)->Ack(1).ok());
    // The process dies here. The spool's destructor writes nothing, so dropping it is what a
    // crash leaves behind.
    spool->reset();
  }
  auto spool = BatchSpool::Open(dir_);
  ASSERT_TRUE(spool.ok()) << spool.status();
  ASSERT_EQ((*spool)->pending(), 2u);
  EXPECT_EQ((*spool)->Front()->sequence, 2u);
  ASSERT_TRUE((*spool)->Ack(2).ok());
  EXPECT_EQ((*spool)->Front()->sequence, 3u);
  // A third start after acknowledging everything finds nothing to send.
  ASSERT_TRUE((*spool)->Ack(3).ok());
  spool->reset();
  auto again = BatchSpool::Open(dir_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->pending(), 0u);
}

TEST_F(BatchSpoolTest, ATornLastLineIsIgnored) {
  {
    auto spool = BatchSpool::Open(dir_);
    ASSERT_TRUE(spool.ok());
    ASSERT_TRUE((*spool)->Append(Batch(1)).ok());
  }
  // A crash in the middle of the second append.
  std::string line = wire::BatchToJsonLine(Batch(2));
  std::ofstream(dir_ + "/outbox.jsonl", std::ios::app) << line.substr(0, line.size() / 2);
  auto spool = BatchSpool::Open(dir_);
  ASSERT_TRUE(spool.ok()) << spool.status();
  EXPECT_EQ((*spool)->pending(), 1u);
  EXPECT_EQ((*spool)->Front()->sequence, 1u);
}

TEST_F(BatchSpoolTest, SequencesNeverRepeatAcrossRestarts) {
  {
    auto spool = BatchSpool::Open(dir_);
    ASSERT_TRUE(spool.ok());
    EXPECT_EQ((*spool)->NextSequence(0), 1u);
    EXPECT_EQ((*spool)->NextSequence(1000), 1000u);
    ASSERT_TRUE((*spool)->Append(Batch(1000)).ok());
    EXPECT_EQ((*spool)->Append(Batch(1000)).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*spool)->Append(Batch(999)).code(), absl::StatusCode::kFailedPrecondition);
    ASSERT_TRUE((*spool)->Ack(1000).ok());
  }
  // Everything was acknowledged and compacted away at the next open; the mark stays.
  {
    auto spool = BatchSpool::Open(dir_);
    ASSERT_TRUE(spool.ok());
    EXPECT_EQ((*spool)->pending(), 0u);
    EXPECT_EQ(Slurp("outbox.jsonl"), "");
    EXPECT_EQ((*spool)->NextSequence(0), 1001u);
  }
  auto spool = BatchSpool::Open(dir_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->NextSequence(5), 1001u);
}

TEST_F(BatchSpoolTest, RejectedBatchesAreMovedWithTheServersAnswer) {
  auto spool = BatchSpool::Open(dir_);
  ASSERT_TRUE(spool.ok());
  ASSERT_TRUE((*spool)->Append(Batch(7)).ok());
  ASSERT_TRUE((*spool)->Append(Batch(8)).ok());
  EXPECT_EQ((*spool)->Reject(8, 400, "x").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*spool)->Reject(7, 400, "invalid_argument: records[0]: bad signature").ok());
  EXPECT_EQ((*spool)->rejected(), 1u);
  EXPECT_EQ((*spool)->Front()->sequence, 8u);
  auto entry = nlohmann::json::parse(Slurp("rejected.jsonl"));
  EXPECT_EQ(entry["sequence"], 7);
  EXPECT_EQ(entry["http_status"], 400);
  EXPECT_EQ(entry["error"], "invalid_argument: records[0]: bad signature");
  EXPECT_EQ(entry["batch"]["batch_sequence"], 7);
  spool->reset();
  // Not resent after a restart.
  auto again = BatchSpool::Open(dir_);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ((*again)->pending(), 1u);
  EXPECT_EQ((*again)->Front()->sequence, 8u);
}

TEST_F(BatchSpoolTest, AnUnwritableStateDirectoryIsUnavailable) {
  std::ofstream(dir_) << "a file, not a directory";
  EXPECT_EQ(BatchSpool::Open(dir_ + "/sub").status().code(), absl::StatusCode::kUnavailable);
  std::filesystem::remove(dir_);
}

}  // namespace
}  // namespace lightcone::landmark
