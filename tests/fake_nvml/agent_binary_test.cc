// The real lightcone-agent binary against the fake libnvidia-ml.so.1, found through
// LD_LIBRARY_PATH exactly where the driver's library would be:
//  - `lightcone-agent inventory --json` prints the scenario's inventory;
//  - the daemon's /metrics shows telemetry and XID counters;
//  - while an NVML call hangs, the agent still answers challenges and /metrics says NVML hung;
//  - a GPU that vanishes is reported lost.
//
// Contract with src/agent/main.cc: flags --listen, --device, --metrics-listen,
// --telemetry-interval-seconds; stdout JSON lines {"event":"listening","address":..} and
// {"event":"metrics","address":..}; SIGTERM stops it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/wire.h"
#include "gtest/gtest.h"
#include "tests/fake_nvml/fake_nvml_testing.h"
#include "tests/fake_nvml/scenario_builder.h"

namespace lightcone {
namespace {

using fake_nvml::Eventually;
using fake_nvml::HttpGet;

constexpr char kAgent[] = LIGHTCONE_BINARY_DIR "/lightcone-agent";

std::string FakeDir() {
  std::string p = fake_nvml::kFakeNvmlPath;
  return p.substr(0, p.rfind('/'));
}

// A child process with its stdout on a pipe.
struct Child {
  pid_t pid = -1;
  int out = -1;
  std::string buffered;

  // Next stdout line, or "" after 60 s / EOF (liveness bound only).
  std::string ReadLine() {
    for (int i = 0; i < 600; ++i) {
      size_t nl = buffered.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffered.substr(0, nl);
        buffered.erase(0, nl + 1);
        return line;
      }
      pollfd p{out, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[4096];
        ssize_t n = read(out, buf, sizeof(buf));
        if (n <= 0) return "";
        buffered.append(buf, static_cast<size_t>(n));
      }
    }
    return "";
  }

  std::string ReadAll() {
    std::string all = buffered;
    char buf[4096];
    ssize_t n;
    while ((n = read(out, buf, sizeof(buf))) > 0) all.append(buf, static_cast<size_t>(n));
    return all;
  }

  int Wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    close(out);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      Wait();
    }
  }
};

void Spawn(const std::vector<std::string>& args, const std::string& scenario_path, Child* child) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    setenv("LD_LIBRARY_PATH", FakeDir().c_str(), 1);
    setenv("FAKE_NVML_SCENARIO", scenario_path.c_str(), 1);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kAgent));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(kAgent, argv.data());
    _exit(127);
  }
  close(fds[1]);
  child->pid = pid;
  child->out = fds[0];
}

std::string Install(const nlohmann::json& scenario) {
  const std::string path = ::testing::TempDir() + "/agent_binary_scenario.json";
  EXPECT_TRUE(fake_nvml::InstallScenario(scenario, path).ok());
  return path;
}

// Splits "127.0.0.1:PORT".
uint16_t PortOf(const std::string& address) {
  return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

// Starts the daemon and returns {udp port, metrics port}.
std::pair<uint16_t, uint16_t> StartDaemon(const nlohmann::json& scenario, Child* agent) {
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                                   "--telemetry-interval-seconds", "1"};
  for (const auto& g : scenario["gpus"]) {
    args.push_back("--device");
    args.push_back(g["uuid"].get<std::string>());
  }
  Spawn(args, Install(scenario), agent);
  uint16_t udp = 0, metrics = 0;
  for (int i = 0; i < 20 && (udp == 0 || metrics == 0); ++i) {
    const std::string line = agent->ReadLine();
    if (line.empty()) break;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.value("event", "") == "listening") udp = PortOf(j["address"]);
    if (j.value("event", "") == "metrics") metrics = PortOf(j["address"]);
  }
  return {udp, metrics};
}

