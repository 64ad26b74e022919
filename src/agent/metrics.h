// Prometheus metrics of the agent in the text exposition format (version 0.0.4).
//
// A MetricsRegistry holds collectors; each collector writes whole metric families into a
// MetricsWriter when /metrics is scraped. GpuMetricsCollector exposes a GpuMonitor's view
// of the GPUs; other parts of the agent (the challenge responder) add their own collectors.
//
// Naming follows Prometheus conventions: base SI units in the name (_watts, _joules,
// _celsius, _hertz, _bytes, _ratio, _seconds), counters end in _total. Every GPU series
// carries the labels GPU dashboards already use: gpu, UUID, pci_bus_id, modelName, Hostname.
#ifndef LIGHTCONE_AGENT_METRICS_H_
#define LIGHTCONE_AGENT_METRICS_H_

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/gpu/gpu_monitor.h"

namespace lightcone::agent {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Builds one exposition. Not thread-safe; one writer per scrape.
class MetricsWriter {
 public:
  // Starts a family: writes its # HELP and # TYPE lines. `type` is "gauge", "counter" or
  // "histogram". Samples that follow belong to it.
  void Family(absl::string_view name, absl::string_view type, absl::string_view help);

  // One sample line `name{labels} value`. `name` is the family name, or for histograms the
  // family name plus _bucket/_sum/_count.
  void Sample(absl::string_view name, const MetricLabels& labels, double value);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabelValue(absl::string_view value);

using MetricsCollector = std::function<void(MetricsWriter&)>;

// Thread-safe.
class MetricsRegistry {
 public:
  void AddCollector(MetricsCollector collector);
  // Runs every collector, in the order added, and returns the exposition.
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::vector<MetricsCollector> collectors_;
};

// Exposes the GPUs of `monitor`: identity (lightcone_gpu_info), telemetry, XID counters,
// lost/stale flags, and the health of the NVML source (call latency, timeouts).
// REQUIRES: `monitor` outlives the collector.
MetricsCollector GpuMetricsCollector(const GpuMonitor* monitor);

// Content type of the exposition, for the HTTP response.
inline constexpr absl::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_METRICS_H_
