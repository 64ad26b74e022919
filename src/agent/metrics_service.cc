#include "agent/metrics_service.h"

#include <utility>

#include "absl/strings/str_cat.h"

#include "agent/gpu/inventory.h"
#include "core/logging.h"

namespace lightcone::agent {

absl::StatusOr<std::unique_ptr<MetricsService>> MetricsService::Start(Options options) {
  std::unique_ptr<MetricsService> service(new MetricsService());
  auto log = Logger("agent");
  auto source = NvmlGpuSource::Create(options.nvml);
  if (source.ok()) {
    service->source_ = *std::move(source);
    auto inventory = service->source_->ReadInventory();
    if (inventory.ok()) {
      service->inventory_ = *std::move(inventory);
      log->info("inventory: {} GPU(s), {}", service->inventory_.gpus.size(),
                InventoryHash(service->inventory_));
    } else {
      log->warn("GPU inventory unavailable, serving health metrics only: {}",
                inventory.status().ToString());
      service->source_.reset();
    }
  } else {
    log->warn("NVML unavailable, serving agent metrics only: {}", source.status().ToString());
  }
  if (!service->source_) service->inventory_.host = ReadHostFacts(options.nvml.machine_id_path);

  if (service->source_) {
    service->monitor_ = std::make_unique<GpuMonitor>(service->source_.get(),
                                                     service->inventory_, options.monitor);
    service->registry_.AddCollector(GpuMetricsCollector(service->monitor_.get()));
  }
  const bool available = service->source_ != nullptr;
  service->registry_.AddCollector([available](MetricsWriter& w) {
    w.Family("lightcone_agent_nvml_available", "gauge",
             "1 when the agent could load and initialise NVML.");
    w.Sample("lightcone_agent_nvml_available", {}, available ? 1 : 0);
  });

  if (!options.metrics_listen.empty()) {
    options.http.listen_address = options.metrics_listen;
    MetricsRegistry* registry = &service->registry_;
    auto server = HttpServer::Start(options.http, [registry](const HttpRequest& req) {
      if (req.path == "/metrics") {
        return HttpResponse{.content_type = std::string(kMetricsContentType),
                            .body = registry->Render()};
      }
      if (req.path == "/") {
        return HttpResponse{.body = "lightcone-agent: see /metrics\n"};
      }
      return HttpResponse{.status = 404, .body = "not found\n"};
    });
    if (server.ok()) {
      service->server_ = *std::move(server);
      service->metrics_host_ =
          options.metrics_listen.substr(0, options.metrics_listen.rfind(':'));
      log->info("serving /metrics on port {}", service->server_->port());
    } else if (server.status().code() == absl::StatusCode::kUnavailable) {
      // Port taken or not bindable: the agent's real job (answering challenges) goes on.
      log->error("not serving /metrics: {}", server.status().ToString());
    } else {
      return server.status();
    }
  }
  if (service->monitor_) service->monitor_->Start();
  return service;
}

MetricsService::~MetricsService() { Stop(); }

std::string MetricsService::metrics_address() const {
  if (!server_) return "";
  return absl::StrCat(metrics_host_, ":", server_->port());
}

void MetricsService::Stop() {
  if (server_) server_->Stop();
  if (monitor_) monitor_->Stop();
}

absl::StatusOr<std::string> InventoryJsonOnce(const NvmlGpuSource::Options& options) {
  NvmlGpuSource::Options o = options;
  o.watch_xid_events = false;
  auto source = NvmlGpuSource::Create(o);
  if (!source.ok()) return source.status();
  auto inventory = (*source)->ReadInventory();
  if (!inventory.ok()) return inventory.status();
  nlohmann::json j = InventoryToJson(*inventory);
  j["inventory_hash"] = InventoryHash(*inventory);
  return j.dump(2);
}

}  // namespace lightcone::agent
