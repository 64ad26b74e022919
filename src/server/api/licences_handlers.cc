// Licences, sites and shipments: CRUD scoped to the caller's organization.
#include <algorithm>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/api/api_context.h"

namespace lightcone::server::api {

absl::StatusOr<Licence> ScopedLicence(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "licence id");
  if (!id.ok()) return id.status();
  absl::StatusOr<Licence> licence = ctx->store->GetLicence(*id);
  if (!licence.ok()) return licence.status();
  absl::Status s = CheckScope(*req.principal, licence->organization_id, absl::StrCat("licence ", *id));
  if (!s.ok()) return s;
  return licence;
}

namespace {

// The organization a new object goes to: the operator's own, or the admin's explicit choice.
absl::StatusOr<int64_t> TargetOrganization(ApiContext* ctx, const Request& req, const Json& body,
                                           const std::string& path) {
  FieldReader r(body, path);
  const int64_t requested = r.Int("organization_id", false, 0);
  if (!r.ok()) return r.status();
  const std::optional<int64_t> scope = ScopeOf(*req.principal);
  if (scope.has_value()) {
    if (requested != 0 && requested != *scope) {
      return absl::PermissionDeniedError(absl::StrCat(
          path, ".organization_id: an operator creates objects in its own organization only"));
    }
    return *scope;
  }
  if (requested <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".organization_id: required"));
  }
  absl::StatusOr<Organization> org = ctx->store->GetOrganization(requested);
  if (absl::IsNotFound(org.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".organization_id: no organization ", requested));
  }
  if (!org.ok()) return org.status();
  return requested;
}

absl::Status CheckUnchangedOrganization(const Json& body, const std::string& path, int64_t org) {
  FieldReader r(body, path);
  const int64_t requested = r.Int("organization_id", false, 0);
  if (!r.ok()) return r.status();
  if (requested != 0 && requested != org) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".organization_id: an object cannot move to another organization"));
  }
  return absl::OkStatus();
}

// ---- licences ----

absl::StatusOr<Response> ListLicences(ApiContext* ctx, const Request& req) {
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<std::vector<Licence>> all = ctx->store->ListLicences(ScopeOf(*req.principal));
  if (!all.ok()) return all.status();
  return SlicePage(*all, *page, LicenceToJson);
}

absl::StatusOr<Response> CreateLicence(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  absl::StatusOr<Licence> licence = LicenceFromJson(*body, "licence");
  if (!licence.ok()) return licence.status();
  absl::StatusOr<int64_t> org = TargetOrganization(ctx, req, *body, "licence");
  if (!org.ok()) return org.status();
  licence->organization_id = *org;
  absl::StatusOr<Licence> stored = ctx->store->CreateLicence(*licence);
  if (!stored.ok()) return stored.status();
  return JsonOk(LicenceToJson(*stored), 201);
}

absl::StatusOr<Response> GetLicence(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Licence> licence = ScopedLicence(ctx, req);
  if (!licence.ok()) return licence.status();
  return JsonOk(LicenceToJson(*licence));
}

absl::StatusOr<Response> PutLicence(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Licence> existing = ScopedLicence(ctx, req);
  if (!existing.ok()) return existing.status();
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  absl::StatusOr<Licence> licence = LicenceFromJson(*body, "licence");
  if (!licence.ok()) return licence.status();
  absl::Status same = CheckUnchangedOrganization(*body, "licence", existing->organization_id);
  if (!same.ok()) return same;
  licence->id = existing->id;
  licence->organization_id = existing->organization_id;
  absl::Status updated = ctx->store->UpdateLicence(*licence);
  if (!updated.ok()) return updated;
  return JsonOk(LicenceToJson(*licence));
}

// Licences are evidence: DELETE ends one (valid_until = now) and keeps the record.
absl::StatusOr<Response> DeleteLicence(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Licence> licence = ScopedLicence(ctx, req);
  if (!licence.ok()) return licence.status();
  DeviceFilter filter;
  filter.licence_id = licence->id;
  filter.page.limit = 1;
  absl::StatusOr<Page<Device>> devices = ctx->store->ListDevices(filter);
  if (!devices.ok()) return devices.status();
  if (!devices->items.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "licence ", licence->id, ": devices are still assigned to it (e.g. device ",
        devices->items[0].id, "); reassign them first"));
  }
  const absl::Time now = absl::Now();
  if (licence->valid_until > now) {
    licence->valid_until = std::max(now, licence->valid_from + absl::Seconds(1));
    absl::Status updated = ctx->store->UpdateLicence(*licence);
    if (!updated.ok()) return updated;
  }
  return Response::NoContent();
}

