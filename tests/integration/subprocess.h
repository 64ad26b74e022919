// A child process for integration tests: stdout and stderr go to files that the test can
// wait on and read. Destroying a Subprocess kills the child (SIGKILL) if it still runs.
#ifndef LIGHTCONE_TESTS_INTEGRATION_SUBPROCESS_H_
#define LIGHTCONE_TESTS_INTEGRATION_SUBPROCESS_H_

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace lightcone::testing {

class Subprocess {
 public:
  explicit Subprocess(std::vector<std::string> argv) : argv_(std::move(argv)) {
    static int counter = 0;
    std::string base = (std::filesystem::temp_directory_path() /
                        ("lc-it-" + std::to_string(getpid()) + "-" + std::to_string(counter++)))
                           .string();
    out_path_ = base + ".out";
    err_path_ = base + ".err";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Subprocess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove(out_path_);
    std::filesystem::remove(err_path_);
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  bool started() const { return pid_ > 0; }
  std::string Stdout() const { return Slurp(out_path_); }
  std::string Stderr() const { return Slurp(err_path_); }

  // The first stdout line containing `needle`, waiting up to `timeout`; "" if none.
  std::string WaitForLine(const std::string& needle,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::istringstream in(Stdout());
      for (std::string line; std::getline(in, line);) {
        if (line.find(needle) != std::string::npos) return line;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "";
  }

  // Waits for exit (up to `timeout`, then SIGKILL); returns the exit status or -1 when it
  // was killed by a signal.
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // SIGTERM, then Wait().
  int Terminate() {
    kill(pid_, SIGTERM);
    return Wait(std::chrono::seconds(10));
  }

 private:
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::vector<std::string> argv_;
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

}  // namespace lightcone::testing

#endif  // LIGHTCONE_TESTS_INTEGRATION_SUBPROCESS_H_
