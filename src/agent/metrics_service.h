// MetricsService: the agent's GPU side in one object — NVML source, telemetry/XID monitor,
// metrics registry and the /metrics HTTP server — so that main only configures and starts it.
//
// A host without NVML (no driver, or the library fails to initialise) still gets a running
// service: /metrics then carries the agent's own metrics and lightcone_agent_nvml_available 0,
// and inventory() has only host facts. The challenge responder never depends on it.
//
//   auto service = MetricsService::Start(options);
//   service->registry().AddCollector(...);   // e.g. the responder's counters
//   ...
//   service->Stop();
//
// Thread-safe after Start.
#ifndef LIGHTCONE_AGENT_METRICS_SERVICE_H_
#define LIGHTCONE_AGENT_METRICS_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/gpu/gpu_monitor.h"
#include "agent/gpu/nvml/nvml_gpu_source.h"
#include "agent/http_server.h"
#include "agent/metrics.h"

namespace lightcone::agent {

class MetricsService {
 public:
  struct Options {
    NvmlGpuSource::Options nvml;
    GpuMonitor::Options monitor;
    // Serve /metrics here; empty disables the HTTP server (metrics still render).
    std::string metrics_listen = "127.0.0.1:9402";
    HttpServer::Options http;  // listen_address is taken from metrics_listen
  };

  // Opens NVML (failure is logged, not fatal), reads the inventory, starts the monitor and
  // the HTTP server. An address that cannot be bound (in use) is logged and /metrics is not
  // served (metrics_port() == 0); a malformed address fails with kInvalidArgument.
  static absl::StatusOr<std::unique_ptr<MetricsService>> Start(Options options);
  ~MetricsService();  // Stops.

  void Stop();

  bool nvml_available() const { return source_ != nullptr; }
  const Inventory& inventory() const { return inventory_; }
  // Null when NVML is unavailable.
  GpuSource* source() { return source_.get(); }
  GpuMonitor* monitor() { return monitor_.get(); }
  MetricsRegistry& registry() { return registry_; }
  // Port /metrics listens on (0 when disabled).
  uint16_t metrics_port() const { return server_ ? server_->port() : 0; }
  // "host:port" /metrics listens on, with the port actually bound ("" when disabled).
  std::string metrics_address() const;

 private:
  MetricsService() = default;

  std::unique_ptr<NvmlGpuSource> source_;
  Inventory inventory_;
  std::unique_ptr<GpuMonitor> monitor_;
  MetricsRegistry registry_;
  std::unique_ptr<HttpServer> server_;
  std::string metrics_host_;  // host part of Options::metrics_listen
};

// `lightcone-agent inventory --json`: opens NVML, reads the inventory once and returns it as
// JSON text (indented) with "inventory_hash" added. Errors as NvmlGpuSource::Create and
// ReadInventory.
absl::StatusOr<std::string> InventoryJsonOnce(const NvmlGpuSource::Options& options);

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_METRICS_SERVICE_H_
