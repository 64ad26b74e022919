// Alerts (list, get, acknowledge) and the dashboard overview.
#include <map>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "server/api/api_context.h"

namespace lightcone::server::api {
namespace {

absl::StatusOr<Alert> ScopedAlert(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "alert id");
  if (!id.ok()) return id.status();
  absl::StatusOr<Alert> alert = ctx->store->GetAlert(*id);
  if (!alert.ok()) return alert.status();
  absl::Status s = CheckScope(*req.principal, alert->organization_id, absl::StrCat("alert ", *id));
  if (!s.ok()) return s;
  return alert;
}

absl::StatusOr<Response> ListAlerts(ApiContext* ctx, const Request& req) {
  AlertFilter filter;
  filter.organization_id = ScopeOf(*req.principal);
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  filter.page = *page;
  if (auto state = req.Query("state"); state.has_value() && !state->empty()) {
    absl::StatusOr<AlertState> parsed = ParseAlertState(*state);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "?state: '", state->substr(0, 32), "' is not one of open, acknowledged, resolved"));
    }
    filter.state = *parsed;
  }
  if (auto type = req.Query("type"); type.has_value() && !type->empty()) filter.type = type;
  absl::StatusOr<std::optional<int64_t>> device = QueryId(req, "device_id");
  if (!device.ok()) return device.status();
  filter.device_id = *device;
  std::optional<AlertSeverity> severity;
  if (auto s = req.Query("severity"); s.has_value() && !s->empty()) {
    absl::StatusOr<AlertSeverity> parsed = ParseAlertSeverity(*s);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "?severity: '", s->substr(0, 32), "' is not one of info, warning, critical"));
    }
    severity = *parsed;
  }
  absl::StatusOr<Page<Alert>> alerts = ctx->store->ListAlerts(filter);
  if (!alerts.ok()) return alerts.status();
  Json items = Json::array();
  for (const Alert& a : alerts->items) {
    if (severity.has_value() && a.severity != *severity) continue;
    items.push_back(AlertToJson(a));
  }
  return PageResponse(std::move(items), alerts->next_after_id);
}

absl::StatusOr<Response> GetAlert(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Alert> alert = ScopedAlert(ctx, req);
  if (!alert.ok()) return alert.status();
  return JsonOk(AlertToJson(*alert));
}

absl::StatusOr<Response> AcknowledgeAlert(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Alert> alert = ScopedAlert(ctx, req);
  if (!alert.ok()) return alert.status();
  std::string comment;
  if (!req.body.empty()) {
    absl::StatusOr<Json> body = ParseBody(req.body);
    if (!body.ok()) return body.status();
    FieldReader r(*body, "");
    comment = r.String("comment", false);
    if (!r.ok()) return r.status();
  }
  absl::Status acked =
      ctx->store->AcknowledgeAlert(alert->id, req.principal->name, comment, absl::Now());
  if (!acked.ok()) return acked;
  absl::StatusOr<Alert> updated = ctx->store->GetAlert(alert->id);
  if (!updated.ok()) return updated.status();
  return JsonOk(AlertToJson(*updated));
}

