// Helpers shared by the landmark/agent integration tests: start real processes and read
// their JSON lines.
#ifndef LIGHTCONE_TESTS_INTEGRATION_NET_PROCESSES_H_
#define LIGHTCONE_TESTS_INTEGRATION_NET_PROCESSES_H_

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/subprocess.h"

namespace lightcone::testing {

using nlohmann::json;

inline const std::string kBin = LIGHTCONE_BINARY_DIR;
inline const std::string kDeviceA = "aaaaaaaa-0000-4000-8000-000000000001";
inline const std::string kDeviceB = "bbbbbbbb-0000-4000-8000-000000000002";
inline const std::string kLandmarkId = "1a1a1a1a-0000-4000-8000-00000000001a";

struct Agent {
  std::unique_ptr<Subprocess> process;
  std::string address;
  std::map<std::string, std::string> public_keys;  // device -> hex
};

inline Agent StartAgent(const std::string& config = "/dev/null",
                        const std::vector<std::string>& devices = {kDeviceA, kDeviceB}) {
  Agent a;
  std::vector<std::string> argv = {kBin + "/lightcone-agent", "--config", config,
                                   "--listen", "127.0.0.1:0", "--metrics-listen", ""};
  for (const std::string& d : devices) {
    argv.push_back("--device");
    argv.push_back(d);
  }
  a.process = std::make_unique<Subprocess>(argv);
  EXPECT_TRUE(a.process->started());
  std::string listening = a.process->WaitForLine("\"listening\"");
  EXPECT_FALSE(listening.empty()) << a.process->Stderr();
  if (listening.empty()) return a;
  a.address = json::parse(listening)["address"];
  json keys = json::parse(a.process->WaitForLine("\"keys\""));
  for (const auto& k : keys["keys"]) a.public_keys[k["device"]] = k["public_key"];
  return a;
}

struct Relay {
  std::unique_ptr<Subprocess> process;
  std::string address;
};

inline Relay StartRelay(const std::string& forward, const std::string& mode,
                 std::vector<std::string> extra = {}) {
  Relay r;
  std::vector<std::string> argv = {kBin + "/tests/evil_relay", "--forward", forward, "--mode", mode};
  argv.insert(argv.end(), extra.begin(), extra.end());
  r.process = std::make_unique<Subprocess>(argv);
  std::string line = r.process->WaitForLine("\"listening\"");
  EXPECT_FALSE(line.empty()) << r.process->Stderr();
  if (!line.empty()) r.address = json::parse(line)["address"];
  return r;
}

// Runs a one-shot probe and returns its JSON summary (and exit code).
inline json Probe(const std::string& to, const std::string& device, const std::string& pubkey, int count,
           int* exit_code, std::vector<std::string> extra = {}, int timeout_ms = 500) {
  std::vector<std::string> argv = {kBin + "/lightcone", "landmark", "probe", "--to", to,
                                   "--device", device, "--pubkey", pubkey,
                                   "--count", std::to_string(count), "--interval-ms", "20",
                                   "--timeout-ms", std::to_string(timeout_ms), "--landmark-id", kLandmarkId, "--json"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Subprocess p(argv);
  *exit_code = p.Wait();
  std::string out = p.Stdout();
  std::string last;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) last = line;
  }
  EXPECT_FALSE(last.empty()) << p.Stderr();
  return last.empty() ? json::object() : json::parse(last);
}

}  // namespace lightcone::testing

#endif  // LIGHTCONE_TESTS_INTEGRATION_NET_PROCESSES_H_
