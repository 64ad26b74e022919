#include "landmark/server_client.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace lightcone::landmark {
namespace {

TEST(LandmarkServerMessagesTest, ParsesTargetsAsTheContractWritesThem) {
  std::string key(64, 'b');
  auto list = ParseTargetsResponse(R"({"version": 17, "targets": [
      {"device_uuid": "GPU-0123abcd-4567-89ab-cdef-0123456789ab",
       "wire_device_id": "0123abcd456789abcdef0123456789ab",
       "address": "127.0.0.1:40001", "public_key": ")" + key + R"(", "key_id": "0011223344556677"},
      {"device_uuid": "GPU-0123abcd-4567-89ab-cdef-0123456789ac",
       "wire_device_id": "0123abcd456789abcdef0123456789ac",
       "address": "", "public_key": ")" + key + R"(", "key_id": "0011223344556677"},
      {"device_uuid": "GPU-0123abcd-4567-89ab-cdef-0123456789ad",
       "wire_device_id": "0123abcd456789abcdef0123456789ad",
       "address": "", "public_key": "", "key_id": ""}]})");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->version, 17);
  ASSERT_EQ(list->targets.size(), 2u);
  EXPECT_EQ(list->without_key, 1u);
  EXPECT_EQ(wire::FormatId(list->targets[0].device_id), "0123abcd-4567-89ab-cdef-0123456789ab");
  EXPECT_EQ(list->targets[0].address, "127.0.0.1:40001");
  ASSERT_EQ(list->targets[0].public_keys.size(), 1u);
  EXPECT_EQ(list->targets[0].public_keys[0][0], 0xbb);
  EXPECT_TRUE(list->targets[1].address.empty());  // agent-initiated
}

TEST(LandmarkServerMessagesTest, RejectsMalformedTargetListsNamingTheField) {
  struct Case {
    const char* body;
    const char* field;
  } cases[] = {
      {"nope", "$"},
      {R"({"targets": []})", "version"},
      {R"({"version": 1})", "targets"},
      {R"({"version": 1, "targets": [3]})", "targets[0]"},
      {R"({"version": 1, "targets": [{"wire_device_id": "zz"}]})", "targets[0].wire_device_id"},
      {R"({"version": 1, "targets": [{"wire_device_id": "0123abcd456789abcdef0123456789ab",
          "public_key": "12"}]})",
       "targets[0].public_key"},
  };
  for (const Case& c : cases) {
    auto r = ParseTargetsResponse(c.body);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(r.status().message().find(c.field), absl::string_view::npos) << r.status();
  }
}

TEST(LandmarkServerMessagesTest, ParsesBatchAnswersAndWhoami) {
  auto a = ParseBatchResponse(
      R"({"batch_id": 12, "inserted": 7, "duplicates": 1, "batch_already_stored": true})");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->batch_id, 12);
  EXPECT_EQ(a->inserted, 7);
  EXPECT_EQ(a->duplicates, 1);
  EXPECT_TRUE(a->batch_already_stored);
  EXPECT_EQ(ParseBatchResponse(R"({"batch_id": 1})").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto id = ParseWhoamiLandmarkId(
      R"({"name": "sin-1", "role": "landmark", "organization_id": 0, "landmark_id": 3})");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 3);
  auto agent = ParseWhoamiLandmarkId(R"({"name": "a", "role": "agent", "landmark_id": 0})");
  EXPECT_EQ(agent.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(agent.status().message().find("agent"), absl::string_view::npos);
}

// The uploader against a real HTTP server on loopback whose answers the test scripts: it
// checks what leaves the spool and when, which the real fleet server cannot be made to do
// on demand (a 503 in the middle of a run).
class UploaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/uploader_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    auto key = crypto::SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    key_.emplace(*std::move(key));
    server_.Post("/api/v1/measurements/batches",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   auto batch = wire::BatchFromJsonLine(req.body);
                   uint64_t seq = batch.ok() ? batch->batch_sequence : 0;
                   int n = ++attempts_[seq % 16];
                   received_.fetch_add(1);
                   if (seq == fail_twice_ && n <= 2) {
                     res.status = 503;
                     res.set_content(R"({"error":{"code":"unavailable","message":"busy"}})",
                                     "application/json");
                   } else if (seq == refuse_) {
                     res.status = 400;
                     res.set_content(
                         R"({"error":{"code":"invalid_argument","message":"records[0]: bad signature"}})",
                         "application/json");
                   } else {
                     res.set_content(R"({"batch_id": 1, "inserted": 1, "duplicates": 0,
                                         "batch_already_stored": false})",
                                     "application/json");
                   }
                 });
    server_.Get("/api/v1/whoami", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"name":"l","role":"landmark","organization_id":0,"landmark_id":3})",
                      "application/json");
    });
    server_.Get("/api/v1/landmarks/3/targets",
                [this](const httplib::Request& req, httplib::Response& res) {
                  if (req.get_param_value("if_version") == "4") {
                    res.status = 304;
                    return;
                  }
                  res.set_content(R"({"version": 4, "targets": [{"device_uuid": "GPU-0123abcd-4567-89ab-cdef-0123456789ab",
                      "wire_device_id": "0123abcd456789abcdef0123456789ab", "address": "",
                      "public_key": ")" + std::string(64, 'c') + R"(", "key_id": "x"}]})",
                                  "application/json");
                  target_polls_.fetch_add(1);
                });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }

  wire::MeasurementBatch Batch(uint64_t sequence) {
    wire::MeasurementBatch b;
    b.landmark_id.fill(0x1a);
    b.batch_sequence = sequence;
    EXPECT_TRUE(wire::SignBatch(*key_, &b).ok());
    return b;
  }

  std::unique_ptr<LandmarkServerClient> Client(BatchSpool* spool) {
    LandmarkServerClient::Options o;
    o.api.url = "http://127.0.0.1:" + std::to_string(port_);
    o.api.token = "t";
    o.retry_initial = std::chrono::milliseconds(5);
    o.retry_max = std::chrono::milliseconds(20);
    o.targets_poll_interval = std::chrono::milliseconds(20);
    auto c = LandmarkServerClient::Create(o, spool);
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }

  std::string dir_;
  std::optional<crypto::SigningKey> key_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::array<std::atomic<int>, 16> attempts_{};
  std::atomic<int> received_{0};
  std::atomic<int> target_polls_{0};
  uint64_t fail_twice_ = 0;
  uint64_t refuse_ = 0;
};

