// Every measurement batch the server acknowledged (2xx) survives SIGKILL of the server:
// runs `lightcone server` as a child process on SQLite, submits a batch, kills it with
// SIGKILL right after each 2xx, restarts it, and finally checks that every acknowledged
// measurement is stored exactly once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "api_test_util.h"
#include "gtest/gtest.h"

namespace lightcone::server {
namespace {

using testing::Call;
using testing::Json;

const std::string kBinary = std::string(LIGHTCONE_BINARY_DIR) + "/lightcone";
constexpr int kRounds = 5;
constexpr int kRecordsPerBatch = 200;

class ServerProcess {
 public:
  explicit ServerProcess(std::string dir) : dir_(std::move(dir)) {}
  ~ServerProcess() { Kill(); }

  // Starts the server; returns its port (0 on failure).
  int Start() {
    std::filesystem::remove(dir_ + "/port");
    pid_ = fork();
    if (pid_ == 0) {
      const std::string db = "sqlite:" + dir_ + "/fleet.db";
      const std::string token_file = dir_ + "/admin-token";
      const std::string port_file = dir_ + "/port";
      execl(kBinary.c_str(), kBinary.c_str(), "server", "--db", db.c_str(), "--listen",
            "127.0.0.1:0", "--admin-token-file", token_file.c_str(), "--port-file",
            port_file.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 600; ++i) {
      std::ifstream in(dir_ + "/port");
      std::string text;
      int port = 0;
      if (std::getline(in, text) && absl::SimpleAtoi(text, &port) && port > 0) return port;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }

 private:
  std::string dir_;
  pid_t pid_ = 0;
};

TEST(ServerDurabilityTest, AcknowledgedBatchesSurviveSigkill) {
  ASSERT_TRUE(std::filesystem::exists(kBinary)) << kBinary;
  std::string tmpl = (std::filesystem::temp_directory_path() / "api_durability-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  ServerProcess process(dir);
  int port = process.Start();
  ASSERT_GT(port, 0);
  std::ifstream token_in(dir + "/admin-token");
  std::string admin;
  std::getline(token_in, admin);
  ASSERT_FALSE(admin.empty());

  auto expect = [&](int status, const std::string& method, const std::string& path,
                    const std::string& token, const Json& body) {
    auto r = Call(port, method, path, token, body.is_null() ? "" : body.dump());
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    return r.json;
  };
  const int64_t org = expect(201, "POST", "/api/v1/organizations", admin, {{"name", "acme"}})["id"];
  auto landmark_key = crypto::SigningKey::Generate();
  ASSERT_TRUE(landmark_key.ok());
  wire::Id landmark_wire;
  crypto::RandomBytes(landmark_wire);
  const int64_t landmark_id =
      expect(201, "POST", "/api/v1/landmarks", admin,
             {{"name", "sin-1"}, {"wire_id", crypto::HexEncode(landmark_wire)},
              {"latitude_deg", 1.3}, {"longitude_deg", 103.8},
              {"public_key", crypto::HexEncode(landmark_key->public_key())}})["id"];
  const std::string landmark_token =
      expect(201, "POST", "/api/v1/tokens", admin,
             {{"name", "lm"}, {"role", "landmark"}, {"landmark_id", landmark_id}})["token"];
  const std::string agent_token =
      expect(201, "POST", "/api/v1/tokens", admin,
             {{"name", "agent"}, {"role", "agent"}, {"organization_id", org}})["token"];
  const std::string uuid = "GPU-12345678-1234-1234-1234-123456789abc";
  const int64_t device_id = expect(200, "POST", "/api/v1/enroll", agent_token,
                                   {{"hostname", "node-1"}, {"devices", {{{"uuid", uuid}}}}})
                                ["devices"][0]["id"];
  auto device_key = crypto::SigningKey::Generate();
  ASSERT_TRUE(device_key.ok());
  expect(200, "POST", "/api/v1/devices/" + uuid + "/key-binding", agent_token,
         {{"public_key", crypto::HexEncode(device_key->public_key())},
          {"key_id", crypto::FormatKeyId(device_key->key_id())},
          {"assurance", "L0"}});
  const wire::Id device_wire = *wire::ParseId(uuid);

  int64_t acknowledged = 0;
  uint64_t sequence = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<wire::MeasurementRecord> records;
    for (int i = 0; i < kRecordsPerBatch; ++i) {
      records.push_back(testing::SignedRecord(device_wire, landmark_wire, *device_key,
                                              sequence++, 1'000'000 + i));
    }
    const std::string body = wire::BatchToJsonLine(
        testing::SignedBatch(*landmark_key, landmark_wire, round + 1, records));
    auto reply = Call(port, "POST", "/api/v1/measurements/batches", landmark_token, body);
    ASSERT_EQ(reply.status, 200) << reply.body;
    acknowledged += reply.json.value("inserted", 0);
    process.Kill();  // right after the 2xx
    port = process.Start();
    ASSERT_GT(port, 0) << "restart " << round;
  }
  EXPECT_EQ(acknowledged, kRounds * kRecordsPerBatch);
  const std::string operator_token =
      Call(port, "POST", "/api/v1/tokens", admin,
           Json{{"name", "ops"}, {"role", "operator"}, {"organization_id", org}}.dump())
          .json.value("token", "");
  auto listed = Call(port, "GET",
                     absl::StrCat("/api/v1/measurements?limit=10000&device_id=", device_id),
                     operator_token);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(static_cast<int64_t>(listed.json["items"].size()), acknowledged);
  process.Kill();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lightcone::server
