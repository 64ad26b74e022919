// Landmarks and their probe targets.
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/api/api_context.h"

namespace lightcone::server::api {
namespace {

std::string RawKey(const crypto::PublicKey& key) { return std::string(key.begin(), key.end()); }

absl::Status ReadLandmarkFields(FieldReader& r, bool create, Landmark* l) {
  if (create || r.Has("name")) {
    l->name = r.String("name", true);
    if (r.ok() && l->name.empty()) r.Fail("name", "must not be empty");
  }
  if (r.Has("wire_id")) {
    const std::string text = r.String("wire_id", true);
    if (r.ok()) {
      absl::StatusOr<wire::Id> id = wire::ParseId(text);
      if (!id.ok()) r.Fail("wire_id", "must be 32 hex digits (a 16-byte id) or a UUID");
      else l->wire_id = crypto::HexEncode(*id);
    }
  } else if (create) {
    wire::Id id;
    crypto::RandomBytes(id);
    l->wire_id = crypto::HexEncode(id);
  }
  if (create || r.Has("latitude_deg")) {
    l->latitude_deg = r.Number("latitude_deg", true);
    r.CheckRange("latitude_deg", l->latitude_deg, -90, 90);
  }
  if (create || r.Has("longitude_deg")) {
    l->longitude_deg = r.Number("longitude_deg", true);
    r.CheckRange("longitude_deg", l->longitude_deg, -180, 180);
  }
  if (r.Has("country")) {
    l->country = r.String("country", true);
    if (r.ok() && !l->country.empty() && !IsCountryCode(l->country)) {
      r.Fail("country", "must be an ISO 3166-1 alpha-2 code such as \"SG\"");
    }
  }
  if (create || r.Has("public_key")) {
    const std::string hex = r.String("public_key", true);
    if (r.ok()) {
      absl::StatusOr<crypto::PublicKey> key = crypto::ParsePublicKey(hex);
      if (!key.ok()) r.Fail("public_key", "must be 64 hex digits (an Ed25519 public key)");
      else l->public_key = RawKey(*key);
    }
  }
  if (r.Has("status")) {
    const std::string status = r.String("status", true);
    if (r.ok()) {
      absl::StatusOr<LandmarkStatus> s = ParseLandmarkStatus(status);
      if (!s.ok()) r.Fail("status", "must be one of active, flagged, retired");
      else l->status = *s;
    }
  }
  if (r.Has("status_reason")) l->status_reason = r.String("status_reason", true);
  return r.status();
}

absl::StatusOr<Response> ListLandmarks(ApiContext* ctx, const Request& req) {
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<std::vector<Landmark>> all = ctx->store->ListLandmarks();
  if (!all.ok()) return all.status();
  return SlicePage(*all, *page, LandmarkToJson);
}

absl::StatusOr<Response> CreateLandmark(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  FieldReader r(*body, "landmark");
  Landmark l;
  absl::Status status = ReadLandmarkFields(r, /*create=*/true, &l);
  if (!status.ok()) return status;
  l.created_at = absl::Now();
  absl::StatusOr<Landmark> stored = ctx->store->CreateLandmark(l);
  if (!stored.ok()) return stored.status();
  return JsonOk(LandmarkToJson(*stored), 201);
}

absl::StatusOr<Response> GetLandmark(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "landmark id");
  if (!id.ok()) return id.status();
  absl::StatusOr<Landmark> l = ctx->store->GetLandmark(*id);
  if (!l.ok()) return l.status();
  return JsonOk(LandmarkToJson(*l));
}

absl::StatusOr<Response> PatchLandmark(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "landmark id");
  if (!id.ok()) return id.status();
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  absl::StatusOr<Landmark> l = ctx->store->GetLandmark(*id);
  if (!l.ok()) return l.status();
  FieldReader r(*body, "landmark");
  absl::Status status = ReadLandmarkFields(r, /*create=*/false, &*l);
  if (!status.ok()) return status;
  if (l->status == LandmarkStatus::kActive && !r.Has("status_reason")) l->status_reason.clear();
  status = ctx->store->UpdateLandmark(*l);
  if (!status.ok()) return status;
  absl::StatusOr<Landmark> updated = ctx->store->GetLandmark(*id);
  if (!updated.ok()) return updated.status();
  return JsonOk(LandmarkToJson(*updated));
}

