// The fleet server's clients end to end, all real processes on loopback:
//   `lightcone server` (SQLite), `lightcone-agent` on the fake libnvidia-ml.so.1 (GPUs with
//   attestation from a test CA the server is told to trust), `lightcone landmark run` with
//   --server and a durable spool.
// The agent enrolls its host and GPUs, binds each session key at L1, posts telemetry; the
// landmark learns its targets from the server, probes, and submits signed batches; the
// measurements then show on GET /api/v1/devices/{id}/measurements. A second test kills the
// server and the landmark while batches are pending and checks that every spooled batch
// reaches the server after both restart.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "core/wire_record.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/fake_nvml/scenario_builder.h"
#include "tests/integration/subprocess.h"

namespace lightcone::testing {
namespace {

using nlohmann::json;

const std::string kBin = LIGHTCONE_BINARY_DIR;
constexpr int kGpus = 2;

// Liveness bound for waiting on the processes: never a timing assertion.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::seconds limit = std::chrono::seconds(90)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A UDP port free right now (the agent must know its port before it starts, to advertise it).
int FreeUdpPort() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// JSON over HTTP with a bearer token.
struct Api {
  std::string base;
  std::string token;
  json Call(const std::string& method, const std::string& path, const json& body = nullptr,
            int* status = nullptr) const {
    httplib::Client c(base);
    c.set_bearer_token_auth(token);
    c.set_read_timeout(30);
    httplib::Result r = method == "GET" ? c.Get(path) : c.Post(path, body.dump(), "application/json");
    if (!r) {
      if (status) *status = 0;
      return nullptr;
    }
    if (status) *status = r->status;
    return json::parse(r->body, nullptr, false);
  }
};

class ServerClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/server_clients_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    // Fake GPUs that attest with a test CA; the server trusts that CA's root.
    auto ca = attest::TestCa::Generate();
    ASSERT_TRUE(ca.ok()) << ca.status();
    json scenario = fake_nvml::MakeHgxScenario(kGpus);
    fake_nvml::AddAttestation(scenario, *ca);
    ASSERT_TRUE(fake_nvml::InstallScenario(scenario, dir_ + "/scenario.json").ok());
    for (const auto& g : scenario["gpus"]) uuids_.push_back(g["uuid"].get<std::string>());
    WriteFile(dir_ + "/test-root.pem", ca->root_pem());
    std::string fake = fake_nvml::kFakeNvmlPath;
    setenv("LD_LIBRARY_PATH", fake.substr(0, fake.rfind('/')).c_str(), 1);
  }

