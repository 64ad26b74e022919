#include "server/api/json_mapping.h"

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/crypto.h"

namespace lightcone::server::api {
namespace {

// Deepest nesting of arrays/objects outside strings; stops counting past `limit`.
int NestingDepth(const std::string& text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > max_depth) max_depth = depth;
      if (max_depth > limit) return max_depth;
    } else if (c == '}' || c == ']') --depth;
  }
  return max_depth;
}

const char* TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

std::string Hex(const std::string& raw) {
  return crypto::HexEncode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
}

}  // namespace

absl::StatusOr<Json> ParseBody(const std::string& body) {
  if (body.empty()) return absl::InvalidArgumentError("request body: empty, expected a JSON object");
  if (NestingDepth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body: JSON nested deeper than ", kMaxJsonDepth, " levels"));
  }
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::InvalidArgumentError("request body: malformed JSON");
  if (!parsed.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body: expected a JSON object, got ", TypeName(parsed)));
  }
  return parsed;
}

std::string ApiTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

Json TimeOrNull(absl::Time t) {
  if (t == absl::UnixEpoch()) return nullptr;
  return ApiTime(t);
}

absl::StatusOr<absl::Time> ParseApiTime(const std::string& text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text.substr(0, 64), "' is not an RFC 3339 time (", err, ")"));
  }
  // absl accepts "infinite-past", any year, and the store keeps nanoseconds since 1970 in
  // 64 bits: refuse what cannot be stored or written back as RFC 3339.
  if (t < kEarliestApiTime || t > kLatestApiTime) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text.substr(0, 64), "' is outside the supported times ", ApiTime(kEarliestApiTime),
        " .. ", ApiTime(kLatestApiTime)));
  }
  return t;
}

FieldReader::FieldReader(const Json& object, std::string path)
    : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) {
    status_ = absl::InvalidArgumentError(absl::StrCat(
        path_.empty() ? "body" : path_, ": expected an object, got ", TypeName(object_)));
  }
}

std::string FieldReader::PathOf(const std::string& key) const {
  return path_.empty() ? key : absl::StrCat(path_, ".", key);
}

void FieldReader::Fail(const std::string& key, const std::string& why) {
  if (status_.ok()) status_ = absl::InvalidArgumentError(absl::StrCat(PathOf(key), ": ", why));
}

bool FieldReader::Has(const char* key) const {
  return object_.is_object() && object_.contains(key) && !object_.at(key).is_null();
}

const Json* FieldReader::Get(const char* key, bool required) {
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) {
    if (required) Fail(key, "required field is missing");
    return nullptr;
  }
  return &*it;
}

std::string FieldReader::String(const char* key, bool required, const std::string& fallback,
                                size_t max_bytes) {
  const Json* v = Get(key, required);
  if (v == nullptr) return fallback;
  if (!v->is_string()) {
    Fail(key, absl::StrCat("expected a string, got ", TypeName(*v)));
    return fallback;
  }
  const std::string& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    Fail(key, absl::StrCat("longer than ", max_bytes, " bytes"));
    return fallback;
  }
  return s;
}

double FieldReader::Number(const char* key, bool required, double fallback) {
  const Json* v = Get(key, required);
  if (v == nullptr) return fallback;
  if (!v->is_number()) {
    Fail(key, absl::StrCat("expected a number, got ", TypeName(*v)));
    return fallback;
  }
  const double d = v->get<double>();
  if (!std::isfinite(d)) {
    Fail(key, "must be finite");
    return fallback;
  }
  return d;
}

int64_t FieldReader::Int(const char* key, bool required, int64_t fallback) {
  const Json* v = Get(key, required);
  if (v == nullptr) return fallback;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Fail(key, "integer out of range");
      return fallback;
    }
    return static_cast<int64_t>(u);
  }
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  Fail(key, absl::StrCat("expected an integer, got ", TypeName(*v)));
  return fallback;
}

