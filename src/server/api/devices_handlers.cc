// Devices (and their histories and region), hosts, latest verdicts.
#include <algorithm>
#include <unordered_map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/api/api_context.h"

namespace lightcone::server::api {
namespace {

// The device named by the {id} path parameter (an integer id or a GPU UUID), in scope.
absl::StatusOr<Device> ScopedDevice(ApiContext* ctx, const Request& req) {
  const std::string& text = req.Param("id");
  absl::StatusOr<Device> device;
  if (absl::StartsWith(text, "GPU-")) {
    absl::StatusOr<std::string> uuid = CanonicalUuid(text);
    if (!uuid.ok()) return uuid.status();
    device = ctx->store->GetDeviceByUuid(*uuid);
  } else {
    absl::StatusOr<int64_t> id = ParseIdText(text, "device id");
    if (!id.ok()) return id.status();
    device = ctx->store->GetDevice(*id);
  }
  if (absl::IsNotFound(device.status())) {
    return absl::NotFoundError(absl::StrCat("device ", text, ": not found"));
  }
  if (!device.ok()) return device.status();
  absl::Status in_scope = CheckScope(*req.principal, device->organization_id,
                                     absl::StrCat("device ", text));
  if (!in_scope.ok()) return in_scope;
  return device;
}

absl::StatusOr<std::unordered_map<int64_t, Host>> HostMap(ApiContext* ctx,
                                                          std::optional<int64_t> scope) {
  absl::StatusOr<std::vector<Host>> hosts = ctx->store->ListHosts(scope);
  if (!hosts.ok()) return hosts.status();
  std::unordered_map<int64_t, Host> out;
  for (Host& h : *hosts) out.emplace(h.id, std::move(h));
  return out;
}

absl::StatusOr<Response> ListDevices(ApiContext* ctx, const Request& req) {
  const std::optional<int64_t> scope = ScopeOf(*req.principal);
  DeviceFilter filter;
  filter.organization_id = scope;
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  filter.page = *page;
  absl::StatusOr<std::optional<int64_t>> licence = QueryId(req, "licence_id");
  if (!licence.ok()) return licence.status();
  filter.licence_id = *licence;
  absl::StatusOr<std::optional<int64_t>> host = QueryId(req, "host_id");
  if (!host.ok()) return host.status();
  filter.host_id = *host;
  absl::StatusOr<std::optional<int64_t>> site = QueryId(req, "site_id");
  if (!site.ok()) return site.status();
  if (auto model = req.Query("model"); model.has_value() && !model->empty()) filter.model = model;
  if (auto serial = req.Query("serial"); serial.has_value() && !serial->empty()) filter.serial = serial;
  std::optional<VerdictStatus> verdict_filter;
  bool no_verdict_filter = false;
  if (auto v = req.Query("verdict"); v.has_value() && !v->empty()) {
    if (*v == "none") {
      no_verdict_filter = true;
    } else {
      absl::StatusOr<VerdictStatus> parsed = ParseVerdictStatus(*v);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "?verdict: '", v->substr(0, 32), "' is not one of compliant, violation, unproven, none"));
      }
      verdict_filter = *parsed;
    }
  }
  absl::StatusOr<Page<Device>> devices = ctx->store->ListDevices(filter);
  if (!devices.ok()) return devices.status();
  absl::StatusOr<std::unordered_map<int64_t, Host>> hosts = HostMap(ctx, scope);
  if (!hosts.ok()) return hosts.status();
  absl::StatusOr<std::vector<Verdict>> verdicts = ctx->store->LatestVerdicts(scope);
  if (!verdicts.ok()) return verdicts.status();
  std::unordered_map<int64_t, const Verdict*> latest;
  for (const Verdict& v : *verdicts) latest[v.device_id] = &v;
  // An organization-scoped caller sees a device's verdict only from when the device came
  // into its organization (VisibleSince, as GET /devices/{id}): one query for the page.
  if (scope.has_value() && !devices->items.empty()) {
    absl::StatusOr<std::vector<DeviceEntry>> moved = ctx->store->ListDevicesMovedIn(
        *scope, devices->items.front().id, devices->items.back().id);
    if (!moved.ok()) return moved.status();
    for (const DeviceEntry& entry : *moved) {
      auto v = latest.find(entry.device_id);
      if (v != latest.end() && v->second->time < entry.entered_at) latest.erase(v);
    }
  }
  Json items = Json::array();
  for (const Device& d : devices->items) {
    auto h = hosts->find(d.host_id);
    const int64_t site_id = h == hosts->end() ? 0 : h->second.site_id;
    if (site->has_value() && site_id != **site) continue;
    auto v = latest.find(d.id);
    const Verdict* verdict = v == latest.end() ? nullptr : v->second;
    if (verdict_filter.has_value() && (verdict == nullptr || verdict->status != *verdict_filter)) continue;
    if (no_verdict_filter && verdict != nullptr) continue;
    items.push_back(DeviceToJson(d, site_id, verdict));
  }
  return PageResponse(std::move(items), devices->next_after_id);
}

