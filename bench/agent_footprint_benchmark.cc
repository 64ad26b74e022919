// Footprint of the agent's GPU side: NVML source over the fake library with 8 H100s,
// telemetry every second, XID event thread, /metrics served and scraped every 5 s.
//
// Figures:
//   agent_gpu_footprint_rss_mb              VmRSS at the end of the run (target <= 30 MB)
//   agent_gpu_footprint_cpu_percent         process CPU time / wall time over the run, in
//                                           percent of one core (target <= 1%)
// and Google Benchmark timings of one telemetry round (8 GPUs) and one /metrics render.
//
// The process also holds the fake NVML library (which links OpenSSL and the attestation
// test CA) and Google Benchmark, so the figures are an upper bound for the agent's GPU side.
// Run time: LIGHTCONE_AGENT_FOOTPRINT_SECONDS (default 15).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "agent/gpu/gpu_monitor.h"
#include "agent/gpu/nvml/nvml_gpu_source.h"
#include "agent/http_server.h"
#include "agent/metrics.h"
#include "benchmark/benchmark.h"
#include "figures.h"
#include "tests/fake_nvml/scenario_builder.h"

namespace {

using namespace lightcone::agent;

constexpr int kGpus = 8;
constexpr int kDefaultSeconds = 15;
constexpr int kScrapeEverySeconds = 5;

double RssMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return -1;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec * 1e-6;
}

void Scrape(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char req[] = "GET /metrics HTTP/1.1\r\n\r\n";
    (void)!send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
    char buf[16384];
    while (recv(fd, buf, sizeof(buf), 0) > 0) {
    }
  }
  close(fd);
}

std::unique_ptr<NvmlGpuSource> OpenFake() {
  const std::string path = "/tmp/lightcone_agent_footprint_scenario.json";
  nlohmann::json scenario = lightcone::fake_nvml::MakeHgxScenario(kGpus);
  scenario["gpus"][3]["xids"] = {{{"at_s", 2.0}, {"xid", 63}}, {{"at_s", 7.0}, {"xid", 94}}};
  if (!lightcone::fake_nvml::InstallScenario(scenario, path).ok()) std::abort();
  auto source = NvmlGpuSource::Create({.library_path = lightcone::fake_nvml::kFakeNvmlPath});
  if (!source.ok()) {
    std::fprintf(stderr, "%s\n", source.status().ToString().c_str());
    std::abort();
  }
  return *std::move(source);
}

void RunFootprint() {
  int seconds = kDefaultSeconds;
  if (const char* s = std::getenv("LIGHTCONE_AGENT_FOOTPRINT_SECONDS")) seconds = std::atoi(s);
  auto source = OpenFake();
  auto inventory = source->ReadInventory();
  if (!inventory.ok()) std::abort();
  GpuMonitor monitor(source.get(), *inventory, {.telemetry_interval = absl::Seconds(1)});
  MetricsRegistry registry;
  registry.AddCollector(GpuMetricsCollector(&monitor));
  auto server = HttpServer::Start({.listen_address = "127.0.0.1:0"}, [&](const HttpRequest&) {
    return HttpResponse{.content_type = std::string(kMetricsContentType), .body = registry.Render()};
  });
  if (!server.ok()) std::abort();

  monitor.Start();
  // Let start-up allocations settle before measuring CPU.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < seconds; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (s % kScrapeEverySeconds == 0) Scrape((*server)->port());
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  const double rss = RssMb();
  const MonitorSnapshot snap = monitor.Snapshot();
  monitor.Stop();
  std::printf("footprint: %d GPUs, %.1f s, %llu telemetry rounds, rss %.1f MB, cpu %.3f%% of a core\n",
              kGpus, wall, static_cast<unsigned long long>(snap.telemetry_rounds), rss,
              100.0 * cpu / wall);
  lightcone::bench::ReportFigure("agent_gpu_footprint_rss_mb", rss, "MB", false);
  lightcone::bench::ReportFigure("agent_gpu_footprint_cpu_percent", 100.0 * cpu / wall,
                                 "% of one core", false);
}

void BM_TelemetryRound8Gpus(benchmark::State& state) {
  static auto source = OpenFake();
  for (auto _ : state) {
    auto sample = source->ReadTelemetry();
    benchmark::DoNotOptimize(sample);
  }
}
BENCHMARK(BM_TelemetryRound8Gpus)->Unit(benchmark::kMicrosecond);

void BM_RenderMetrics8Gpus(benchmark::State& state) {
  static auto source = OpenFake();
  static auto inventory = source->ReadInventory();
  static GpuMonitor monitor(source.get(), *inventory, {.watch_events = false});
  monitor.PollTelemetryOnce();
  MetricsRegistry registry;
  registry.AddCollector(GpuMetricsCollector(&monitor));
  for (auto _ : state) {
    std::string text = registry.Render();
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_RenderMetrics8Gpus)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  RunFootprint();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