bool FieldReader::Bool(const char* key, bool required, bool fallback) {
  const Json* v = Get(key, required);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) {
    Fail(key, absl::StrCat("expected a boolean, got ", TypeName(*v)));
    return fallback;
  }
  return v->get<bool>();
}

absl::Time FieldReader::Time(const char* key, bool required, absl::Time fallback) {
  const Json* v = Get(key, required);
  if (v == nullptr) return fallback;
  if (!v->is_string()) {
    Fail(key, absl::StrCat("expected an RFC 3339 time string, got ", TypeName(*v)));
    return fallback;
  }
  absl::StatusOr<absl::Time> t = ParseApiTime(v->get<std::string>());
  if (!t.ok()) {
    Fail(key, std::string(t.status().message()));
    return fallback;
  }
  return *t;
}

const Json* FieldReader::Array(const char* key, bool required) {
  const Json* v = Get(key, required);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    Fail(key, absl::StrCat("expected an array, got ", TypeName(*v)));
    return nullptr;
  }
  if (v->size() > kMaxListItems) {
    Fail(key, absl::StrCat("more than ", kMaxListItems, " items"));
    return nullptr;
  }
  return v;
}

std::vector<std::string> FieldReader::StringList(const char* key, bool required) {
  std::vector<std::string> out;
  const Json* arr = Array(key, required);
  if (arr == nullptr) return out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const Json& item = (*arr)[i];
    if (!item.is_string()) {
      Fail(absl::StrCat(key, "[", i, "]"), absl::StrCat("expected a string, got ", TypeName(item)));
      return {};
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

void FieldReader::CheckRange(const char* key, double value, double lo, double hi) {
  if (value < lo || value > hi) Fail(key, absl::StrCat("must be in [", lo, ", ", hi, "]"));
}

// ---- records -> JSON -------------------------------------------------------------------

Json OrganizationToJson(const Organization& org) {
  return {{"id", org.id}, {"name", org.name}, {"created_at", TimeOrNull(org.created_at)}};
}

Json LandmarkToJson(const Landmark& l) {
  return {{"id", l.id},
          {"name", l.name},
          {"wire_id", l.wire_id},
          {"latitude_deg", l.latitude_deg},
          {"longitude_deg", l.longitude_deg},
          {"country", l.country},
          {"public_key", Hex(l.public_key)},
          {"status", LandmarkStatusName(l.status)},
          {"status_reason", l.status_reason},
          {"created_at", TimeOrNull(l.created_at)}};
}

Json SiteToJson(const Site& s) {
  return {{"id", s.id},
          {"organization_id", s.organization_id},
          {"name", s.name},
          {"latitude_deg", s.latitude_deg},
          {"longitude_deg", s.longitude_deg},
          {"radius_km", s.radius_km},
          {"country", s.country}};
}

Json LicenceToJson(const Licence& l) {
  Json sites = Json::array();
  for (const AllowedSite& s : l.allowed_sites) {
    sites.push_back({{"name", s.name},
                     {"latitude_deg", s.latitude_deg},
                     {"longitude_deg", s.longitude_deg},
                     {"radius_km", s.radius_km}});
  }
  Json caps = Json::array();
  for (const ModelCap& c : l.model_caps) caps.push_back({{"model", c.model}, {"max_count", c.max_count}});
  return {{"id", l.id},
          {"organization_id", l.organization_id},
          {"reference", l.reference},
          {"holder", l.holder},
          {"end_user", l.end_user},
          {"allowed_sites", sites},
          {"allowed_countries", l.allowed_countries},
          {"prohibited_regions", l.prohibited_regions},
          {"model_caps", caps},
          {"valid_from", ApiTime(l.valid_from)},
          {"valid_until", ApiTime(l.valid_until)},
          {"reporting_cadence_s", absl::ToInt64Seconds(l.reporting_cadence)}};
}

Json ShipmentToJson(const Shipment& s) {
  return {{"id", s.id},
          {"organization_id", s.organization_id},
          {"licence_id", s.licence_id},
          {"reference", s.reference},
          {"consignee", s.consignee},
          {"billed_country", s.billed_country},
          {"shipped_at", ApiTime(s.shipped_at)},
          {"serials", s.serials}};
}

Json HostToJson(const Host& h) {
  return {{"id", h.id},
          {"organization_id", h.organization_id},
          {"hostname", h.hostname},
          {"site_id", h.site_id},
          {"probe_address", h.probe_address},
          {"agent_version", h.agent_version},
          {"first_seen", TimeOrNull(h.first_seen)},
          {"last_seen", TimeOrNull(h.last_seen)}};
}

std::string AssuranceName(AssuranceLevel level) {
  return absl::StrCat("L", static_cast<int>(level));
}

absl::StatusOr<AssuranceLevel> ParseAssurance(const std::string& name) {
  if (name == "L0") return AssuranceLevel::kL0;
  if (name == "L1") return AssuranceLevel::kL1;
  if (name == "L2") return AssuranceLevel::kL2;
  if (name == "L3") return AssuranceLevel::kL3;
  return absl::InvalidArgumentError(absl::StrCat("'", name, "' is not one of L0, L1, L2, L3"));
}

Json KeyToJson(const KeyBinding& key) {
  if (key.public_key.empty()) return nullptr;
  return {{"public_key", Hex(key.public_key)},
          {"key_id", key.key_id},
          {"assurance", AssuranceName(key.assurance)},
          {"bound_at", TimeOrNull(key.bound_at)},
          {"evidence_sha256", key.evidence_sha256}};
}

Json VerdictToJson(const Verdict& v) {
  Json region = Json::parse(v.region_summary_json, nullptr, false);
  if (region.is_discarded()) region = Json::object();
  return {{"id", v.id},
          {"device_id", v.device_id},
          {"time", ApiTime(v.time)},
          {"status", VerdictStatusName(v.status)},
          {"reason", v.reason},
          {"robustness_f", v.robustness_f},
          {"assurance", AssuranceName(v.assurance)},
          {"estimate",
           {{"latitude_deg", v.estimate_latitude_deg},
            {"longitude_deg", v.estimate_longitude_deg},
            {"uncertainty_km", v.estimate_radius_km}}},
          {"region", region},
          {"licence_id", v.licence_id}};
}

Json DeviceToJson(const Device& d, int64_t site_id, const Verdict* verdict) {
  return {{"id", d.id},
          {"organization_id", d.organization_id},
          {"host_id", d.host_id},
          {"licence_id", d.licence_id},
          {"site_id", site_id},
          {"uuid", d.uuid},
          {"serial", d.serial},
          {"ueid", d.ueid},
          {"model", d.model},
          {"architecture", d.architecture},
          {"vbios", d.vbios},
          {"pci_bus_id", d.pci_bus_id},
          {"key", KeyToJson(d.key)},
          {"previous_key", d.previous_key.public_key.empty()
                               ? Json(nullptr)
                               : Json{{"public_key", Hex(d.previous_key.public_key)},
                                      {"key_id", d.previous_key.key_id},
                                      {"bound_at", TimeOrNull(d.previous_key.bound_at)},
                                      {"superseded_at", TimeOrNull(d.previous_key.superseded_at)}}},
          {"first_seen", TimeOrNull(d.first_seen)},
          {"last_seen", TimeOrNull(d.last_seen)},
          {"verdict", verdict == nullptr ? Json(nullptr) : VerdictToJson(*verdict)}};
}

Json AlertToJson(const Alert& a) {
  Json evidence = Json::parse(a.evidence_json, nullptr, false);
  if (evidence.is_discarded()) evidence = Json::object();
  return {{"id", a.id},
          {"organization_id", a.organization_id},
          {"device_id", a.device_id},
          {"type", a.type},
          {"severity", AlertSeverityName(a.severity)},
          {"subject", a.subject},
          {"evidence", evidence},
          {"state", AlertStateName(a.state)},
          {"acknowledged_by", a.acknowledged_by},
          {"acknowledge_comment", a.acknowledge_comment},
          {"created_at", ApiTime(a.created_at)},
          {"acknowledged_at", TimeOrNull(a.acknowledged_at)}};
}

Json TokenToJson(const ApiToken& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"role", RoleName(t.role)},
          {"organization_id", t.organization_id},
          {"landmark_id", t.landmark_id},
          {"created_at", TimeOrNull(t.created_at)},
          {"revoked", t.revoked}};
}