absl::StatusOr<Response> GetDevice(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Device> device = ScopedDevice(ctx, req);
  if (!device.ok()) return device.status();
  int64_t site_id = 0;
  if (device->host_id > 0) {
    absl::StatusOr<Host> host = ctx->store->GetHost(device->host_id);
    if (host.ok()) site_id = host->site_id;
  }
  absl::StatusOr<absl::Time> visible = VisibleSince(ctx, *req.principal, device->id);
  if (!visible.ok()) return visible.status();
  absl::StatusOr<Verdict> verdict = ctx->store->LatestVerdict(device->id);
  if (!verdict.ok() && !absl::IsNotFound(verdict.status())) return verdict.status();
  const bool show_verdict = verdict.ok() && verdict->time >= *visible;
  Json out = DeviceToJson(*device, site_id, show_verdict ? &*verdict : nullptr);
  absl::StatusOr<Telemetry> telemetry = ctx->store->GetTelemetry(device->id);
  if (!telemetry.ok() && !absl::IsNotFound(telemetry.status())) return telemetry.status();
  out["telemetry"] = telemetry.ok() && telemetry->time >= *visible ? TelemetryToJson(*telemetry)
                                                                  : Json(nullptr);
  absl::StatusOr<TopologySnapshot> topology = ctx->store->LatestTopology(device->id);
  if (!topology.ok() && !absl::IsNotFound(topology.status())) return topology.status();
  out["topology"] =
      topology.ok() && topology->time >= *visible ? TopologyToJson(*topology) : Json(nullptr);
  return JsonOk(out);
}

absl::StatusOr<Response> PatchDevice(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Device> device = ScopedDevice(ctx, req);
  if (!device.ok()) return device.status();
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  FieldReader r(*body, "device");
  const int64_t licence_id = r.Int("licence_id", true);
  if (r.ok() && licence_id < 0) r.Fail("licence_id", "must be >= 0 (0 = unassign)");
  if (!r.ok()) return r.status();
  if (licence_id > 0) {
    absl::StatusOr<Licence> licence = ctx->store->GetLicence(licence_id);
    if ((licence.ok() && licence->organization_id != device->organization_id) ||
        absl::IsNotFound(licence.status())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device.licence_id: no licence ", licence_id, " in the device's organization"));
    }
    if (!licence.ok()) return licence.status();
  }
  const int64_t previous = device->licence_id;
  if (previous != licence_id) {
    // Only the licence column (a key the agent bound since ScopedDevice read the device
    // stays), and only while the device is still in the organization checked above (409
    // when an enrollment moved it meanwhile).
    absl::Status updated =
        ctx->store->SetDeviceLicence(device->id, device->organization_id, licence_id);
    if (!updated.ok()) return updated;
    DeviceEvent event;
    event.device_id = device->id;
    event.time = absl::Now();
    event.kind = "licence_changed";
    event.host_id = device->host_id;
    event.organization_id = device->organization_id;
    event.details_json = Json{{"from_licence_id", previous}, {"to_licence_id", licence_id},
                              {"by", req.principal->name}}
                             .dump();
    absl::StatusOr<DeviceEvent> appended = ctx->store->AppendDeviceEvent(event);
    if (!appended.ok()) return appended.status();
  }
  return GetDevice(ctx, req);
}

absl::StatusOr<Response> DeviceVerdicts(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Device> device = ScopedDevice(ctx, req);
  if (!device.ok()) return device.status();
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<absl::Time> visible = VisibleSince(ctx, *req.principal, device->id);
  if (!visible.ok()) return visible.status();
  absl::StatusOr<Page<Verdict>> verdicts = ctx->store->ListVerdicts(device->id, *page);
  if (!verdicts.ok()) return verdicts.status();
  Json items = Json::array();
  for (const Verdict& v : verdicts->items) {
    if (v.time >= *visible) items.push_back(VerdictToJson(v));
  }
  return PageResponse(std::move(items), verdicts->next_after_id);
}