  void StartServer(int port = 0) {
    std::filesystem::remove(dir_ + "/port");
    server_ = std::make_unique<Subprocess>(std::vector<std::string>{
        kBin + "/lightcone", "server", "--db", "sqlite:" + dir_ + "/fleet.db", "--listen",
        "127.0.0.1:" + std::to_string(port), "--port-file", dir_ + "/port",
        "--admin-token-file", dir_ + "/admin.token", "--attestation-root",
        dir_ + "/test-root.pem"});
    ASSERT_TRUE(Eventually([&] { return !Slurp(dir_ + "/port").empty(); }))
        << server_->Stderr();
    port_ = std::stoi(Slurp(dir_ + "/port"));
    std::string admin = Slurp(dir_ + "/admin.token");
    while (!admin.empty() && std::isspace(static_cast<unsigned char>(admin.back()))) admin.pop_back();
    if (!admin.empty()) admin_ = admin;
    ASSERT_FALSE(admin_.empty());
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Api Admin() const { return {Url(), admin_}; }

  // Organization, landmark (with the landmark's real key and wire id) and the two tokens.
  void Provision() {
    int status = 0;
    json org = Admin().Call("POST", "/api/v1/organizations", {{"name", "acme"}}, &status);
    ASSERT_EQ(status / 100, 2) << status << " " << org.dump();
    Subprocess keygen({kBin + "/lightcone", "landmark", "keygen", "--out", dir_ + "/lm.key"});
    ASSERT_EQ(keygen.Wait(), 0) << keygen.Stderr();
    json key = json::parse(keygen.Stdout());
    json lm = Admin().Call("POST", "/api/v1/landmarks",
                           {{"name", "sin-1"},
                            {"wire_id", "1a1a1a1a00004000800000000000001a"},
                            {"latitude_deg", 1.29},
                            {"longitude_deg", 103.85},
                            {"country", "SG"},
                            {"public_key", key["public_key"]}},
                           &status);
    ASSERT_EQ(status / 100, 2) << status << " " << lm.dump();
    landmark_id_ = lm["id"].get<int64_t>();
    json agent_token = Admin().Call(
        "POST", "/api/v1/tokens",
        {{"name", "agent-1"}, {"role", "agent"}, {"organization_id", org["id"]}}, &status);
    ASSERT_EQ(status / 100, 2) << status << " " << agent_token.dump();
    json landmark_token = Admin().Call(
        "POST", "/api/v1/tokens",
        {{"name", "landmark-1"}, {"role", "landmark"}, {"landmark_id", landmark_id_}}, &status);
    ASSERT_EQ(status / 100, 2) << status << " " << landmark_token.dump();
    WriteFile(dir_ + "/agent.token", agent_token["token"].get<std::string>() + "\n");
    landmark_token_ = landmark_token["token"].get<std::string>();
  }

  void StartAgent() {
    int udp = FreeUdpPort();
    WriteFile(dir_ + "/agent.toml",
              "listen = \"127.0.0.1:" + std::to_string(udp) + "\"\n" +
                  "advertise_address = \"127.0.0.1:" + std::to_string(udp) + "\"\n" +
                  "[server]\n"
                  "url = \"" + Url() + "\"\n"
                  "token_file = \"" + dir_ + "/agent.token\"\n"
                  "enroll_interval = 60\n"
                  "telemetry_interval = 1\n");
    // No --device: the agent serves the GPUs NVML lists.
    agent_ = std::make_unique<Subprocess>(std::vector<std::string>{
        kBin + "/lightcone-agent", "--config", dir_ + "/agent.toml", "--metrics-listen",
        "127.0.0.1:0", "--telemetry-interval-seconds", "1"});
    ASSERT_FALSE(agent_->WaitForLine("\"listening\"", std::chrono::seconds(30)).empty())
        << agent_->Stderr();
  }

  void StartLandmark() {
    WriteFile(dir_ + "/landmark.toml",
              "id = \"1a1a1a1a-0000-4000-8000-00000000001a\"\n"
              "listen = \"127.0.0.1:0\"\n"
              "key_file = \"" + dir_ + "/lm.key\"\n"
              "output = \"" + dir_ + "/batches.jsonl\"\n"
              "interval_ms = 50\n"
              "window_ms = 500\n"
              "[server]\n"
              "state_dir = \"" + dir_ + "/landmark-state\"\n"
              "targets_poll_ms = 200\n");
    landmark_ = std::make_unique<Subprocess>(std::vector<std::string>{
        kBin + "/lightcone", "landmark", "run", "--config", dir_ + "/landmark.toml", "--server",
        Url(), "--token", landmark_token_});
    ASSERT_TRUE(landmark_->started());
  }

  // Server id of each GPU, once all are enrolled with a bound key.
  std::map<std::string, int64_t> DeviceIds() {
    std::map<std::string, int64_t> ids;
    json devices = Admin().Call("GET", "/api/v1/devices");
    if (!devices.is_object()) return ids;
    for (const auto& d : devices["items"]) ids[d["uuid"].get<std::string>()] = d["id"].get<int64_t>();
    return ids;
  }

  size_t MeasurementCount(int64_t device_id) {
    json m = Admin().Call("GET", "/api/v1/devices/" + std::to_string(device_id) +
                                     "/measurements?limit=10000");
    return m.is_object() && m["items"].is_array() ? m["items"].size() : 0;
  }

  std::string dir_;
  std::vector<std::string> uuids_;
  int port_ = 0;
  std::string admin_;
  std::string landmark_token_;
  int64_t landmark_id_ = 0;
  std::unique_ptr<Subprocess> server_, agent_, landmark_;
};

TEST_F(ServerClientsTest, AgentEnrollsAndBindsL1LandmarkProbesAndSubmits) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(Provision());
  ASSERT_NO_FATAL_FAILURE(StartAgent());

  // Enrollment and L1 key binding of every GPU.
  json devices;
  ASSERT_TRUE(Eventually([&] {
    devices = Admin().Call("GET", "/api/v1/devices");
    if (!devices.is_object() || devices["items"].size() != kGpus) return false;
    for (const auto& d : devices["items"]) {
      if (!d["key"].is_object() || d["key"]["assurance"] != "L1") return false;
    }
    return true;
  })) << devices.dump() << "\n" << agent_->Stderr();
  std::set<std::string> enrolled;
  for (const auto& d : devices["items"]) {
    enrolled.insert(d["uuid"].get<std::string>());
    EXPECT_FALSE(d["serial"].get<std::string>().empty());
    EXPECT_EQ(d["architecture"], "Hopper");
    EXPECT_FALSE(d["ueid"].get<std::string>().empty()) << "L1 binding records the attested ueid";
  }
  for (const std::string& u : uuids_) {
    std::string lower = u;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    lower.replace(0, 3, "GPU");
    EXPECT_EQ(enrolled.count(lower), 1u) << u;
  }
  json hosts = Admin().Call("GET", "/api/v1/hosts");
  ASSERT_EQ(hosts["items"].size(), 1u) << hosts.dump();
  EXPECT_NE(hosts["items"][0]["probe_address"].get<std::string>().find("127.0.0.1:"),
            std::string::npos);

