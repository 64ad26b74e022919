// Runs the real `lightcone netem` binary: reads the printed listen port, relays through it,
// stops it with SIGTERM and reads the counters; bad flags and configs exit 2.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "netem/socket_address.h"
#include "netem/udp_test_util.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace lightcone::netem {
namespace {

using std::chrono::milliseconds;
using testing::EchoServer;
using testing::SteadyNowNs;
using testing::UdpClient;

const std::string kBinary = std::string(LIGHTCONE_BINARY_DIR) + "/lightcone";

// A child process with its stdout on a pipe.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), kBinary);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    EXPECT_EQ(posix_spawn(&pid_, kBinary.c_str(), &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ != nullptr) fclose(out_);
  }

  // The next stdout line ("" at end of file).
  std::string ReadLine() {
    char buffer[4096];
    if (fgets(buffer, sizeof(buffer), out_) == nullptr) return "";
    return buffer;
  }
  void Signal(int signal) { kill(pid_, signal); }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

TEST(NetemCli, PrintsThePortRelaysAndReportsCountersOnSigterm) {
  EchoServer echo;
  Child netem({"netem", "--link",
               absl::StrCat("127.0.0.1:0=", echo.address(), ",delay_ms=10,name=tokyo")});
  const nlohmann::json link = nlohmann::json::parse(netem.ReadLine());
  EXPECT_EQ(link["link"], "tokyo");
  EXPECT_EQ(link["delay_ms"], 10.0);
  EXPECT_EQ(link["return_delay_ms"], 10.0);
  const nlohmann::json ready = nlohmann::json::parse(netem.ReadLine());
  EXPECT_EQ(ready["ready"], true);
  auto listen = SocketAddress::Parse(link["listen"].get<std::string>());
  ASSERT_TRUE(listen.ok()) << listen.status();
  ASSERT_NE(listen->port(), 0);

  UdpClient client(*listen);
  for (int i = 0; i < 3; ++i) {
    const int64_t sent = SteadyNowNs();
    ASSERT_TRUE(client.Send("ping"));
    auto reply = client.Receive(milliseconds(2000));
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(*reply, "ping");
    EXPECT_GE(static_cast<double>(SteadyNowNs() - sent) / 1e6, 20.0);
  }
  netem.Signal(SIGTERM);
  const nlohmann::json counters = nlohmann::json::parse(netem.ReadLine());
  EXPECT_EQ(counters["link"], "tokyo");
  EXPECT_EQ(counters["forwarded"], 3);
  EXPECT_EQ(counters["returned"], 3);
  EXPECT_EQ(counters["dropped_loss"], 0);
  EXPECT_EQ(counters["dropped_queue_full"], 0);
  const nlohmann::json summary = nlohmann::json::parse(netem.ReadLine());
  EXPECT_EQ(summary["summary"], true);
  EXPECT_EQ(netem.Wait(), 0);
}

TEST(NetemCli, DurationStopsByItself) {
  Child netem({"netem", "--link", "127.0.0.1:0=127.0.0.1:9,delay_ms=1", "--link",
               "127.0.0.1:0=127.0.0.1:9,delay_ms=2,loss=1", "--duration", "0.2"});
  int lines = 0;
  while (!netem.ReadLine().empty()) ++lines;
  EXPECT_EQ(lines, 2 + 1 + 2 + 1);  // two links, ready, two counter lines, summary
  EXPECT_EQ(netem.Wait(), 0);
}

TEST(NetemCli, ReadsATomlConfig) {
  const std::string path = std::string(LIGHTCONE_BINARY_DIR) + "/netem_cli_test.toml";
  {
    std::ofstream out(path);
    out << "[relay]\nspin_us = 20\n[[link]]\nname = \"a\"\nlisten = \"127.0.0.1:0\"\n"
           "forward = \"127.0.0.1:9\"\ndelay_ms = 5\nreturn_delay_ms = 7\n";
  }
  Child netem({"netem", "--config", path, "--duration", "0.1"});
  const nlohmann::json link = nlohmann::json::parse(netem.ReadLine());
  EXPECT_EQ(link["link"], "a");
  EXPECT_EQ(link["return_delay_ms"], 7.0);
  const nlohmann::json ready = nlohmann::json::parse(netem.ReadLine());
  EXPECT_EQ(ready["spin_us"], 20.0);
  EXPECT_EQ(netem.Wait(), 0);
  std::remove(path.c_str());
}

TEST(NetemCli, BadInputExitsTwo) {
  const std::string bad_config = std::string(LIGHTCONE_BINARY_DIR) + "/netem_cli_bad.toml";
  {
    std::ofstream out(bad_config);
    out << "[[link]]\nlisten = \"127.0.0.1:0\"\nforward = \"127.0.0.1:9\"\ndelay_ms = -4\n";
  }
  const std::vector<std::vector<std::string>> cases = {
      {"netem"},
      {"netem", "--link", "nonsense"},
      {"netem", "--link", "127.0.0.1:0=127.0.0.1:9,delay_ms=1,loss=7"},
      {"netem", "--link", "127.0.0.1:0=127.0.0.1:9,delay_ms=1", "--spin-us", "100000"},
      {"netem", "--config", "/nonexistent/netem.toml"},
      {"netem", "--config", bad_config},
      {"netem", "--link", "127.0.0.1:0=127.0.0.1:9,delay_ms=1", "--bogus-flag"},
  };
  for (const auto& args : cases) {
    Child netem(args);
    EXPECT_EQ(netem.ReadLine(), "") << args.back();
    EXPECT_EQ(netem.Wait(), 2) << args.back();
  }
  std::remove(bad_config.c_str());
}

}  // namespace
}  // namespace lightcone::netem