TEST_F(UploaderTest, RetriesServerErrorsInOrderAndRejectsClientErrors) {
  fail_twice_ = 1;  // 503, 503, then 200
  refuse_ = 2;      // 400: moved to rejected.jsonl, never resent
  auto spool = BatchSpool::Open(dir_);
  ASSERT_TRUE(spool.ok());
  for (uint64_t s : {1, 2, 3}) ASSERT_TRUE((*spool)->Append(Batch(s)).ok());
  auto client = Client(spool->get());
  client->Start();
  ASSERT_TRUE(client->WaitUntilFlushed(std::chrono::seconds(60)));
  client->Stop();
  EXPECT_EQ(attempts_[1].load(), 3);
  EXPECT_EQ(attempts_[2].load(), 1);
  EXPECT_EQ(attempts_[3].load(), 1);
  ServerClientStats stats = client->stats();
  EXPECT_EQ(stats.batches_acked, 2u);
  EXPECT_EQ(stats.batches_rejected, 1u);
  EXPECT_EQ(stats.upload_failures, 2u);
  std::ifstream in(dir_ + "/rejected.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto entry = nlohmann::json::parse(line);
  EXPECT_EQ(entry["sequence"], 2);
  EXPECT_EQ(entry["http_status"], 400);
  EXPECT_EQ(entry["error"], "invalid_argument: records[0]: bad signature");
}

TEST_F(UploaderTest, KeepsBatchesWhileTheServerIsDownAndSendsThemAfterARestart) {
  auto spool = BatchSpool::Open(dir_);
  ASSERT_TRUE(spool.ok());
  ASSERT_TRUE((*spool)->Append(Batch(1)).ok());
  {
    LandmarkServerClient::Options o;
    o.api.url = "http://127.0.0.1:1";  // nothing listens
    o.retry_initial = std::chrono::milliseconds(5);
    o.retry_max = std::chrono::milliseconds(20);
    auto down = LandmarkServerClient::Create(o, spool->get());
    ASSERT_TRUE(down.ok());
    (*down)->Start();
    EXPECT_FALSE((*down)->WaitUntilFlushed(std::chrono::milliseconds(200)));
    (*down)->Stop();
    EXPECT_GT((*down)->stats().upload_failures, 0u);
  }
  EXPECT_EQ((*spool)->pending(), 1u);
  spool->reset();  // the landmark stops (or dies) with the batch unacknowledged
  auto reopened = BatchSpool::Open(dir_);
  ASSERT_TRUE(reopened.ok());
  ASSERT_EQ((*reopened)->pending(), 1u);
  auto client = Client(reopened->get());
  client->Start();
  ASSERT_TRUE(client->WaitUntilFlushed(std::chrono::seconds(60)));
  client->Stop();
  EXPECT_EQ(attempts_[1].load(), 1);
}

TEST_F(UploaderTest, LearnsItsIdAndFollowsTheTargetList) {
  auto spool = BatchSpool::Open(dir_);
  ASSERT_TRUE(spool.ok());
  auto client = Client(spool->get());
  client->Start();
  std::optional<std::vector<TargetConfig>> targets;
  for (int i = 0; i < 6000 && !targets; ++i) {
    targets = client->TakeTargets();
    if (!targets) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(targets.has_value());
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_TRUE((*targets)[0].address.empty());
  // Later polls ask with if_version=4 and get 304: no new list.
  while (target_polls_.load() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(client->TakeTargets().has_value());
  client->Stop();
  EXPECT_EQ(client->stats().landmark_id, 3);
  EXPECT_EQ(client->stats().targets_version, 4);
  EXPECT_EQ(target_polls_.load(), 1);
}

}  // namespace
}  // namespace lightcone::landmark