absl::StatusOr<Response> DeviceEvents(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Device> device = ScopedDevice(ctx, req);
  if (!device.ok()) return device.status();
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<absl::Time> visible = VisibleSince(ctx, *req.principal, device->id);
  if (!visible.ok()) return visible.status();
  absl::StatusOr<Page<DeviceEvent>> events = ctx->store->ListDeviceEvents(device->id, *page);
  if (!events.ok()) return events.status();
  Json items = Json::array();
  for (const DeviceEvent& e : events->items) {
    if (e.time >= *visible) items.push_back(DeviceEventToJson(e));
  }
  return PageResponse(std::move(items), events->next_after_id);
}

absl::StatusOr<Response> DeviceTopology(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Device> device = ScopedDevice(ctx, req);
  if (!device.ok()) return device.status();
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<absl::Time> visible = VisibleSince(ctx, *req.principal, device->id);
  if (!visible.ok()) return visible.status();
  absl::StatusOr<Page<TopologySnapshot>> snaps = ctx->store->ListTopology(device->id, *page);
  if (!snaps.ok()) return snaps.status();
  Json items = Json::array();
  for (const TopologySnapshot& t : snaps->items) {
    if (t.time >= *visible) items.push_back(TopologyToJson(t));
  }
  return PageResponse(std::move(items), snaps->next_after_id);
}

absl::StatusOr<Response> DeviceMeasurements(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Device> device = ScopedDevice(ctx, req);
  if (!device.ok()) return device.status();
  return MeasurementsPage(ctx, req, device->id);
}

// Default window of GET /devices/{id}/rtts when ?since= is not given.
constexpr absl::Duration kDefaultRttWindow = absl::Hours(24);

absl::StatusOr<Response> DeviceRtts(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Device> device = ScopedDevice(ctx, req);
  if (!device.ok()) return device.status();
  absl::StatusOr<std::optional<absl::Time>> since = QueryTime(req, "since");
  if (!since.ok()) return since.status();
  absl::StatusOr<absl::Time> visible = VisibleSince(ctx, *req.principal, device->id);
  if (!visible.ok()) return visible.status();
  const absl::Time from = std::max(since->value_or(absl::Now() - kDefaultRttWindow), *visible);
  absl::StatusOr<std::vector<MinRtt>> rtts = ctx->store->MinRtts(device->id, from);
  if (!rtts.ok()) return rtts.status();
  absl::StatusOr<std::vector<Landmark>> landmarks = ctx->store->ListLandmarks();
  if (!landmarks.ok()) return landmarks.status();
  std::unordered_map<int64_t, const Landmark*> by_id;
  for (const Landmark& l : *landmarks) by_id[l.id] = &l;
  Json items = Json::array();
  for (const MinRtt& m : *rtts) {
    auto it = by_id.find(m.landmark_id);
    items.push_back({{"landmark_id", m.landmark_id},
                     {"landmark_name", it == by_id.end() ? "" : it->second->name},
                     {"min_rtt_ns", m.min_rtt_ns},
                     {"min_rtt_ms", static_cast<double>(m.min_rtt_ns) / 1e6},
                     {"count", m.count},
                     {"last_time", ApiTime(m.last_time)}});
  }
  return JsonOk({{"device_id", device->id}, {"since", ApiTime(from)}, {"items", items}});
}

// GET /devices/{id}/telemetry defaults and limits (docs/api.md "Health history").
constexpr absl::Duration kDefaultTelemetryWindow = absl::Hours(24);
constexpr int64_t kDefaultTelemetrySamples = 2'000;
constexpr int64_t kMaxTelemetrySamples = kMaxPageSize;