Json MeasurementToJson(const Measurement& m) {
  return {{"id", m.id},
          {"device_id", m.device_id},
          {"landmark_id", m.landmark_id},
          {"time", ApiTime(m.time)},
          {"rtt_ns", m.rtt_ns},
          {"rtt_ms", static_cast<double>(m.rtt_ns) / 1e6},
          {"nonce", Hex(m.nonce)},
          {"sequence", m.sequence},
          {"key_id", m.key_id},
          {"reply_signature", Hex(m.reply_signature)},
          {"batch_id", m.batch_id}};
}

Json TopologyToJson(const TopologySnapshot& t) {
  return {{"id", t.id}, {"device_id", t.device_id}, {"time", ApiTime(t.time)},
          {"peer_uuids", t.peer_uuids}};
}

Json DeviceEventToJson(const DeviceEvent& e) {
  Json details = Json::parse(e.details_json, nullptr, false);
  if (details.is_discarded()) details = Json::object();
  return {{"id", e.id},           {"device_id", e.device_id},
          {"time", ApiTime(e.time)}, {"kind", e.kind},
          {"host_id", e.host_id}, {"organization_id", e.organization_id},
          {"details", details}};
}

Json TelemetryToJson(const Telemetry& t) {
  return {{"device_id", t.device_id},
          {"time", ApiTime(t.time)},
          {"temperature_c", t.temperature_c},
          {"power_w", t.power_w},
          {"utilization_pct", t.utilization_pct},
          {"ecc_uncorrected", t.ecc_uncorrected},
          {"xid_count", t.xid_count},
          {"last_xid", t.last_xid}};
}