  // Telemetry reaches the device objects.
  int64_t first_id = devices["items"][0]["id"].get<int64_t>();
  json device;
  ASSERT_TRUE(Eventually([&] {
    device = Admin().Call("GET", "/api/v1/devices/" + std::to_string(first_id));
    return device.is_object() && device["telemetry"].is_object();
  })) << device.dump();
  EXPECT_GT(device["telemetry"]["temperature_c"].get<double>(), 0);

  // The landmark learns the targets from the server, probes, and submits.
  ASSERT_NO_FATAL_FAILURE(StartLandmark());
  for (const auto& d : devices["items"]) {
    int64_t id = d["id"].get<int64_t>();
    EXPECT_TRUE(Eventually([&] { return MeasurementCount(id) > 0; }))
        << "device " << id << "\n" << landmark_->Stderr();
  }
  json m = Admin().Call("GET", "/api/v1/devices/" + std::to_string(first_id) + "/measurements");
  ASSERT_FALSE(m["items"].empty());
  EXPECT_EQ(m["items"][0]["landmark_id"], landmark_id_);
  EXPECT_GT(m["items"][0]["rtt_ns"].get<int64_t>(), 0);

  // Clean stop: the last window goes out, nothing stays in the spool or is rejected.
  EXPECT_EQ(landmark_->Terminate(), 0);
  EXPECT_NE(landmark_->Stderr().find("\"batches_pending\":0"), std::string::npos)
      << landmark_->Stderr();
  EXPECT_NE(landmark_->Stderr().find("\"batches_rejected\":0"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/landmark-state/rejected.jsonl"));
  // The JSON-lines file output still gets every batch too.
  EXPECT_FALSE(Slurp(dir_ + "/batches.jsonl").empty());

  // The agent's /metrics counts its requests.
  std::string metrics_line = agent_->WaitForLine("\"metrics\"");
  ASSERT_FALSE(metrics_line.empty());
  std::string address = json::parse(metrics_line)["address"];
  httplib::Client metrics("http://" + address);
  auto r = metrics.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("lightcone_agent_server_requests_total{endpoint=\"enroll\",result=\"ok\"}"),
            std::string::npos);
  EXPECT_NE(r->body.find("lightcone_agent_server_key_bindings_total{assurance=\"L1\"} 2"),
            std::string::npos)
      << r->body;
  EXPECT_EQ(agent_->Terminate(), 0);
}

TEST_F(ServerClientsTest, SpooledBatchesReachTheServerAfterBothRestart) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(Provision());
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_TRUE(Eventually([&] {
    json d = Admin().Call("GET", "/api/v1/landmarks/" + std::to_string(landmark_id_) + "/targets");
    return d.is_object() && d["targets"].size() == kGpus;
  }));
  ASSERT_NO_FATAL_FAILURE(StartLandmark());
  std::map<std::string, int64_t> ids = DeviceIds();
  ASSERT_EQ(ids.size(), static_cast<size_t>(kGpus));
  ASSERT_TRUE(Eventually([&] { return MeasurementCount(ids.begin()->second) > 0; }))
      << landmark_->Stderr();

  // The server dies; the landmark keeps measuring into its spool, then dies too.
  const int port = port_;
  server_.reset();  // SIGKILL
  const std::string outbox = dir_ + "/landmark-state/outbox.jsonl";
  std::set<std::string> spooled_nonces;
  ASSERT_TRUE(Eventually([&] {
    spooled_nonces.clear();
    std::istringstream in(Slurp(outbox));
    for (std::string line; std::getline(in, line);) {
      auto batch = wire::BatchFromJsonLine(line);
      if (!batch.ok()) continue;
      for (const auto& rec : batch->records) spooled_nonces.insert(crypto::HexEncode(rec.nonce));
    }
    return spooled_nonces.size() >= 4;
  })) << landmark_->Stderr();
  landmark_.reset();  // SIGKILL: the spool is all that is left of those batches

  // Both come back: every spooled record reaches the server.
  ASSERT_NO_FATAL_FAILURE(StartServer(port));
  ASSERT_NO_FATAL_FAILURE(StartLandmark());
  std::set<std::string> stored;
  EXPECT_TRUE(Eventually([&] {
    json all = Admin().Call("GET", "/api/v1/measurements?landmark_id=" +
                                       std::to_string(landmark_id_) + "&limit=10000");
    if (!all.is_object()) return false;
    stored.clear();
    for (const auto& m : all["items"]) stored.insert(m["nonce"].get<std::string>());
    for (const std::string& n : spooled_nonces) {
      if (stored.count(n) == 0) return false;
    }
    return true;
  })) << landmark_->Stderr();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/landmark-state/rejected.jsonl"))
      << Slurp(dir_ + "/landmark-state/rejected.jsonl");
}

}  // namespace
}  // namespace lightcone::testing
