// Delay emulator benchmark: how far from its due time the relay delivers each datagram.
//
// A sender paces datagrams at a fixed rate into one relay link (fixed delay, no jitter)
// whose forward address is a receiver socket with SO_TIMESTAMPNS. The sender takes the
// kernel's software transmit timestamp of each datagram (SO_TIMESTAMPING, TX_SOFTWARE: on
// loopback it is stamped in loopback_xmit, within a microsecond of the relay socket's own
// receive stamp, which is what the relay's due time counts from). The receiver's kernel
// receive timestamp minus the sender's transmit timestamp minus the configured delay is the
// scheduling error as the wire sees it; it still includes the relay's sendto and one
// loopback traversal (the "loopback baseline", measured the same way without the relay, is
// that part). The relay's own view (send call start - due time) is printed too.
//
// Headline figures (bench/figures.h):
//   netem_scheduling_error_p50_us, netem_scheduling_error_p99_us       1,000 datagrams/s
//   netem_scheduling_error_10kpps_p50_us, netem_scheduling_error_10kpps_p99_us
//   netem_timing_thread_cpu_percent_1kpps, netem_timing_thread_cpu_percent_10kpps
//   netem_scheduling_error_nospin_p99_us   (1,000/s with --spin-us 0, for comparison)
//   netem_loopback_baseline_p50_us
//   netem_environment_spin_gaps_over_50us_per_s (what the machine itself takes away)
// Environment: NETEM_BENCH_SECONDS (default 2) per scenario; NETEM_BENCH_RT=1 runs the
// timing thread at SCHED_FIFO; NETEM_BENCH_DELAY_MS sets the link delay (default 2); NETEM_BENCH_SPIN_US overrides the spin window (default 80).
#include <time.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/net_timestamps.h"
#include "figures.h"
#include "netem/clock.h"
#include "netem/delay_queue.h"
#include "netem/relay.h"
#include "netem/socket_address.h"

namespace lightcone::netem {
namespace {

// The link's one-way delay; NETEM_BENCH_DELAY_MS overrides it.
std::chrono::nanoseconds kDelay = std::chrono::milliseconds(2);

struct Payload {
  uint64_t sequence;
};

// Sender socket with kernel software TX timestamps, reported on the error queue.
void EnableTxTimestamps(int fd) {
  int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
              SOF_TIMESTAMPING_OPT_TSONLY;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags));
}

// The TX timestamp (CLOCK_REALTIME ns) of the datagram just sent, or 0.
int64_t ReadTxTimestamp(int fd) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::optional<net::TxTimestampReport> report = net::ReadTxTimestamp(fd);
    if (!report.has_value()) {
      if (errno == EAGAIN) continue;
      return 0;
    }
    if (report->tx_ns != 0) return report->tx_ns;
  }
  return 0;
}

int OpenSocket(bool timestamps) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int on = 1;
  if (timestamps) setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
  int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  return fd;
}

SocketAddress AddressOf(int fd) {
  SocketAddress address;
  socklen_t length = sizeof(sockaddr_storage);
  getsockname(fd, address.mutable_sockaddr_ptr(), &length);
  address.set_length(length);
  return address;
}

// Receives until `stop`, recording the kernel receive time (realtime ns) by sequence.
void ReceiveTimes(int fd, std::atomic<bool>* stop, std::vector<int64_t>* rx_ns) {
  char data[256];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  while (!stop->load()) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    iovec iov{data, sizeof(data)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < static_cast<ssize_t>(sizeof(Payload))) continue;
    Payload payload;
    std::memcpy(&payload, data, sizeof(payload));
    int64_t arrival_ns = net::ReceiveTimestampNs(msg);
    if (arrival_ns != 0 && payload.sequence < rx_ns->size()) {
      (*rx_ns)[payload.sequence] = arrival_ns;
    }
  }
}