// ---- JSON -> records --------------------------------------------------------------------

bool IsCountryCode(const std::string& code) {
  return code.size() == 2 && absl::ascii_isupper(code[0]) && absl::ascii_isupper(code[1]);
}

bool IsGpuUuid(const std::string& uuid) {
  // GPU-8-4-4-4-12
  if (uuid.size() != 40 || !absl::StartsWith(uuid, "GPU-")) return false;
  for (size_t i = 4; i < uuid.size(); ++i) {
    const size_t k = i - 4;
    const bool dash = k == 8 || k == 13 || k == 18 || k == 23;
    if (dash ? uuid[i] != '-' : !absl::ascii_isxdigit(uuid[i])) return false;
  }
  return true;
}

absl::StatusOr<Site> SiteFromJson(const Json& body, const std::string& path) {
  FieldReader r(body, path);
  Site s;
  s.name = r.String("name", true);
  if (r.ok() && s.name.empty()) r.Fail("name", "must not be empty");
  s.latitude_deg = r.Number("latitude_deg", true);
  r.CheckRange("latitude_deg", s.latitude_deg, -90, 90);
  s.longitude_deg = r.Number("longitude_deg", true);
  r.CheckRange("longitude_deg", s.longitude_deg, -180, 180);
  s.radius_km = r.Number("radius_km", true);
  r.CheckRange("radius_km", s.radius_km, 0, 20000);
  s.country = r.String("country", false);
  if (r.ok() && !s.country.empty() && !IsCountryCode(s.country)) {
    r.Fail("country", "must be an ISO 3166-1 alpha-2 code such as \"SG\"");
  }
  if (!r.ok()) return r.status();
  return s;
}