absl::StatusOr<Response> DeviceTelemetry(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Device> device = ScopedDevice(ctx, req);
  if (!device.ok()) return device.status();
  absl::StatusOr<TimeRange> range = QueryTimeRange(req, kDefaultTelemetryWindow);
  if (!range.ok()) return range.status();
  absl::StatusOr<absl::Time> visible = VisibleSince(ctx, *req.principal, device->id);
  if (!visible.ok()) return visible.status();
  range->since = std::max(range->since, std::min(*visible, range->until));
  absl::StatusOr<std::optional<int64_t>> limit = QueryId(req, "limit");
  if (!limit.ok()) return limit.status();
  if (limit->has_value() && (**limit < 1 || **limit > kMaxTelemetrySamples)) {
    return absl::InvalidArgumentError(
        absl::StrCat("?limit: must be in [1, ", kMaxTelemetrySamples, "]"));
  }
  absl::StatusOr<TelemetryHistory> history = ctx->store->ListTelemetrySamples(
      device->id, range->since, range->until,
      static_cast<int>(limit->value_or(kDefaultTelemetrySamples)));
  if (!history.ok()) return history.status();
  Json items = Json::array();
  for (const Telemetry& t : history->samples) {
    Json item = TelemetryToJson(t);
    item.erase("device_id");
    items.push_back(std::move(item));
  }
  return JsonOk({{"device_id", device->id},
                 {"since", ApiTime(range->since)},
                 {"until", ApiTime(range->until)},
                 {"sample_interval_s",
                  absl::ToInt64Seconds(ctx->options.telemetry_sample_interval)},
                 {"truncated", history->truncated},
                 {"items", std::move(items)}});
}

absl::StatusOr<Response> DeviceRegion(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Device> device = ScopedDevice(ctx, req);
  if (!device.ok()) return device.status();
  if (!ctx->region_provider) {
    return absl::UnavailableError("region view is not available on this server");
  }
  absl::StatusOr<Json> region = ctx->region_provider(device->id);
  if (!region.ok()) return region.status();
  return JsonOk(*region);
}

absl::StatusOr<Response> ListHosts(ApiContext* ctx, const Request& req) {
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<std::vector<Host>> hosts = ctx->store->ListHosts(ScopeOf(*req.principal));
  if (!hosts.ok()) return hosts.status();
  absl::StatusOr<std::optional<int64_t>> site = QueryId(req, "site_id");
  if (!site.ok()) return site.status();
  if (site->has_value()) {
    std::erase_if(*hosts, [&](const Host& h) { return h.site_id != **site; });
  }
  return SlicePage(*hosts, *page, HostToJson);
}

absl::StatusOr<Response> GetHost(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "host id");
  if (!id.ok()) return id.status();
  absl::StatusOr<Host> host = ctx->store->GetHost(*id);
  if (!host.ok()) return host.status();
  absl::Status in_scope =
      CheckScope(*req.principal, host->organization_id, absl::StrCat("host ", *id));
  if (!in_scope.ok()) return in_scope;
  return JsonOk(HostToJson(*host));
}

absl::StatusOr<Response> LatestVerdicts(ApiContext* ctx, const Request& req) {
  absl::StatusOr<std::vector<Verdict>> verdicts =
      ctx->store->LatestVerdicts(ScopeOf(*req.principal));
  if (!verdicts.ok()) return verdicts.status();
  Json items = Json::array();
  for (const Verdict& v : *verdicts) items.push_back(VerdictToJson(v));
  return JsonOk({{"items", items}, {"next_after_id", 0}});
}

}  // namespace

void AddDeviceRoutes(ApiContext* ctx, std::vector<Route>* routes) {
  auto bind = [ctx](auto fn) { return [ctx, fn](const Request& r) { return fn(ctx, r); }; };
  auto get = [&](const char* path, auto fn) {
    routes->push_back({"GET", path, kReaders, false, http::kDefaultMaxBodyBytes, bind(fn)});
  };
  get("/api/v1/devices", ListDevices);
  get("/api/v1/devices/{id}", GetDevice);
  routes->push_back({"PATCH", "/api/v1/devices/{id}", kWriters, false, http::kDefaultMaxBodyBytes,
                     bind(PatchDevice)});
  get("/api/v1/devices/{id}/verdicts", DeviceVerdicts);
  get("/api/v1/devices/{id}/events", DeviceEvents);
  get("/api/v1/devices/{id}/topology", DeviceTopology);
  get("/api/v1/devices/{id}/measurements", DeviceMeasurements);
  get("/api/v1/devices/{id}/rtts", DeviceRtts);
  get("/api/v1/devices/{id}/telemetry", DeviceTelemetry);
  get("/api/v1/devices/{id}/region", DeviceRegion);
  get("/api/v1/hosts", ListHosts);
  get("/api/v1/hosts/{id}", GetHost);
  get("/api/v1/verdicts/latest", LatestVerdicts);
}

}  // namespace lightcone::server::api