// Sends `tx_ns->size()` datagrams at `rate` per second to `to`, paced on absolute times,
// recording each one's kernel TX timestamp (realtime ns).
void SendPaced(int fd, const SocketAddress& to, double rate, std::vector<int64_t>* tx_ns) {
  const int64_t interval_ns = static_cast<int64_t>(1e9 / rate);
  int64_t next_ns = MonotonicNowNs() + 1'000'000;
  for (uint64_t i = 0; i < tx_ns->size(); ++i) {
    timespec ts{static_cast<time_t>(next_ns / 1'000'000'000),
                static_cast<long>(next_ns % 1'000'000'000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    Payload payload{i};
    sendto(fd, &payload, sizeof(payload), 0, to.sockaddr_ptr(), to.length());
    (*tx_ns)[i] = ReadTxTimestamp(fd);
    next_ns += interval_ns;
  }
}

// (rx - tx - delay) in µs for every datagram with both timestamps.
std::vector<double> Excess(const std::vector<int64_t>& tx_ns, const std::vector<int64_t>& rx_ns,
                           int64_t delay_ns) {
  std::vector<double> excess_us;
  for (size_t i = 0; i < tx_ns.size(); ++i) {
    if (tx_ns[i] == 0 || rx_ns[i] == 0) continue;
    excess_us.push_back(static_cast<double>(rx_ns[i] - tx_ns[i] - delay_ns) / 1e3);
  }
  return excess_us;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(p * static_cast<double>(values.size() - 1));
  return values[rank];
}

struct ScenarioResult {
  double p50_us = 0, p99_us = 0, max_us = 0;
  double internal_p50_us = 0, internal_p99_us = 0;
  double timing_cpu_percent = 0, receive_cpu_percent = 0;
  uint64_t sent = 0, received = 0, queued_past_due = 0;
};

ScenarioResult RunScenario(double rate, double seconds, std::chrono::nanoseconds spin,
                           bool realtime) {
  ScenarioResult result;
  int receiver = OpenSocket(true);
  int sender = OpenSocket(false);
  EnableTxTimestamps(sender);
  RelayOptions options;
  options.spin_window = spin;
  options.realtime_priority = realtime ? 10 : 0;
  Relay relay(options);
  LinkSpec spec;
  spec.listen = "127.0.0.1:0";
  spec.forward = AddressOf(receiver).ToString();
  spec.delay = kDelay;
  auto listen = relay.AddLink(spec);
  if (!listen.ok() || !relay.Start().ok()) {
    std::fprintf(stderr, "netem_benchmark: cannot start relay: %s\n",
                 listen.status().ToString().c_str());
    std::exit(1);
  }
  std::atomic<bool> stop{false};
  const size_t total = static_cast<size_t>(rate * seconds);
  std::vector<int64_t> tx_ns(total, 0), rx_ns(total, 0);
  std::thread receive([&] { ReceiveTimes(receiver, &stop, &rx_ns); });
  const int64_t cpu_before = relay.timing_thread_cpu_ns();
  const int64_t receive_cpu_before = relay.receive_thread_cpu_ns();
  const int64_t wall_before = MonotonicNowNs();
  SendPaced(sender, *listen, rate, &tx_ns);
  result.sent = total;
  std::this_thread::sleep_for(kDelay + std::chrono::milliseconds(50));
  const int64_t wall_ns = MonotonicNowNs() - wall_before;
  result.timing_cpu_percent =
      100.0 * static_cast<double>(relay.timing_thread_cpu_ns() - cpu_before) /
      static_cast<double>(wall_ns);
  result.receive_cpu_percent =
      100.0 * static_cast<double>(relay.receive_thread_cpu_ns() - receive_cpu_before) /
      static_cast<double>(wall_ns);
  stop.store(true);
  receive.join();
  relay.Stop();
  const std::vector<double> excess_us =
      Excess(tx_ns, rx_ns, std::chrono::nanoseconds(kDelay).count());
  const LatenessStats lateness = relay.Lateness();
  result.internal_p50_us = lateness.p50_us;
  result.internal_p99_us = lateness.p99_us;
  result.queued_past_due = relay.counters(0).queued_past_due;
  result.received = excess_us.size();
  result.p50_us = Percentile(excess_us, 0.50);
  result.p99_us = Percentile(excess_us, 0.99);
  result.max_us = Percentile(excess_us, 1.0);
  close(receiver);
  close(sender);
  std::printf(
      "rate %6.0f/s spin %3lld us%s: sent %llu received %llu | wire excess p50 %.1f p99 %.1f "
      "max %.1f us | relay lateness p50 %.0f p99 %.0f us | cpu timing %.1f%% receive %.1f%% | past due on arrival %llu\n",
      rate, static_cast<long long>(spin.count() / 1000), realtime ? " (SCHED_FIFO)" : "",
      static_cast<unsigned long long>(result.sent),
      static_cast<unsigned long long>(result.received), result.p50_us, result.p99_us,
      result.max_us, result.internal_p50_us, result.internal_p99_us, result.timing_cpu_percent,
      result.receive_cpu_percent, static_cast<unsigned long long>(result.queued_past_due));
  return result;
}

// The same wire measurement without the relay: sender straight to receiver.
double LoopbackBaselineP50Us(double rate, double seconds) {
  int receiver = OpenSocket(true);
  int sender = OpenSocket(false);
  EnableTxTimestamps(sender);
  std::atomic<bool> stop{false};
  const size_t total = static_cast<size_t>(rate * seconds);
  std::vector<int64_t> tx_ns(total, 0), rx_ns(total, 0);
  std::thread receive([&] { ReceiveTimes(receiver, &stop, &rx_ns); });
  SendPaced(sender, AddressOf(receiver), rate, &tx_ns);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop.store(true);
  receive.join();
  const std::vector<double> excess_us = Excess(tx_ns, rx_ns, 0);
  close(receiver);
  close(sender);
  const double p50 = Percentile(excess_us, 0.5);
  std::printf("loopback baseline (no relay): p50 %.1f p99 %.1f us\n", p50,
              Percentile(excess_us, 0.99));
  return p50;
}

// How often this machine takes the CPU away from a spinning thread: spins for one second
// reading the clock and counts gaps above 50 µs. A gap is time no user-space scheduler can
// win back (host preemption of the VM's vCPU, interrupts, other runnable threads), so it
// is the floor under the relay's p99.
struct SpinGaps {
  double per_second_over_50us = 0;
  double max_us = 0;
};

SpinGaps MeasureSpinGaps(bool realtime) {
  SpinGaps gaps;
  std::thread probe([&] {
    if (realtime) {
      sched_param param{};
      param.sched_priority = 10;
      pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
    }
    const int64_t start = MonotonicNowNs();
    int64_t previous = start, max_gap = 0, over = 0;
    while (previous - start < 1'000'000'000) {
      const int64_t now = MonotonicNowNs();
      max_gap = std::max(max_gap, now - previous);
      over += (now - previous) > 50'000;
      previous = now;
    }
    gaps.per_second_over_50us = static_cast<double>(over);
    gaps.max_us = static_cast<double>(max_gap) / 1e3;
  });
  probe.join();
  std::printf("environment: a spinning thread lost the CPU for > 50 us %.0f times/s (max %.0f us)\n",
              gaps.per_second_over_50us, gaps.max_us);
  return gaps;
}

// Cost of queueing one datagram (the receive thread's share of the work).
void BM_DelayQueuePush(benchmark::State& state) {
  struct Item {
    size_t size_bytes() const { return 64; }
  };
  DelayQueueOptions options;
  options.max_items = 1 << 20;
  options.max_bytes = size_t{1} << 32;
  DelayQueue<Item> queue(options);
  const int64_t far = MonotonicNowNs() + 3'600'000'000'000;
  int64_t i = 0;
  for (auto _ : state) {
    if (!queue.Push(Item{}, far + (i++ % 1000))) {
      state.PauseTiming();
      queue.Stop();
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_DelayQueuePush);

}  // namespace
}  // namespace lightcone::netem

int main(int argc, char** argv) {
  using lightcone::bench::ReportFigure;
  using lightcone::netem::RunScenario;
  benchmark::Initialize(&argc, argv);
  const char* seconds_env = std::getenv("NETEM_BENCH_SECONDS");
  const double seconds = seconds_env != nullptr ? std::atof(seconds_env) : 2.0;
  const char* rt_env = std::getenv("NETEM_BENCH_RT");
  const bool realtime = rt_env != nullptr && std::string(rt_env) == "1";
  if (const char* delay_env = std::getenv("NETEM_BENCH_DELAY_MS"); delay_env != nullptr) {
    lightcone::netem::kDelay =
        std::chrono::nanoseconds(static_cast<int64_t>(std::atof(delay_env) * 1e6));
  }
  const char* spin_env = std::getenv("NETEM_BENCH_SPIN_US");
  const auto spin = spin_env != nullptr
                        ? std::chrono::nanoseconds(static_cast<int64_t>(std::atof(spin_env) * 1e3))
                        : lightcone::netem::kDefaultSpinWindow;

  const auto gaps = lightcone::netem::MeasureSpinGaps(realtime);
  const double baseline = lightcone::netem::LoopbackBaselineP50Us(1000, 1.0);
  auto r1k = RunScenario(1000, seconds, spin, realtime);
  auto r10k = RunScenario(10000, seconds, spin, realtime);
  auto nospin = RunScenario(1000, seconds, std::chrono::nanoseconds(0), realtime);

  ReportFigure("netem_loopback_baseline_p50_us", baseline, "us", false);
  ReportFigure("netem_scheduling_error_p50_us", r1k.p50_us, "us", false);
  ReportFigure("netem_scheduling_error_p99_us", r1k.p99_us, "us", false);
  ReportFigure("netem_scheduling_error_10kpps_p50_us", r10k.p50_us, "us", false);
  ReportFigure("netem_scheduling_error_10kpps_p99_us", r10k.p99_us, "us", false);
  ReportFigure("netem_scheduling_error_nospin_p99_us", nospin.p99_us, "us", false);
  ReportFigure("netem_timing_thread_cpu_percent_1kpps", r1k.timing_cpu_percent, "%", false);
  ReportFigure("netem_timing_thread_cpu_percent_10kpps", r10k.timing_cpu_percent, "%", false);
  ReportFigure("netem_environment_spin_gaps_over_50us_per_s", gaps.per_second_over_50us,
               "1/s", false);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