// ---- sites ----
absl::StatusOr<Site> ScopedSite(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "site id");
  if (!id.ok()) return id.status();
  absl::StatusOr<Site> site = ctx->store->GetSite(*id);
  if (!site.ok()) return site.status();
  absl::Status s = CheckScope(*req.principal, site->organization_id, absl::StrCat("site ", *id));
  if (!s.ok()) return s;
  return site;
}

absl::StatusOr<Response> ListSites(ApiContext* ctx, const Request& req) {
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<std::vector<Site>> all = ctx->store->ListSites(ScopeOf(*req.principal));
  if (!all.ok()) return all.status();
  return SlicePage(*all, *page, SiteToJson);
}

absl::StatusOr<Response> CreateSite(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  absl::StatusOr<Site> site = SiteFromJson(*body, "site");
  if (!site.ok()) return site.status();
  absl::StatusOr<int64_t> org = TargetOrganization(ctx, req, *body, "site");
  if (!org.ok()) return org.status();
  site->organization_id = *org;
  absl::StatusOr<Site> stored = ctx->store->CreateSite(*site);
  if (!stored.ok()) return stored.status();
  return JsonOk(SiteToJson(*stored), 201);
}

absl::StatusOr<Response> GetSite(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Site> site = ScopedSite(ctx, req);
  if (!site.ok()) return site.status();
  return JsonOk(SiteToJson(*site));
}

absl::StatusOr<Response> PutSite(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Site> existing = ScopedSite(ctx, req);
  if (!existing.ok()) return existing.status();
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  absl::StatusOr<Site> site = SiteFromJson(*body, "site");
  if (!site.ok()) return site.status();
  absl::Status same = CheckUnchangedOrganization(*body, "site", existing->organization_id);
  if (!same.ok()) return same;
  site->id = existing->id;
  site->organization_id = existing->organization_id;
  absl::Status updated = ctx->store->UpdateSite(*site);
  if (!updated.ok()) return updated;
  return JsonOk(SiteToJson(*site));
}

// ---- shipments ----
absl::Status CheckShipmentLicence(ApiContext* ctx, const Shipment& s) {
  if (s.licence_id == 0) return absl::OkStatus();
  absl::StatusOr<Licence> licence = ctx->store->GetLicence(s.licence_id);
  if (absl::IsNotFound(licence.status()) ||
      (licence.ok() && licence->organization_id != s.organization_id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shipment.licence_id: no licence ", s.licence_id, " in the shipment's organization"));
  }
  return licence.status();
}

absl::StatusOr<Shipment> ScopedShipment(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "shipment id");
  if (!id.ok()) return id.status();
  absl::StatusOr<Shipment> shipment = ctx->store->GetShipment(*id);
  if (!shipment.ok()) return shipment.status();
  absl::Status s =
      CheckScope(*req.principal, shipment->organization_id, absl::StrCat("shipment ", *id));
  if (!s.ok()) return s;
  return shipment;
}

absl::StatusOr<Response> ListShipments(ApiContext* ctx, const Request& req) {
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<std::vector<Shipment>> all = ctx->store->ListShipments(ScopeOf(*req.principal));
  if (!all.ok()) return all.status();
  absl::StatusOr<std::optional<int64_t>> licence = QueryId(req, "licence_id");
  if (!licence.ok()) return licence.status();
  if (licence->has_value()) {
    std::erase_if(*all, [&](const Shipment& s) { return s.licence_id != **licence; });
  }
  return SlicePage(*all, *page, ShipmentToJson);
}

absl::StatusOr<Response> CreateShipment(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  absl::StatusOr<Shipment> shipment = ShipmentFromJson(*body, "shipment");
  if (!shipment.ok()) return shipment.status();
  absl::StatusOr<int64_t> org = TargetOrganization(ctx, req, *body, "shipment");
  if (!org.ok()) return org.status();
  shipment->organization_id = *org;
  absl::Status licence_ok = CheckShipmentLicence(ctx, *shipment);
  if (!licence_ok.ok()) return licence_ok;
  absl::StatusOr<Shipment> stored = ctx->store->CreateShipment(*shipment);
  if (!stored.ok()) return stored.status();
  return JsonOk(ShipmentToJson(*stored), 201);
}

