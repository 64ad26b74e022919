// Licences, sites and shipments: CRUD scoped to the caller's organization.
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