absl::StatusOr<Response> Overview(ApiContext* ctx, const Request& req) {
  const std::optional<int64_t> scope = ScopeOf(*req.principal);
  DeviceFilter filter;
  filter.organization_id = scope;
  absl::StatusOr<std::vector<Device>> devices = AllDevices(*ctx->store, filter);
  if (!devices.ok()) return devices.status();
  absl::StatusOr<std::vector<Verdict>> verdicts = ctx->store->LatestVerdicts(scope);
  if (!verdicts.ok()) return verdicts.status();
  absl::StatusOr<std::vector<Host>> hosts = ctx->store->ListHosts(scope);
  if (!hosts.ok()) return hosts.status();
  absl::StatusOr<std::vector<Site>> sites = ctx->store->ListSites(scope);
  if (!sites.ok()) return sites.status();
  absl::StatusOr<std::vector<Licence>> licences = ctx->store->ListLicences(scope);
  if (!licences.ok()) return licences.status();

  std::unordered_map<int64_t, VerdictStatus> verdict_of;
  for (const Verdict& v : *verdicts) verdict_of[v.device_id] = v.status;
  std::unordered_map<int64_t, int64_t> site_of_host;
  for (const Host& h : *hosts) site_of_host[h.id] = h.site_id;
  struct Counts {
    int64_t compliant = 0, violation = 0, unproven = 0, none = 0;
    void Add(const VerdictStatus* s) {
      if (s == nullptr) ++none;
      else if (*s == VerdictStatus::kCompliant) ++compliant;
      else if (*s == VerdictStatus::kViolation) ++violation;
      else ++unproven;
    }
  };
  Counts total;
  std::map<int64_t, Counts> by_site, by_licence;
  std::map<std::string, int64_t> by_country;
  std::unordered_map<int64_t, const Site*> site_by_id;
  for (const Site& s : *sites) site_by_id[s.id] = &s;
  for (const Device& d : *devices) {
    auto v = verdict_of.find(d.id);
    const VerdictStatus* status = v == verdict_of.end() ? nullptr : &v->second;
    total.Add(status);
    auto h = site_of_host.find(d.host_id);
    const int64_t site_id = h == site_of_host.end() ? 0 : h->second;
    if (site_id > 0) {
      by_site[site_id].Add(status);
      auto s = site_by_id.find(site_id);
      if (s != site_by_id.end() && !s->second->country.empty()) ++by_country[s->second->country];
    }
    if (d.licence_id > 0) by_licence[d.licence_id].Add(status);
  }
  Json sites_json = Json::array();
  for (const Site& s : *sites) {
    const Counts c = by_site.count(s.id) ? by_site[s.id] : Counts{};
    sites_json.push_back({{"site_id", s.id}, {"name", s.name}, {"compliant", c.compliant},
                          {"violation", c.violation}, {"unproven", c.unproven},
                          {"no_verdict", c.none}});
  }
  Json countries = Json::array();
  for (const auto& [country, count] : by_country) {
    countries.push_back({{"country", country}, {"count", count}});
  }
  Json licences_json = Json::array();
  for (const Licence& l : *licences) {
    const Counts c = by_licence.count(l.id) ? by_licence[l.id] : Counts{};
    licences_json.push_back({{"licence_id", l.id}, {"reference", l.reference},
                             {"compliant", c.compliant}, {"violation", c.violation},
                             {"unproven", c.unproven}, {"no_verdict", c.none}});
  }
  AlertFilter alert_filter;
  alert_filter.organization_id = scope;
  alert_filter.state = AlertState::kOpen;
  absl::StatusOr<std::vector<Alert>> open = AllAlerts(*ctx->store, alert_filter);
  if (!open.ok()) return open.status();
  int64_t info = 0, warning = 0, critical = 0;
  for (const Alert& a : *open) {
    if (a.severity == AlertSeverity::kInfo) ++info;
    else if (a.severity == AlertSeverity::kWarning) ++warning;
    else ++critical;
  }
  absl::StatusOr<std::vector<Landmark>> landmarks = ctx->store->ListLandmarks();
  if (!landmarks.ok()) return landmarks.status();
  // When each landmark's newest batch was stored: read from the store (an index probe per
  // landmark), so it is right after a restart and costs ingest nothing.
  absl::StatusOr<std::vector<LandmarkBatchTime>> batch_times = ctx->store->LatestBatchTimes();
  if (!batch_times.ok()) return batch_times.status();
  std::unordered_map<int64_t, absl::Time> last_batch_at;
  for (const LandmarkBatchTime& t : *batch_times) {
    last_batch_at.emplace(t.landmark_id, t.received_at);
  }
  Json landmarks_json = Json::array();
  for (const Landmark& l : *landmarks) {
    auto it = last_batch_at.find(l.id);
    landmarks_json.push_back(
        {{"id", l.id}, {"name", l.name}, {"status", LandmarkStatusName(l.status)},
         {"latitude_deg", l.latitude_deg}, {"longitude_deg", l.longitude_deg},
         {"last_batch_at", it == last_batch_at.end() ? Json(nullptr) : Json(ApiTime(it->second))}});
  }
  return JsonOk({{"devices",
                  {{"total", static_cast<int64_t>(devices->size())},
                   {"compliant", total.compliant},
                   {"violation", total.violation},
                   {"unproven", total.unproven},
                   {"no_verdict", total.none}}},
                 {"by_site", sites_json},
                 {"by_country", countries},
                 {"by_licence", licences_json},
                 {"alerts_open", {{"info", info}, {"warning", warning}, {"critical", critical}}},
                 {"landmarks", landmarks_json}});
}

}  // namespace

void AddAlertRoutes(ApiContext* ctx, std::vector<Route>* routes) {
  auto bind = [ctx](auto fn) { return [ctx, fn](const Request& r) { return fn(ctx, r); }; };
  routes->push_back({"GET", "/api/v1/alerts", kReaders, false, http::kDefaultMaxBodyBytes,
                     bind(ListAlerts)});
  routes->push_back({"GET", "/api/v1/alerts/{id}", kReaders, false, http::kDefaultMaxBodyBytes,
                     bind(GetAlert)});
  routes->push_back({"POST", "/api/v1/alerts/{id}/acknowledge", kWriters, false,
                     http::kDefaultMaxBodyBytes, bind(AcknowledgeAlert)});
  routes->push_back({"GET", "/api/v1/overview", kReaders, false, http::kDefaultMaxBodyBytes,
                     bind(Overview)});
}

}  // namespace lightcone::server::api