absl::StatusOr<Response> GetShipment(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Shipment> shipment = ScopedShipment(ctx, req);
  if (!shipment.ok()) return shipment.status();
  return JsonOk(ShipmentToJson(*shipment));
}

absl::StatusOr<Response> PutShipment(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Shipment> existing = ScopedShipment(ctx, req);
  if (!existing.ok()) return existing.status();
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  absl::StatusOr<Shipment> shipment = ShipmentFromJson(*body, "shipment");
  if (!shipment.ok()) return shipment.status();
  absl::Status same = CheckUnchangedOrganization(*body, "shipment", existing->organization_id);
  if (!same.ok()) return same;
  shipment->id = existing->id;
  shipment->organization_id = existing->organization_id;
  absl::Status licence_ok = CheckShipmentLicence(ctx, *shipment);
  if (!licence_ok.ok()) return licence_ok;
  absl::Status updated = ctx->store->UpdateShipment(*shipment);
  if (!updated.ok()) return updated;
  return JsonOk(ShipmentToJson(*shipment));
}

}  // namespace

namespace {

// GET /licences/{id}/history defaults and limits (docs/api.md "Compliance over time").
constexpr absl::Duration kDefaultLicenceHistoryWindow = absl::Hours(24 * 7);
constexpr int64_t kLicenceHistoryDefaultInstants = 100;
constexpr int64_t kMinDefaultBucketSeconds = 60;
constexpr int64_t kMaxLicenceHistoryInstants = 1'000;

struct StatusCounts {
  int64_t compliant = 0;
  int64_t violation = 0;
  int64_t unproven = 0;
  int64_t& operator[](VerdictStatus status) {
    switch (status) {
      case VerdictStatus::kCompliant: return compliant;
      case VerdictStatus::kViolation: return violation;
      case VerdictStatus::kUnproven: break;
    }
    return unproven;
  }
};

// Counts per instant since + k * bucket (k = 1..instants) of the devices whose latest verdict
// at or before the instant was judged against `licence_id`, from rows fed in time order
// (Store::ReadLicenceVerdictHistory): one sweep, each device's state replaced as it changes.
// Holds one entry per device and one count triple per instant, however many rows pass.
class ComplianceSweep {
 public:
  ComplianceSweep(int64_t licence_id, absl::Time since, absl::Duration bucket, int64_t instants)
      : licence_id_(licence_id), since_(since), bucket_(bucket), instants_(instants) {
    series_.reserve(static_cast<size_t>(instants));
  }

  // REQUIRES: p.time is not before the previous point's.
  void Add(const VerdictPoint& p) {
    CloseInstantsBefore(p.time);
    auto [it, inserted] = latest_.try_emplace(p.device_id, State{p.status, p.licence_id});
    if (!inserted) {
      if (it->second.licence_id == licence_id_) --counts_[it->second.status];
      it->second = State{p.status, p.licence_id};
    }
    if (p.licence_id == licence_id_) ++counts_[p.status];
  }

  // The series, after every point was added.
  Json Finish() {
    CloseInstantsBefore(absl::InfiniteFuture());
    Json items = Json::array();
    for (size_t k = 0; k < series_.size(); ++k) {
      items.push_back({{"time", ApiTime(Instant(static_cast<int64_t>(k) + 1))},
                       {"compliant", series_[k].compliant},
                       {"violation", series_[k].violation},
                       {"unproven", series_[k].unproven}});
    }
    return items;
  }

 private:
  struct State {
    VerdictStatus status;
    int64_t licence_id;
  };
  absl::Time Instant(int64_t k) const { return since_ + k * bucket_; }
  // Records the counts of every instant before `time` not recorded yet (a point at an instant
  // counts there: instants are closed once a later point arrives).
  void CloseInstantsBefore(absl::Time time) {
    while (static_cast<int64_t>(series_.size()) < instants_ &&
           Instant(static_cast<int64_t>(series_.size()) + 1) < time) {
      series_.push_back(counts_);
    }
  }

