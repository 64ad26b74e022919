// Landmark prober benchmark.
//
// 1. Timing error against ground truth. An in-process echo answers each challenge with a
//    valid signed reply, holding it kHoldUs after its kernel receive timestamp and reading
//    its own kernel transmit timestamp. The time the challenge really spent at the echo is
//    (echo TX stamp - echo RX stamp); the landmark's error is its measured RTT minus that,
//    i.e. what its own timestamps add (two loopback traversals included). Measured with
//    kernel TX timestamps (SOF_TIMESTAMPING_TX_SOFTWARE via the error queue) and with the
//    user-space clock read before sendto(), to choose the better one.
// 2. Timing error against the delay emulator: `lightcone netem` (10 ms each way) in front of
//    an in-process echo (as in 1, no hold); error = RTT - 20 ms - the echo's own measured
//    time (so it is the landmark's error plus the emulator's scheduling error).
//    Skipped when build/lightcone has no netem.
// 3. Probes per second one landmark sustains per core: the prober keeps 64 probes in flight
//    to an in-process responder; accepted replies / prober thread CPU seconds.
//
// Headline figures:
//   landmark_timing_error_median_us, landmark_timing_error_p99_us   (kernel TX; target <= 20)
//   landmark_timing_error_user_tx_median_us, landmark_timing_error_user_tx_p99_us
//   landmark_timing_error_vs_netem_median_us, landmark_timing_error_vs_netem_p99_us
//   landmark_probes_per_core_second, landmark_probes_per_second_wall
// Environment: LANDMARK_BENCH_PROBES (default 1000) per timing scenario.
#include <time.h>
#include <linux/net_tstamp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/responder.h"
#include "figures.h"
#include "benchmark/benchmark.h"
#include "core/net_timestamps.h"
#include "core/wire_address.h"
#include "landmark/prober.h"
#include "core/clock.h"

extern char** environ;

namespace lightcone {
namespace {

constexpr int64_t kHoldUs = 300;

int64_t Ns(const timespec& ts) { return net::TimespecToNs(ts); }
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(Ns(ts)) / 1e9;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// The echo: answers with a signed reply kHoldUs after the kernel RX stamp, and records
// (kernel TX stamp - kernel RX stamp) per sequence.
class Echo {
 public:
  Echo(const crypto::SigningKey* key, int64_t hold_us = kHoldUs) : key_(key), hold_us_(hold_us) {
    auto local = wire::ResolveEndpoint("127.0.0.1:0");
    fd_ = *wire::BindUdpSocket(*local);
    endpoint_ = *wire::LocalEndpoint(fd_);
    uint32_t flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE |
                     SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
    setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags));
    thread_ = std::thread([this] { Run(); });
  }
  ~Echo() {
    stop_.store(true);
    thread_.join();
    close(fd_);
  }
  wire::Endpoint endpoint() const { return endpoint_; }
  std::map<uint64_t, int64_t> holds() {
    std::lock_guard<std::mutex> lock(mu_);
    return holds_;
  }

 private:
  void Run() {
    uint32_t tx_id = 0;
    std::map<uint32_t, std::pair<uint64_t, int64_t>> pending;  // tx id -> (seq, rx)
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      // Error queue: our TX stamps.
      while (std::optional<net::TxTimestampReport> report = net::ReadTxTimestamp(fd_)) {
        auto it = pending.find(report->id.value_or(0));
        if (it != pending.end() && report->tx_ns != 0) {
          std::lock_guard<std::mutex> lock(mu_);
          holds_[it->second.first] = report->tx_ns - it->second.second;
          pending.erase(it);
        }
      }
      alignas(cmsghdr) uint8_t control[256];
      uint8_t data[wire::kMaxDatagramBytes];
      sockaddr_storage from{};
      iovec iov{data, sizeof(data)};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof(from);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
      if (n <= 0) continue;
      int64_t rx = net::ReceiveTimestampNs(msg);
      wire::Challenge ch;
      if (wire::DecodeChallenge(std::span<const uint8_t>(data, n), &ch) != wire::DecodeError::kOk) continue;
      wire::Reply r;
      wire::SignReply(ch, *key_, &r);
      uint8_t out[wire::kReplyBytes];
      wire::EncodeReply(r, out);
      while (RealtimeNs() < rx + hold_us_ * 1000) {
      }
      pending[tx_id++] = {ch.sequence, rx};
      sendto(fd_, out, sizeof(out), 0, reinterpret_cast<const sockaddr*>(&from), msg.msg_namelen);
    }
  }

  const crypto::SigningKey* key_;
  int64_t hold_us_;
  int fd_;
  wire::Endpoint endpoint_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<uint64_t, int64_t> holds_;
  std::thread thread_;
};

