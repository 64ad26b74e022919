#include "agent/metrics.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lightcone::agent {
namespace {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.17g", v);
}

// NVML clocks event reason bits (nvmlClocksEventReason*), named as DCGM does.
constexpr std::pair<uint64_t, const char*> kClockEventReasons[] = {
    {0x1, "gpu_idle"},
    {0x2, "applications_clocks_setting"},
    {0x4, "sw_power_cap"},
    {0x8, "hw_slowdown"},
    {0x10, "sync_boost"},
    {0x20, "sw_thermal_slowdown"},
    {0x40, "hw_thermal_slowdown"},
    {0x80, "hw_power_brake_slowdown"},
    {0x100, "display_clock_setting"},
};

}  // namespace

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

void MetricsWriter::Family(absl::string_view name, absl::string_view type,
                           absl::string_view help) {
  absl::StrAppend(&out_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void MetricsWriter::Sample(absl::string_view name, const MetricLabels& labels, double value) {
  absl::StrAppend(&out_, name);
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      absl::StrAppend(&out_, labels[i].first, "=\"", EscapeLabelValue(labels[i].second), "\"");
    }
    out_ += '}';
  }
  absl::StrAppend(&out_, " ", FormatValue(value), "\n");
}

void MetricsRegistry::AddCollector(MetricsCollector collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() const {
  std::vector<MetricsCollector> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectors = collectors_;
  }
  MetricsWriter w;
  for (const MetricsCollector& c : collectors) c(w);
  return w.Take();
}