  const int64_t licence_id_;
  const absl::Time since_;
  const absl::Duration bucket_;
  const int64_t instants_;
  std::unordered_map<int64_t, State> latest_;
  StatusCounts counts_;
  std::vector<StatusCounts> series_;
};

absl::StatusOr<Response> LicenceHistory(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Licence> licence = ScopedLicence(ctx, req);
  if (!licence.ok()) return licence.status();
  absl::StatusOr<std::optional<absl::Time>> since_query = QueryTime(req, "since");
  if (!since_query.ok()) return since_query.status();
  absl::StatusOr<std::optional<absl::Time>> until_query = QueryTime(req, "until");
  if (!until_query.ok()) return until_query.status();
  const absl::Time until = until_query->value_or(absl::Now());
  absl::Time since = until - kDefaultLicenceHistoryWindow;
  if (since_query->has_value()) {
    since = **since_query;
    if (since >= until) {
      return absl::InvalidArgumentError(
          absl::StrCat("?since: ", ApiTime(since), " is not before ?until ", ApiTime(until)));
    }
  } else if (licence->valid_from > since && licence->valid_from < until) {
    since = licence->valid_from;
  }
  const absl::Duration range = until - since;
  absl::StatusOr<std::optional<int64_t>> bucket_query = QueryId(req, "bucket_s");
  if (!bucket_query.ok()) return bucket_query.status();
  int64_t bucket_s = std::max(kMinDefaultBucketSeconds,
                              absl::ToInt64Seconds(range) / kLicenceHistoryDefaultInstants);
  if (bucket_query->has_value()) {
    bucket_s = **bucket_query;
    if (bucket_s < 1) return absl::InvalidArgumentError("?bucket_s: must be >= 1");
  }
  const absl::Duration bucket = absl::Seconds(bucket_s);
  absl::Duration remainder;
  const int64_t instants = absl::IDivDuration(range, bucket, &remainder);
  if (instants > kMaxLicenceHistoryInstants) {
    return absl::InvalidArgumentError(absl::StrCat(
        "?bucket_s: ", bucket_s, " s gives ", instants, " instants between ?since and ?until (at most ",
        kMaxLicenceHistoryInstants, ")"));
  }
  ComplianceSweep sweep(licence->id, since, bucket, instants);
  const absl::Duration limit = ctx->options.licence_history_time_limit;
  absl::Status read = ctx->store->ReadLicenceVerdictHistory(
      licence->id, since, until, absl::Now() + limit, [&](const VerdictPoint& p) {
        sweep.Add(p);
        return absl::OkStatus();
      });
  if (absl::IsDeadlineExceeded(read)) {
    return absl::UnavailableError(absl::StrCat(
        "licence ", licence->id, ": reading the verdicts between ?since and ?until took longer "
        "than ", absl::FormatDuration(limit), " (", read.message(), "); choose a shorter range"));
  }
  if (absl::IsInvalidArgument(read)) {
    return absl::InvalidArgumentError(absl::StrCat("?since/?until: ", read.message()));
  }
  if (!read.ok()) return read;
  return JsonOk({{"licence_id", licence->id},
                 {"since", ApiTime(since)},
                 {"until", ApiTime(until)},
                 {"bucket_s", bucket_s},
                 {"items", sweep.Finish()}});
}

}  // namespace

void AddLicenceRoutes(ApiContext* ctx, std::vector<Route>* routes) {
  auto bind = [ctx](auto fn) { return [ctx, fn](const Request& r) { return fn(ctx, r); }; };
  auto add = [&](const char* method, const char* path, const std::vector<Role>& roles, auto fn) {
    routes->push_back({method, path, roles, false, http::kDefaultMaxBodyBytes, bind(fn)});
  };
  add("GET", "/api/v1/licences", kReaders, ListLicences);
  add("POST", "/api/v1/licences", kWriters, CreateLicence);
  add("GET", "/api/v1/licences/{id}", kReaders, GetLicence);
  add("PUT", "/api/v1/licences/{id}", kWriters, PutLicence);
  add("DELETE", "/api/v1/licences/{id}", kWriters, DeleteLicence);
  add("GET", "/api/v1/licences/{id}/history", kReaders, LicenceHistory);
  add("GET", "/api/v1/sites", kReaders, ListSites);
  add("POST", "/api/v1/sites", kWriters, CreateSite);
  add("GET", "/api/v1/sites/{id}", kReaders, GetSite);
  add("PUT", "/api/v1/sites/{id}", kWriters, PutSite);
  add("GET", "/api/v1/shipments", kReaders, ListShipments);
  add("POST", "/api/v1/shipments", kWriters, CreateShipment);
  add("GET", "/api/v1/shipments/{id}", kReaders, GetShipment);
  add("PUT", "/api/v1/shipments/{id}", kWriters, PutShipment);
}

}  // namespace lightcone::server::api
