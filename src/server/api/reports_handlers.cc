// Per-licence and per-site compliance reports, as JSON or CSV.
#include <map>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/api/api_context.h"

namespace lightcone::server::api {
namespace {

// Verdict pages scanned for the last compliant verdict of one device.
constexpr int kMaxProofPages = 10;

const char* const kColumns[] = {"uuid",       "serial",       "ueid",     "model",
                                "host",       "site",         "verdict",  "verdict_time",
                                "last_proof", "assurance",    "temperature_c", "xid_count",
                                "open_alerts"};

std::string CsvField(const Json& value) {
  std::string text;
  if (value.is_null()) return "";
  if (value.is_string()) text = value.get<std::string>();
  else text = value.dump();
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += "\"\"";
    else quoted += c;
  }
  return quoted + "\"";
}

absl::StatusOr<Json> LastProof(Store& store, int64_t device_id) {
  PageRequest page;
  page.limit = kMaxPageSize;
  Json last = nullptr;
  for (int i = 0; i < kMaxProofPages; ++i) {
    absl::StatusOr<Page<Verdict>> verdicts = store.ListVerdicts(device_id, page);
    if (!verdicts.ok()) return verdicts.status();
    for (const Verdict& v : verdicts->items) {
      if (v.status == VerdictStatus::kCompliant) last = ApiTime(v.time);
    }
    if (verdicts->next_after_id == 0) break;
    page.after_id = verdicts->next_after_id;
  }
  return last;
}

// Rows for `devices`, plus usage per model against `caps` (null caps = no caps).
absl::StatusOr<Response> Report(ApiContext* ctx, const Request& req, const std::string& key,
                                Json subject, const std::vector<Device>& devices,
                                const std::vector<ModelCap>* caps, std::optional<int64_t> scope) {
  const std::string format = req.Query("format").value_or("json");
  if (format != "json" && format != "csv") {
    return absl::InvalidArgumentError("?format: must be json or csv");
  }
  absl::StatusOr<std::vector<Host>> hosts = ctx->store->ListHosts(scope);
  if (!hosts.ok()) return hosts.status();
  absl::StatusOr<std::vector<Site>> sites = ctx->store->ListSites(scope);
  if (!sites.ok()) return sites.status();
  std::unordered_map<int64_t, const Host*> host_by_id;
  for (const Host& h : *hosts) host_by_id[h.id] = &h;
  std::unordered_map<int64_t, const Site*> site_by_id;
  for (const Site& s : *sites) site_by_id[s.id] = &s;
  AlertFilter alert_filter;
  alert_filter.organization_id = scope;
  alert_filter.state = AlertState::kOpen;
  absl::StatusOr<std::vector<Alert>> open = AllAlerts(*ctx->store, alert_filter);
  if (!open.ok()) return open.status();
  std::unordered_map<int64_t, int64_t> open_by_device;
  for (const Alert& a : *open) ++open_by_device[a.device_id];

  Json rows = Json::array();
  std::map<std::string, int64_t> in_use;
  for (const Device& d : devices) {
    ++in_use[d.model];
    auto h = host_by_id.find(d.host_id);
    const Host* host = h == host_by_id.end() ? nullptr : h->second;
    const Site* site = nullptr;
    if (host != nullptr) {
      auto s = site_by_id.find(host->site_id);
      if (s != site_by_id.end()) site = s->second;
    }
    absl::StatusOr<Verdict> verdict = ctx->store->LatestVerdict(d.id);
    if (!verdict.ok() && !absl::IsNotFound(verdict.status())) return verdict.status();
    absl::StatusOr<Telemetry> telemetry = ctx->store->GetTelemetry(d.id);
    if (!telemetry.ok() && !absl::IsNotFound(telemetry.status())) return telemetry.status();
    absl::StatusOr<Json> last_proof = LastProof(*ctx->store, d.id);
    if (!last_proof.ok()) return last_proof.status();
    rows.push_back(
        {{"uuid", d.uuid},
         {"serial", d.serial},
         {"ueid", d.ueid},
         {"model", d.model},
         {"host", host == nullptr ? "" : host->hostname},
         {"site", site == nullptr ? "" : site->name},
         {"verdict", verdict.ok() ? VerdictStatusName(verdict->status) : "none"},
         {"verdict_time", verdict.ok() ? Json(ApiTime(verdict->time)) : Json(nullptr)},
         {"last_proof", *last_proof},
         {"assurance", d.key.public_key.empty() ? "" : AssuranceName(d.key.assurance)},
         {"temperature_c", telemetry.ok() ? Json(telemetry->temperature_c) : Json(nullptr)},
         {"xid_count", telemetry.ok() ? Json(telemetry->xid_count) : Json(nullptr)},
         {"open_alerts", open_by_device.count(d.id) ? open_by_device[d.id] : 0}});
  }
  Json usage = Json::array();
  if (caps != nullptr) {
    for (const ModelCap& cap : *caps) {
      usage.push_back({{"model", cap.model},
                       {"in_use", in_use.count(cap.model) ? in_use[cap.model] : 0},
                       {"max_count", cap.max_count}});
    }
    for (const auto& [model, count] : in_use) {
      bool capped = false;
      for (const ModelCap& cap : *caps) capped = capped || cap.model == model;
      if (!capped) usage.push_back({{"model", model}, {"in_use", count}, {"max_count", 0}});
    }
  } else {
    for (const auto& [model, count] : in_use) {
      usage.push_back({{"model", model}, {"in_use", count}, {"max_count", nullptr}});
    }
  }
  if (format == "csv") {
    std::string csv = absl::StrJoin(kColumns, ",") + "\n";
    for (const Json& row : rows) {
      std::vector<std::string> fields;
      for (const char* column : kColumns) fields.push_back(CsvField(row[column]));
      absl::StrAppend(&csv, absl::StrJoin(fields, ","), "\n");
    }
    return Response::Text(std::move(csv), "text/csv; charset=utf-8");
  }
  return JsonOk({{key, std::move(subject)},
                 {"generated_at", ApiTime(absl::Now())},
                 {"devices", std::move(rows)},
                 {"usage", std::move(usage)}});
}

absl::StatusOr<Response> LicenceReport(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Licence> licence = ScopedLicence(ctx, req);
  if (!licence.ok()) return licence.status();
  DeviceFilter filter;
  filter.licence_id = licence->id;
  absl::StatusOr<std::vector<Device>> devices = AllDevices(*ctx->store, filter);
  if (!devices.ok()) return devices.status();
  return Report(ctx, req, "licence", LicenceToJson(*licence), *devices, &licence->model_caps,
                licence->organization_id);
}

absl::StatusOr<Response> SiteReport(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "site id");
  if (!id.ok()) return id.status();
  absl::StatusOr<Site> site = ctx->store->GetSite(*id);
  if (!site.ok()) return site.status();
  absl::Status s = CheckScope(*req.principal, site->organization_id, absl::StrCat("site ", *id));
  if (!s.ok()) return s;
  absl::StatusOr<std::vector<Host>> hosts = ctx->store->ListHosts(site->organization_id);
  if (!hosts.ok()) return hosts.status();
  std::vector<Device> devices;
  for (const Host& h : *hosts) {
    if (h.site_id != site->id) continue;
    DeviceFilter filter;
    filter.host_id = h.id;
    absl::StatusOr<std::vector<Device>> on_host = AllDevices(*ctx->store, filter);
    if (!on_host.ok()) return on_host.status();
    devices.insert(devices.end(), on_host->begin(), on_host->end());
  }
  return Report(ctx, req, "site", SiteToJson(*site), devices, nullptr, site->organization_id);
}

}  // namespace

void AddReportRoutes(ApiContext* ctx, std::vector<Route>* routes) {
  routes->push_back({"GET", "/api/v1/reports/licences/{id}", kReaders, false,
                     http::kDefaultMaxBodyBytes,
                     [ctx](const Request& r) { return LicenceReport(ctx, r); }});
  routes->push_back({"GET", "/api/v1/reports/sites/{id}", kReaders, false,
                     http::kDefaultMaxBodyBytes,
                     [ctx](const Request& r) { return SiteReport(ctx, r); }});
}

}  // namespace lightcone::server::api