// FNV-1a, cut to 53 bits so the version is exact as a JSON number.
int64_t ListVersion(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  const int64_t v = static_cast<int64_t>(h & ((1ULL << 53) - 1));
  return v == 0 ? 1 : v;
}

absl::StatusOr<Response> Targets(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "landmark id");
  if (!id.ok()) return id.status();
  if (req.principal->role == Role::kLandmark && req.principal->landmark_id != *id) {
    return absl::PermissionDeniedError(
        absl::StrCat("a landmark token may only read its own targets (landmark ",
                     req.principal->landmark_id, ")"));
  }
  absl::StatusOr<std::optional<int64_t>> if_version = QueryId(req, "if_version");
  if (!if_version.ok()) return if_version.status();
  absl::StatusOr<Landmark> landmark = ctx->store->GetLandmark(*id);
  if (!landmark.ok()) return landmark.status();
  Json targets = Json::array();
  if (landmark->status != LandmarkStatus::kRetired) {
    absl::StatusOr<std::vector<Device>> devices = AllDevices(*ctx->store, DeviceFilter{});
    if (!devices.ok()) return devices.status();
    absl::StatusOr<std::vector<Host>> hosts = ctx->store->ListHosts(std::nullopt);
    if (!hosts.ok()) return hosts.status();
    std::unordered_map<int64_t, std::string> address;
    for (const Host& h : *hosts) address[h.id] = h.probe_address;
    for (const Device& d : *devices) {
      if (d.key.public_key.size() != crypto::kPublicKeyBytes) continue;
      absl::StatusOr<wire::Id> wire_id = wire::ParseId(d.uuid);
      if (!wire_id.ok()) continue;
      auto it = address.find(d.host_id);
      targets.push_back(
          {{"device_uuid", d.uuid},
           {"wire_device_id", crypto::HexEncode(*wire_id)},
           {"address", it == address.end() ? "" : it->second},
           {"public_key",
            crypto::HexEncode(std::span<const uint8_t>(
                reinterpret_cast<const uint8_t*>(d.key.public_key.data()), d.key.public_key.size()))},
           {"key_id", d.key.key_id}});
    }
  }
  const std::string text = targets.dump();
  const int64_t version = ListVersion(text);
  if (if_version->has_value() && **if_version == version) {
    Response r;
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  return Response::Json(absl::StrCat("{\"version\":", version, ",\"targets\":", text, "}"));
}

}  // namespace

void AddLandmarkRoutes(ApiContext* ctx, std::vector<Route>* routes) {
  auto bind = [ctx](auto fn) { return [ctx, fn](const Request& r) { return fn(ctx, r); }; };
  const std::vector<Role> readers = {Role::kLandmark, Role::kOperator, Role::kAuditor, Role::kAdmin};
  routes->push_back({"GET", "/api/v1/landmarks", readers, false, http::kDefaultMaxBodyBytes,
                     bind(ListLandmarks)});
  routes->push_back({"POST", "/api/v1/landmarks", kAdminOnly, false, http::kDefaultMaxBodyBytes,
                     bind(CreateLandmark)});
  routes->push_back({"GET", "/api/v1/landmarks/{id}", readers, false, http::kDefaultMaxBodyBytes,
                     bind(GetLandmark)});
  routes->push_back({"PATCH", "/api/v1/landmarks/{id}", kAdminOnly, false,
                     http::kDefaultMaxBodyBytes, bind(PatchLandmark)});
  routes->push_back({"GET", "/api/v1/landmarks/{id}/targets", {Role::kLandmark, Role::kAdmin},
                     false, http::kDefaultMaxBodyBytes, bind(Targets)});
}

}  // namespace lightcone::server::api