MetricsCollector GpuMetricsCollector(const GpuMonitor* monitor) {
  return [monitor](MetricsWriter& w) {
    const Inventory& inv = monitor->inventory();
    const MonitorSnapshot snap = monitor->Snapshot();
    std::vector<MetricLabels> base(inv.gpus.size());
    for (size_t i = 0; i < inv.gpus.size(); ++i) {
      const GpuInventory& g = inv.gpus[i];
      base[i] = {{"gpu", absl::StrCat(g.index)},
                 {"UUID", g.uuid},
                 {"pci_bus_id", g.pci_bus_id},
                 {"modelName", g.name},
                 {"Hostname", inv.host.hostname}};
    }
    auto with = [](MetricLabels labels, const char* key, std::string value) {
      labels.emplace_back(key, std::move(value));
      return labels;
    };

    w.Family("lightcone_gpu_info", "gauge",
             "GPU identity; always 1 (serial, architecture, VBIOS and driver as labels).");
    for (size_t i = 0; i < inv.gpus.size(); ++i) {
      const GpuInventory& g = inv.gpus[i];
      MetricLabels l = base[i];
      l.emplace_back("serial", g.serial);
      l.emplace_back("architecture", g.architecture);
      l.emplace_back("vbios_version", g.vbios_version);
      l.emplace_back("driver_version", inv.host.driver_version);
      w.Sample("lightcone_gpu_info", l, 1);
    }
    w.Family("lightcone_gpu_lost", "gauge", "1 when NVML reports the GPU lost (fell off the bus).");
    for (size_t i = 0; i < snap.gpus.size(); ++i) {
      w.Sample("lightcone_gpu_lost", base[i], snap.gpus[i].lost ? 1 : 0);
    }
    w.Family("lightcone_gpu_telemetry_stale", "gauge",
             "1 when the latest telemetry read of the GPU did not complete (NVML hung or busy).");
    for (size_t i = 0; i < snap.gpus.size(); ++i) {
      w.Sample("lightcone_gpu_telemetry_stale", base[i], snap.gpus[i].stale ? 1 : 0);
    }
    w.Family("lightcone_gpu_telemetry_last_success_timestamp_seconds", "gauge",
             "Unix time of the last complete telemetry read of the GPU.");
    for (size_t i = 0; i < snap.gpus.size(); ++i) {
      if (!snap.gpus[i].has_data) continue;
      w.Sample("lightcone_gpu_telemetry_last_success_timestamp_seconds", base[i],
               absl::ToDoubleSeconds(snap.gpus[i].last_success - absl::UnixEpoch()));
    }

    // One gauge or counter family per optional telemetry field.
    auto family = [&](const char* name, const char* type, const char* help, auto get) {
      bool any = false;
      for (size_t i = 0; i < snap.gpus.size(); ++i) {
        if (!snap.gpus[i].has_data) continue;
        std::optional<double> v = get(snap.gpus[i].latest);
        if (!v.has_value()) continue;
        if (!any) w.Family(name, type, help);
        any = true;
        w.Sample(name, base[i], *v);
      }
    };
    auto opt = [](const auto& o) -> std::optional<double> {
      if (!o.has_value()) return std::nullopt;
      return static_cast<double>(*o);
    };
    family("lightcone_gpu_power_watts", "gauge", "Power draw.",
           [&](const GpuTelemetry& t) { return opt(t.power_watts); });
    family("lightcone_gpu_energy_joules_total", "counter",
           "Energy consumed since the driver was loaded.",
           [&](const GpuTelemetry& t) { return opt(t.energy_joules); });
    {
      bool any = false;
      for (size_t i = 0; i < snap.gpus.size(); ++i) {
        const GpuTelemetry& t = snap.gpus[i].latest;
        if (!snap.gpus[i].has_data) continue;
        for (auto [sensor, v] : {std::pair{"gpu", t.gpu_temperature_celsius},
                                 std::pair{"memory", t.memory_temperature_celsius}}) {
          if (!v.has_value()) continue;
          if (!any) w.Family("lightcone_gpu_temperature_celsius", "gauge", "Temperature by sensor.");
          any = true;
          w.Sample("lightcone_gpu_temperature_celsius", with(base[i], "sensor", sensor), *v);
        }
      }
      any = false;
      for (size_t i = 0; i < snap.gpus.size(); ++i) {
        const GpuTelemetry& t = snap.gpus[i].latest;
        if (!snap.gpus[i].has_data) continue;
        for (auto [clock, v] : {std::pair{"graphics", t.graphics_clock_hertz},
                                std::pair{"sm", t.sm_clock_hertz},
                                std::pair{"memory", t.memory_clock_hertz},
                                std::pair{"video", t.video_clock_hertz}}) {
          if (!v.has_value()) continue;
          if (!any) w.Family("lightcone_gpu_clock_hertz", "gauge", "Current clock by domain.");
          any = true;
          w.Sample("lightcone_gpu_clock_hertz", with(base[i], "clock", clock), *v);
        }
      }
      any = false;
      for (size_t i = 0; i < snap.gpus.size(); ++i) {
        const GpuTelemetry& t = snap.gpus[i].latest;
        if (!snap.gpus[i].has_data || !t.clock_event_reasons.has_value()) continue;
        if (!any) {
          w.Family("lightcone_gpu_clock_event_reason_active", "gauge",
                   "1 while the reason holds clocks down (NVML clocks event reasons).");
        }
        any = true;
        for (auto [bit, reason] : kClockEventReasons) {
          w.Sample("lightcone_gpu_clock_event_reason_active", with(base[i], "reason", reason),
                   (*t.clock_event_reasons & bit) ? 1 : 0);
        }
      }
      any = false;
      for (size_t i = 0; i < snap.gpus.size(); ++i) {
        const GpuTelemetry& t = snap.gpus[i].latest;
        if (!snap.gpus[i].has_data) continue;
        for (auto [res, v] : {std::pair{"gpu", t.gpu_utilization_ratio},
                              std::pair{"memory", t.memory_utilization_ratio}}) {
          if (!v.has_value()) continue;
          if (!any) {
            w.Family("lightcone_gpu_utilization_ratio", "gauge",
                     "Fraction of the last sample period the resource was busy.");
          }
          any = true;
          w.Sample("lightcone_gpu_utilization_ratio", with(base[i], "resource", res), *v);
        }
      }
    }
    family("lightcone_gpu_memory_total_bytes", "gauge", "Frame buffer size.",
           [&](const GpuTelemetry& t) { return opt(t.memory_total_bytes); });
    family("lightcone_gpu_memory_used_bytes", "gauge", "Frame buffer in use.",
           [&](const GpuTelemetry& t) { return opt(t.memory_used_bytes); });
    family("lightcone_gpu_memory_free_bytes", "gauge", "Frame buffer free.",
           [&](const GpuTelemetry& t) { return opt(t.memory_free_bytes); });
    {
      bool any = false;
      for (size_t i = 0; i < snap.gpus.size(); ++i) {
        const GpuTelemetry& t = snap.gpus[i].latest;
        if (!snap.gpus[i].has_data) continue;
        for (auto [type, v] : {std::pair{"corrected", t.ecc_corrected_total},
                               std::pair{"uncorrected", t.ecc_uncorrected_total}}) {
          if (!v.has_value()) continue;
          if (!any) {
            w.Family("lightcone_gpu_ecc_errors_total", "counter",
                     "ECC errors over the GPU's lifetime (aggregate counters).");
          }
          any = true;
          w.Sample("lightcone_gpu_ecc_errors_total", with(base[i], "type", type),
                   static_cast<double>(*v));
        }
      }
      any = false;
      for (size_t i = 0; i < snap.gpus.size(); ++i) {
        const GpuTelemetry& t = snap.gpus[i].latest;
        if (!snap.gpus[i].has_data) continue;
        for (auto [cause, v] : {std::pair{"correctable", t.remapped_rows_correctable},
                                std::pair{"uncorrectable", t.remapped_rows_uncorrectable}}) {
          if (!v.has_value()) continue;
          if (!any) {
            w.Family("lightcone_gpu_remapped_rows_total", "counter",
                     "Memory rows remapped, by the kind of error that caused it.");
          }
          any = true;
          w.Sample("lightcone_gpu_remapped_rows_total", with(base[i], "cause", cause), *v);
        }
      }
    }
    family("lightcone_gpu_row_remap_pending", "gauge", "1 when a row remap awaits a GPU reset.",
           [&](const GpuTelemetry& t) { return opt(t.remap_pending); });
    family("lightcone_gpu_row_remap_failure", "gauge", "1 when a row remap has failed.",
           [&](const GpuTelemetry& t) { return opt(t.remap_failure); });
    family("lightcone_gpu_nvlink_active_links", "gauge", "NVLinks currently up.",
           [&](const GpuTelemetry& t) { return opt(t.nvlink_active_links); });
    {
      bool any = false;
      for (size_t i = 0; i < snap.gpus.size(); ++i) {
        const GpuTelemetry& t = snap.gpus[i].latest;
        if (!snap.gpus[i].has_data) continue;
        for (const auto& [counter, v] : t.nvlink_errors_total) {
          if (!any) {
            w.Family("lightcone_gpu_nvlink_errors_total", "counter",
                     "NVLink data-link errors summed over the GPU's links, by counter.");
          }
          any = true;
          w.Sample("lightcone_gpu_nvlink_errors_total", with(base[i], "counter", counter),
                   static_cast<double>(v));
        }
      }
      any = false;
      for (size_t i = 0; i < snap.gpus.size(); ++i) {
        for (const auto& [xid, n] : snap.gpus[i].xid_counts) {
          if (!any) {
            w.Family("lightcone_gpu_xid_errors_total", "counter",
                     "XID errors reported by the driver since the agent started, by XID code.");
          }
          any = true;
          w.Sample("lightcone_gpu_xid_errors_total", with(base[i], "xid", absl::StrCat(xid)),
                   static_cast<double>(n));
        }
      }
    }

    // The agent's own view of NVML.
    const SourceStats& s = snap.source;
    w.Family("lightcone_agent_nvml_call_duration_seconds", "histogram",
             "Duration of completed NVML call batches.");
    for (size_t b = 0; b < kLatencyBucketsSeconds.size() && b < s.latency_buckets.size(); ++b) {
      w.Sample("lightcone_agent_nvml_call_duration_seconds_bucket",
               {{"le", FormatValue(kLatencyBucketsSeconds[b])}},
               static_cast<double>(s.latency_buckets[b]));
    }
    w.Sample("lightcone_agent_nvml_call_duration_seconds_bucket", {{"le", "+Inf"}},
             static_cast<double>(s.latency_count));
    w.Sample("lightcone_agent_nvml_call_duration_seconds_sum", {}, s.latency_seconds_sum);
    w.Sample("lightcone_agent_nvml_call_duration_seconds_count", {},
             static_cast<double>(s.latency_count));
    w.Family("lightcone_agent_nvml_calls_total", "counter", "NVML call batches started.");
    w.Sample("lightcone_agent_nvml_calls_total", {}, static_cast<double>(s.calls));
    w.Family("lightcone_agent_nvml_call_timeouts_total", "counter",
             "NVML call batches that exceeded their deadline.");
    w.Sample("lightcone_agent_nvml_call_timeouts_total", {}, static_cast<double>(s.timeouts));
    w.Family("lightcone_agent_nvml_calls_rejected_total", "counter",
             "NVML call batches not started because an earlier call was hung.");
    w.Sample("lightcone_agent_nvml_calls_rejected_total", {}, static_cast<double>(s.rejected));
    w.Family("lightcone_agent_nvml_hung", "gauge", "1 while an NVML call is past its deadline.");
    w.Sample("lightcone_agent_nvml_hung", {}, s.hung ? 1 : 0);
    w.Family("lightcone_agent_telemetry_rounds_total", "counter", "Telemetry rounds run.");
    w.Sample("lightcone_agent_telemetry_rounds_total", {},
             static_cast<double>(snap.telemetry_rounds));
    w.Family("lightcone_agent_xid_events_available", "gauge",
             "1 when the agent receives XID events from NVML.");
    w.Sample("lightcone_agent_xid_events_available", {}, snap.events_available ? 1 : 0);
  };
}

}  // namespace lightcone::agent