int Probes() {
  const char* s = std::getenv("LANDMARK_BENCH_PROBES");
  return s ? std::atoi(s) : 1000;
}

void TimingVsEcho(landmark::Prober::TxTimestamp mode, const char* prefix) {
  auto key = *crypto::SigningKey::Generate();
  Echo echo(&key);
  landmark::ProbeTarget target;
  target.device_id.fill(0xd1);
  target.endpoint = echo.endpoint();
  target.public_keys = {key.public_key()};
  landmark::Prober::Options options;
  options.landmark_id.fill(0x1a);
  options.listen = "127.0.0.1:0";
  options.tx_timestamp = mode;
  auto prober = *landmark::Prober::Create(options, {target});
  std::map<uint64_t, int64_t> rtts;
  for (int i = 0; i < Probes(); ++i) {
    (void)prober->Probe(0);
    int64_t until = MonotonicNs() + 2'000'000;
    while (MonotonicNs() < until) {
      prober->Poll(std::chrono::nanoseconds(until - MonotonicNs()),
                   [&](const landmark::ProbeResult& r) { rtts[r.sequence] = r.rtt_ns; });
    }
  }
  usleep(100'000);
  auto holds = echo.holds();
  std::vector<double> errors_us;
  for (auto [seq, rtt] : rtts) {
    auto it = holds.find(seq);
    if (it != holds.end()) errors_us.push_back(static_cast<double>(rtt - it->second) / 1e3);
  }
  double median = Percentile(errors_us, 0.5), p99 = Percentile(errors_us, 0.99);
  std::fprintf(stderr, "%s: %zu samples (kernel tx stamps %llu): median %.1f us, p99 %.1f us, min %.1f us\n",
               prefix, errors_us.size(),
               static_cast<unsigned long long>(prober->stats().tx_kernel_timestamps), median, p99,
               Percentile(errors_us, 0.0));
  bench::ReportFigure(std::string(prefix) + "_median_us", median, "us", false);
  bench::ReportFigure(std::string(prefix) + "_p99_us", p99, "us", false);
}

std::unique_ptr<agent::DeviceKeyStore> ResponderKeys(wire::Id* device) {
  std::vector<agent::DeviceConfig> devices(1);
  devices[0].id.fill(0xd1);
  *device = devices[0].id;
  return *agent::DeviceKeyStore::Create(devices, {});
}

void TimingVsNetem() {
  std::string netem_bin = std::string(LIGHTCONE_BINARY_DIR) + "/lightcone";
  // The echo answers at once (hold 0) and measures its own time per challenge (kernel RX to
  // kernel TX stamp, signing included), which is subtracted: the figure is the error of the
  // landmark plus the emulator against the configured 2 x 10 ms.
  auto key = *crypto::SigningKey::Generate();
  Echo echo(&key, 0);
  std::string agent_at = wire::FormatEndpoint(echo.endpoint());
  int pipefd[2];
  if (pipe(pipefd) != 0) return;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipefd[0]);
  std::string link = "127.0.0.1:0=" + agent_at + ",delay_ms=10";
  std::vector<std::string> args = {netem_bin, "netem", "--link", link};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, netem_bin.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  if (rc != 0) return;
  FILE* out = fdopen(pipefd[0], "r");
  std::string listen;
  char line[4096];
  bool ready = false;
  while (!ready && std::fgets(line, sizeof(line), out)) {
    std::string l(line);
    size_t p = l.find("\"listen\":\"");
    if (p != std::string::npos) listen = l.substr(p + 10, l.find('"', p + 10) - p - 10);
    if (l.find("\"ready\"") != std::string::npos) ready = true;
  }
  if (!ready || listen.empty()) {
    std::fprintf(stderr, "netem not available (%s): skipping the netem timing figure\n", netem_bin.c_str());
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return;
  }
  landmark::ProbeTarget target;
  target.device_id.fill(0xd1);
  target.endpoint = *wire::ResolveEndpoint(listen);
  target.public_keys = {key.public_key()};
  landmark::Prober::Options options;
  options.landmark_id.fill(0x1a);
  options.listen = "127.0.0.1:0";
  auto prober = *landmark::Prober::Create(options, {target});
  std::map<uint64_t, int64_t> rtts;
  int probes = std::max(100, Probes() / 4);
  for (int i = 0; i < probes; ++i) {
    (void)prober->Probe(0);
    int64_t until = MonotonicNs() + 25'000'000;
    while (MonotonicNs() < until) {
      prober->Poll(std::chrono::nanoseconds(until - MonotonicNs()),
                   [&](const landmark::ProbeResult& r) { rtts[r.sequence] = r.rtt_ns; });
    }
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  fclose(out);
  usleep(50'000);
  auto holds = echo.holds();
  std::vector<double> errors_us;
  for (auto [seq, rtt] : rtts) {
    auto it = holds.find(seq);
    if (it != holds.end()) errors_us.push_back(static_cast<double>(rtt - it->second - 20'000'000) / 1e3);
  }
  double median = Percentile(errors_us, 0.5), p99 = Percentile(errors_us, 0.99);
  std::fprintf(stderr, "vs netem 10 ms each way: %zu samples: median %.1f us, p99 %.1f us, min %.1f us\n",
               errors_us.size(), median, p99, Percentile(errors_us, 0.0));
  bench::ReportFigure("landmark_timing_error_vs_netem_median_us", median, "us", false);
  bench::ReportFigure("landmark_timing_error_vs_netem_p99_us", p99, "us", false);
}

void Throughput() {
  wire::Id device;
  auto keys = ResponderKeys(&device);
  auto local = wire::ResolveEndpoint("127.0.0.1:0");
  int fd = *wire::BindUdpSocket(*local);
  agent::Responder::Options ro;
  ro.rate_per_source_per_second = 1e9;
  ro.burst_per_source = 1e9;
  agent::Responder responder(fd, keys.get(), ro);
  (void)responder.Start();
  landmark::ProbeTarget target;
  target.device_id = device;
  target.endpoint = *wire::LocalEndpoint(fd);
  target.public_keys = {keys->PublicKeys()[0].public_key};
  landmark::Prober::Options options;
  options.landmark_id.fill(0x1a);
  options.listen = "127.0.0.1:0";
  auto prober = *landmark::Prober::Create(options, {target});
  constexpr size_t kInFlight = 64;
  double cpu0 = ThreadCpuSeconds();
  int64_t t0 = MonotonicNs();
  int64_t end = t0 + 2'000'000'000;
  while (MonotonicNs() < end) {
    while (prober->outstanding() < kInFlight) (void)prober->Probe(0);
    prober->Poll(std::chrono::milliseconds(1), nullptr);
  }
  double cpu = ThreadCpuSeconds() - cpu0;
  double wall = static_cast<double>(MonotonicNs() - t0) / 1e9;
  uint64_t accepted = prober->stats().accepted;
  responder.Stop();
  close(fd);
  std::fprintf(stderr, "throughput: %llu accepted in %.2f s wall, %.2f s prober CPU (timeouts %llu)\n",
               static_cast<unsigned long long>(accepted), wall, cpu,
               static_cast<unsigned long long>(prober->stats().timeouts));
  bench::ReportFigure("landmark_probes_per_core_second", accepted / cpu, "probes/s", true);
  bench::ReportFigure("landmark_probes_per_second_wall", accepted / wall, "probes/s", true);
}

void BM_VerifyReply(benchmark::State& state) {
  auto key = *crypto::SigningKey::Generate();
  wire::Challenge c;
  c.sequence = 1;
  wire::Reply r;
  wire::SignReply(c, key, &r);
  for (auto _ : state) benchmark::DoNotOptimize(wire::VerifyReply(r, key.public_key()));
}
BENCHMARK(BM_VerifyReply);

}  // namespace
}  // namespace lightcone

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  lightcone::TimingVsEcho(lightcone::landmark::Prober::TxTimestamp::kKernel,
                          "landmark_timing_error");
  lightcone::TimingVsEcho(lightcone::landmark::Prober::TxTimestamp::kUserspace,
                          "landmark_timing_error_user_tx");
  lightcone::TimingVsNetem();
  lightcone::Throughput();
  return 0;
}