absl::StatusOr<Licence> LicenceFromJson(const Json& body, const std::string& path) {
  FieldReader r(body, path);
  Licence l;
  l.reference = r.String("reference", true);
  if (r.ok() && l.reference.empty()) r.Fail("reference", "must not be empty");
  l.holder = r.String("holder", true);
  l.end_user = r.String("end_user", false);
  if (const Json* sites = r.Array("allowed_sites", false); sites != nullptr) {
    for (size_t i = 0; i < sites->size() && r.ok(); ++i) {
      FieldReader s((*sites)[i], r.PathOf(absl::StrCat("allowed_sites[", i, "]")));
      AllowedSite site;
      site.name = s.String("name", true);
      site.latitude_deg = s.Number("latitude_deg", true);
      s.CheckRange("latitude_deg", site.latitude_deg, -90, 90);
      site.longitude_deg = s.Number("longitude_deg", true);
      s.CheckRange("longitude_deg", site.longitude_deg, -180, 180);
      site.radius_km = s.Number("radius_km", true);
      s.CheckRange("radius_km", site.radius_km, 0, 20000);
      if (!s.ok()) return s.status();
      l.allowed_sites.push_back(site);
    }
  }
  l.allowed_countries = r.StringList("allowed_countries", false);
  for (size_t i = 0; i < l.allowed_countries.size() && r.ok(); ++i) {
    if (!IsCountryCode(l.allowed_countries[i])) {
      r.Fail(absl::StrCat("allowed_countries[", i, "]"),
             "must be an ISO 3166-1 alpha-2 code such as \"SG\"");
    }
  }
  l.prohibited_regions = r.StringList("prohibited_regions", false);
  for (size_t i = 0; i < l.prohibited_regions.size() && r.ok(); ++i) {
    if (l.prohibited_regions[i].empty()) {
      r.Fail(absl::StrCat("prohibited_regions[", i, "]"), "must not be empty");
    }
  }
  if (const Json* caps = r.Array("model_caps", false); caps != nullptr) {
    for (size_t i = 0; i < caps->size() && r.ok(); ++i) {
      FieldReader c((*caps)[i], r.PathOf(absl::StrCat("model_caps[", i, "]")));
      ModelCap cap;
      cap.model = c.String("model", true);
      if (c.ok() && cap.model.empty()) c.Fail("model", "must not be empty");
      cap.max_count = c.Int("max_count", true);
      if (c.ok() && cap.max_count < 0) c.Fail("max_count", "must be >= 0");
      if (!c.ok()) return c.status();
      l.model_caps.push_back(cap);
    }
  }
  l.valid_from = r.Time("valid_from", true);
  l.valid_until = r.Time("valid_until", true);
  if (r.ok() && l.valid_until <= l.valid_from) r.Fail("valid_until", "must be after valid_from");
  const int64_t cadence = r.Int("reporting_cadence_s", false, 86400);
  if (r.ok() && cadence <= 0) r.Fail("reporting_cadence_s", "must be > 0");
  l.reporting_cadence = absl::Seconds(cadence);
  if (!r.ok()) return r.status();
  return l;
}

absl::StatusOr<Shipment> ShipmentFromJson(const Json& body, const std::string& path) {
  FieldReader r(body, path);
  Shipment s;
  s.licence_id = r.Int("licence_id", false, 0);
  if (r.ok() && s.licence_id < 0) r.Fail("licence_id", "must be >= 0");
  s.reference = r.String("reference", true);
  if (r.ok() && s.reference.empty()) r.Fail("reference", "must not be empty");
  s.consignee = r.String("consignee", false);
  s.billed_country = r.String("billed_country", true);
  if (r.ok() && !IsCountryCode(s.billed_country)) {
    r.Fail("billed_country", "must be an ISO 3166-1 alpha-2 code such as \"SG\"");
  }
  s.shipped_at = r.Time("shipped_at", true);
  s.serials = r.StringList("serials", false);
  for (size_t i = 0; i < s.serials.size() && r.ok(); ++i) {
    if (s.serials[i].empty()) r.Fail(absl::StrCat("serials[", i, "]"), "must not be empty");
  }
  if (!r.ok()) return r.status();
  return s;
}

}  // namespace lightcone::server::api