// Sends one challenge for `device` and waits (up to 10 s) for its signed reply.
bool ChallengeAnswered(uint16_t port, const std::string& device_uuid, uint64_t sequence) {
  auto id = wire::ParseId(device_uuid);
  if (!id.ok()) return false;
  wire::Challenge c;
  c.device_id = *id;
  c.landmark_id[0] = 0x42;
  c.nonce.fill(static_cast<uint8_t>(sequence));
  c.sequence = sequence;
  std::array<uint8_t, wire::kChallengeBytes> buf;
  wire::EncodeChallenge(c, buf);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  uint8_t in[wire::kMaxDatagramBytes];
  const ssize_t n = recv(fd, in, sizeof(in), 0);
  close(fd);
  if (n <= 0) return false;
  wire::Reply r;
  if (wire::DecodeReply(std::span<const uint8_t>(in, static_cast<size_t>(n)), &r) !=
      wire::DecodeError::kOk) {
    return false;
  }
  return r.nonce == c.nonce && r.device_id == c.device_id && r.sequence == sequence;
}

TEST(AgentBinary, InventoryJsonMatchesScenario) {
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(4);
  Child agent;
  Spawn({"inventory", "--json"}, Install(scenario), &agent);
  const std::string out = agent.ReadAll();
  ASSERT_EQ(agent.Wait(), 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  ASSERT_EQ(j["gpus"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(j["gpus"][i]["uuid"], scenario["gpus"][i]["uuid"]);
    EXPECT_EQ(j["gpus"][i]["serial"], scenario["gpus"][i]["serial"]);
    EXPECT_EQ(j["gpus"][i]["pci_bus_id"], scenario["gpus"][i]["pci_bus_id"]);
    EXPECT_EQ(j["gpus"][i]["nvlinks"].size(), 18u);
  }
  EXPECT_EQ(j["host"]["driver_version"], "550.54.15");
  EXPECT_EQ(j["inventory_hash"].get<std::string>().rfind("sha256:", 0), 0u);
}

TEST(AgentBinary, MetricsCountXidsAndChallengesAreAnsweredWhileNvmlHangs) {
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(2);
  scenario["gpus"][0]["xids"] = {{{"at_s", 0.5}, {"xid", 79}}, {{"at_s", 0.6}, {"xid", 79}}};
  // From t = 4 s GPU 1's power reading hangs for an hour.
  scenario["hangs"] = {{{"function", "nvmlDeviceGetPowerUsage"}, {"gpu", 1}, {"after_s", 4},
                        {"duration_s", 3600}}};
  Child agent;
  auto [udp, metrics] = StartDaemon(scenario, &agent);
  ASSERT_NE(udp, 0);
  ASSERT_NE(metrics, 0);
  std::string text;
  ASSERT_TRUE(Eventually([&] {
    text = HttpGet(metrics, "/metrics");
    return text.find(",xid=\"79\"} 2\n") != std::string::npos &&
           text.find("lightcone_gpu_power_watts{gpu=\"1\"") != std::string::npos;
  })) << text;
  EXPECT_TRUE(ChallengeAnswered(udp, scenario["gpus"][0]["uuid"], 1));

  ASSERT_TRUE(Eventually([&] {
    text = HttpGet(metrics, "/metrics");
    return text.find("\nlightcone_agent_nvml_hung 1\n") != std::string::npos;
  })) << text;
  // NVML is stuck inside the driver: challenges are still answered.
  EXPECT_TRUE(ChallengeAnswered(udp, scenario["gpus"][1]["uuid"], 2));
  EXPECT_TRUE(ChallengeAnswered(udp, scenario["gpus"][0]["uuid"], 3));
  EXPECT_NE(text.find("lightcone_gpu_telemetry_stale{gpu=\"1\""), std::string::npos);

  kill(agent.pid, SIGTERM);
  agent.ReadAll();
  EXPECT_EQ(agent.Wait(), 0);
}

TEST(AgentBinary, VanishedGpuIsReported) {
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(2);
  scenario["gpus"][1]["lost_after_s"] = 2;
  Child agent;
  auto [udp, metrics] = StartDaemon(scenario, &agent);
  ASSERT_NE(metrics, 0);
  std::string text;
  ASSERT_TRUE(Eventually([&] {
    text = HttpGet(metrics, "/metrics");
    const size_t at = text.find("lightcone_gpu_lost{gpu=\"1\"");
    return at != std::string::npos && text.compare(text.find('}', at), 4, "} 1\n") == 0;
  })) << text;
  kill(agent.pid, SIGTERM);
  agent.ReadAll();
  EXPECT_EQ(agent.Wait(), 0);
}

}  // namespace
}  // namespace lightcone
