// `lightcone netem`: the user-space UDP delay emulator (see docs/netem.md).
//
//   lightcone netem --link 127.0.0.1:0=127.0.0.1:9000,delay_ms=10[,return_delay_ms=R]
//                   [,jitter_ms=J][,jitter=uniform|normal][,loss=P][,name=N] [--link ...]
//                   [--config netem.toml] [--duration SECONDS] [--spin-us US]
//                   [--realtime-priority N]
//
// Prints one JSON line per link once it relays ({"link":NAME,"index":I,"listen":"ADDR:PORT",
// ...}, with the real port when port 0 was asked for), then {"ready":true,...}; runs until
// SIGINT/SIGTERM or --duration, then prints one counters line per link and exits 0.
// Bad flags or config exit 2.
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/commands.h"
#include "core/logging.h"
#include "netem/clock.h"
#include "netem/link_spec.h"
#include "netem/netem_config.h"
#include "netem/relay.h"
#include "nlohmann/json.hpp"

namespace lightcone::cli {
namespace {

struct NetemFlags {
  std::vector<std::string> links;
  std::string config;
  double duration_s = 0;
  double spin_us = -1;
  long long max_queued_datagrams = 0;
  long long max_mappings_per_link = 0;
  unsigned long long seed = 0;
  int realtime_priority = -1;
};

void PrintJsonLine(const nlohmann::json& line) {
  std::fputs(line.dump().c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// Each link needs one descriptor plus one per client; lift the soft limit to the hard one.
void RaiseDescriptorLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int RunNetem(const NetemFlags& flags) {
  auto log = Logger("netem");
  netem::NetemConfig config;
  if (!flags.config.empty()) {
    auto loaded = netem::LoadNetemConfig(flags.config);
    if (!loaded.ok()) {
      std::fprintf(stderr, "lightcone netem: %s\n", std::string(loaded.status().message()).c_str());
      return 2;
    }
    config = *std::move(loaded);
  }
  for (const std::string& text : flags.links) {
    auto spec = netem::ParseLinkFlag(text);
    if (!spec.ok()) {
      std::fprintf(stderr, "lightcone netem: %s\n", std::string(spec.status().message()).c_str());
      return 2;
    }
    config.links.push_back(*std::move(spec));
  }
  if (config.links.empty()) {
    std::fprintf(stderr, "lightcone netem: no links; give --link or --config (see --help)\n");
    return 2;
  }
  if (flags.spin_us >= 0) {
    if (flags.spin_us * 1e3 > static_cast<double>(netem::kMaxSpinWindow.count())) {
      std::fprintf(stderr, "lightcone netem: --spin-us %g is above %lld\n", flags.spin_us,
                   static_cast<long long>(netem::kMaxSpinWindow.count() / 1000));
      return 2;
    }
    config.relay.spin_window = std::chrono::nanoseconds(static_cast<int64_t>(flags.spin_us * 1e3));
  }
  if (flags.max_queued_datagrams > 0) {
    config.relay.max_queued_datagrams = static_cast<size_t>(flags.max_queued_datagrams);
  }
  if (flags.max_mappings_per_link > 0) {
    config.relay.max_mappings_per_link = static_cast<size_t>(flags.max_mappings_per_link);
  }
  if (flags.seed != 0) config.relay.seed = flags.seed;
  if (flags.realtime_priority > 99) {
    std::fprintf(stderr, "lightcone netem: --realtime-priority must be 0..99\n");
    return 2;
  }
  if (flags.realtime_priority >= 0) config.relay.realtime_priority = flags.realtime_priority;
  if (flags.duration_s < 0) {
    std::fprintf(stderr, "lightcone netem: --duration must be >= 0\n");
    return 2;
  }

  RaiseDescriptorLimit();
  // Block the stop signals before any thread starts so that only sigtimedwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);

  netem::Relay relay(config.relay);
  for (const netem::LinkSpec& spec : config.links) {
    auto bound = relay.AddLink(spec);
    if (!bound.ok()) {
      std::fprintf(stderr, "lightcone netem: %s\n", std::string(bound.status().message()).c_str());
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      return bound.status().code() == absl::StatusCode::kUnavailable ? 1 : 2;
    }
  }
  if (absl::Status started = relay.Start(); !started.ok()) {
    std::fprintf(stderr, "lightcone netem: %s\n", std::string(started.message()).c_str());
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return 1;
  }
  for (size_t i = 0; i < relay.link_count(); ++i) {
    const netem::LinkSpec& spec = relay.link_spec(i);
    PrintJsonLine({{"link", spec.name},
                   {"index", i},
                   {"listen", relay.listen_address(i).ToString()},
                   {"forward", relay.forward_address(i).ToString()},
                   {"delay_ms", static_cast<double>(spec.delay.count()) / 1e6},
                   {"return_delay_ms",
                    static_cast<double>(spec.effective_return_delay().count()) / 1e6},
                   {"jitter_ms", static_cast<double>(spec.jitter.count()) / 1e6},
                   {"jitter", netem::JitterDistributionName(spec.jitter_distribution)},
                   {"loss", spec.loss}});
  }
  PrintJsonLine({{"ready", true},
                 {"links", relay.link_count()},
                 {"realtime", relay.realtime_active()},
                 {"spin_us", static_cast<double>(config.relay.spin_window.count()) / 1e3}});

  const int64_t start_ns = netem::MonotonicNowNs();
  int signal_number = 0;
  if (flags.duration_s > 0) {
    const int64_t total_ns = static_cast<int64_t>(flags.duration_s * 1e9);
    while (true) {
      const int64_t left_ns = total_ns - (netem::MonotonicNowNs() - start_ns);
      if (left_ns <= 0) break;
      timespec timeout{static_cast<time_t>(left_ns / 1'000'000'000),
                       static_cast<long>(left_ns % 1'000'000'000)};
      int s = sigtimedwait(&stop_signals, nullptr, &timeout);
      if (s > 0) {
        signal_number = s;
        break;
      }
    }
  } else {
    while (sigwait(&stop_signals, &signal_number) != 0) {
    }
  }
  const double wall_s = static_cast<double>(netem::MonotonicNowNs() - start_ns) / 1e9;
  relay.Stop();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (signal_number != 0) log->info("stopping on signal {}", signal_number);

  const netem::LatenessStats lateness = relay.Lateness();
  for (size_t i = 0; i < relay.link_count(); ++i) {
    const netem::LinkCounters c = relay.counters(i);
    PrintJsonLine({{"link", relay.link_spec(i).name},
                   {"index", i},
                   {"stopped", true},
                   {"received", c.received},
                   {"forwarded", c.forwarded},
                   {"replies_received", c.replies_received},
                   {"returned", c.returned},
                   {"dropped_loss", c.dropped_loss},
                   {"dropped_queue_full", c.dropped_queue_full},
                   {"dropped_oversize", c.dropped_oversize},
                   {"dropped_mapping_limit", c.dropped_mapping_limit},
                   {"send_errors", c.send_errors},
                   {"queued_past_due", c.queued_past_due},
                   {"mappings_created", c.mappings_created},
                   {"mappings_expired", c.mappings_expired}});
  }
  PrintJsonLine({{"summary", true},
                 {"wall_s", wall_s},
                 {"sent", lateness.count},
                 {"lateness_p50_us", lateness.p50_us},
                 {"lateness_p99_us", lateness.p99_us},
                 {"lateness_max_us", lateness.max_us},
                 {"timing_thread_cpu_s", static_cast<double>(relay.timing_thread_cpu_ns()) / 1e9},
                 {"receive_thread_cpu_s",
                  static_cast<double>(relay.receive_thread_cpu_ns()) / 1e9}});
  return 0;
}

}  // namespace

void AddNetemCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<NetemFlags>();
  auto* sub = app.add_subcommand(
      "netem",
      "User-space UDP delay emulator: relay datagrams between ports with a one-way delay, "
      "jitter and loss (see docs/netem.md)");
  sub->add_option("--link", flags->links,
                  "LISTEN_HOST:PORT=FORWARD_HOST:PORT,delay_ms=D[,return_delay_ms=R]"
                  "[,jitter_ms=J][,jitter=uniform|normal][,loss=P][,name=N]; repeatable; "
                  "port 0 picks a free port (printed)");
  sub->add_option("--config", flags->config, "TOML file with [[link]] tables and [relay]");
  sub->add_option("--duration", flags->duration_s,
                  "stop after SECONDS (default: run until SIGINT/SIGTERM)");
  sub->add_option("--spin-us", flags->spin_us,
                  "busy-wait window before each due time in microseconds (default 80)");
  sub->add_option("--max-queued-datagrams", flags->max_queued_datagrams,
                  "datagrams waiting across all links before new ones are dropped");
  sub->add_option("--max-mappings-per-link", flags->max_mappings_per_link,
                  "distinct clients per link before new ones are dropped");
  sub->add_option("--seed", flags->seed, "seed of the jitter/loss generator (0: random)");
  sub->add_option("--realtime-priority", flags->realtime_priority,
                  "run the relay threads at SCHED_FIFO with this priority (1..99; 0: off); "
                  "needs CAP_SYS_NICE, falls back to normal scheduling with a warning");
  sub->callback([flags, exit_code] { *exit_code = RunNetem(*flags); });
}

}  // namespace lightcone::cli
