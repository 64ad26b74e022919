#include "server/store/sql_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <set>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "server/store/schema.h"

namespace lightcone::server::internal {
namespace {

// Length of a landmark's wire id: 16 bytes as lowercase hex.
constexpr size_t kWireIdHexChars = 32;
// Length of a hex SHA-256 digest (token secrets, attestation evidence).
constexpr size_t kSha256HexChars = 64;

// Measurements per multi-row INSERT: one round trip (PostgreSQL) per this many rows.
constexpr int kIngestRowsPerStatement = 100;
constexpr int kMeasurementInsertColumns = 9;
// Verdicts per multi-row INSERT in AppendVerdicts.
constexpr size_t kVerdictRowsPerStatement = 100;

// Resets a statement when the scope ends so that it never holds a transaction open.
class ResetOnExit {
 public:
  explicit ResetOnExit(SqlStatement* statement) : statement_(statement) {}
  ~ResetOnExit() { statement_->Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  SqlStatement* statement_;
};

struct Blob {
  const std::string& bytes;
};
// Empty text stored as NULL (a unique column that may be unset).
struct NullIfEmpty {
  const std::string& text;
};
// A reference that is NULL when 0.
struct OptionalId {
  int64_t id;
};

template <typename T>
std::enable_if_t<std::is_integral_v<T>> BindOne(SqlStatement* s, int index, T value) {
  s->BindInt64(index, static_cast<int64_t>(value));
}
void BindOne(SqlStatement* s, int index, double value) { s->BindDouble(index, value); }
void BindOne(SqlStatement* s, int index, const std::string& value) { s->BindText(index, value); }
void BindOne(SqlStatement* s, int index, Blob value) { s->BindBlob(index, value.bytes); }
void BindOne(SqlStatement* s, int index, NullIfEmpty value) {
  if (value.text.empty()) {
    s->BindNull(index);
  } else {
    s->BindText(index, value.text);
  }
}
void BindOne(SqlStatement* s, int index, OptionalId value) {
  if (value.id == 0) {
    s->BindNull(index);
  } else {
    s->BindInt64(index, value.id);
  }
}

// Binds `args` to parameters first, first + 1, ...; returns the next free index.
template <typename... Args>
int BindFrom(SqlStatement* s, int first, const Args&... args) {
  int index = first;
  (BindOne(s, index++, args), ...);
  return index;
}

int64_t Nanos(absl::Time t) { return absl::ToUnixNanos(t); }
absl::Time FromNanos(int64_t ns) { return absl::FromUnixNanos(ns); }
absl::Time NowIfEpoch(absl::Time t) { return t == absl::UnixEpoch() ? absl::Now() : t; }

int ClampLimit(int limit) {
  if (limit <= 0) return kDefaultPageSize;
  return std::min(limit, kMaxPageSize);
}

absl::Status NotFound(const std::string& what, int64_t id) {
  return absl::NotFoundError(absl::StrCat("store: ", what, " ", id, " not found"));
}

// Adds the operation to a database error's message, keeping its code.
absl::Status Context(const absl::Status& status, const std::string& what) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// Reads rows with `read` into a page of at most `limit` items; the query asked for limit + 1
// rows so that the extra one tells whether a further page exists.
template <typename T, typename ReadFn>
absl::StatusOr<Page<T>> ReadPage(SqlStatement* s, int limit, ReadFn read) {
  Page<T> page;
  while (true) {
    LC_ASSIGN_OR_RETURN(bool row, s->Next());
    if (!row) break;
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_after_id = page.items.back().id;
      break;
    }
    LC_ASSIGN_OR_RETURN(T item, read(s));
    page.items.push_back(std::move(item));
  }
  return page;
}

template <typename T, typename ReadFn>
absl::StatusOr<std::vector<T>> ReadAll(SqlStatement* s, ReadFn read) {
  std::vector<T> items;
  while (true) {
    LC_ASSIGN_OR_RETURN(bool row, s->Next());
    if (!row) break;
    LC_ASSIGN_OR_RETURN(T item, read(s));
    items.push_back(std::move(item));
  }
  return items;
}

absl::StatusOr<AssuranceLevel> ToAssurance(int64_t level) {
  if (level < 0 || level > 3) {
    return absl::InternalError(absl::StrCat("store: assurance level ", level, " out of range"));
  }
  return static_cast<AssuranceLevel>(level);
}

absl::StatusOr<nlohmann::json> ParseJsonColumn(const std::string& text, const char* column) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return absl::InternalError(absl::StrCat("store: column ", column, " holds invalid JSON"));
  }
  return json;
}

absl::Status ValidateJson(const std::string& text, const char* field) {
  if (nlohmann::json::accept(text)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("store: ", field, " is not valid JSON"));
}

absl::Status ValidatePosition(double latitude_deg, double longitude_deg, const char* what) {
  if (latitude_deg < -90 || latitude_deg > 90 || longitude_deg < -180 || longitude_deg > 180) {
    return absl::InvalidArgumentError(absl::StrCat("store: ", what, " position (",
                                                   latitude_deg, ", ", longitude_deg,
                                                   ") out of range"));
  }
  return absl::OkStatus();
}

// ---- Organizations.
constexpr char kOrganizationColumns[] = "id, name, created_at_ns";
absl::StatusOr<Organization> ReadOrganization(SqlStatement* s) {
  Organization org;
  org.id = s->ColumnInt64(0);
  org.name = s->ColumnText(1);
  org.created_at = FromNanos(s->ColumnInt64(2));
  return org;
}

// ---- Landmarks.
constexpr char kLandmarkColumns[] =
    "id, name, latitude_deg, longitude_deg, public_key, status, created_at_ns, wire_id, country, "
    "status_reason";
absl::StatusOr<Landmark> ReadLandmark(SqlStatement* s) {
  Landmark landmark;
  landmark.id = s->ColumnInt64(0);
  landmark.name = s->ColumnText(1);
  landmark.latitude_deg = s->ColumnDouble(2);
  landmark.longitude_deg = s->ColumnDouble(3);
  landmark.public_key = s->ColumnBlob(4);
  LC_ASSIGN_OR_RETURN(landmark.status, ParseLandmarkStatus(s->ColumnText(5)));
  landmark.created_at = FromNanos(s->ColumnInt64(6));
  landmark.wire_id = s->ColumnText(7);
  landmark.country = s->ColumnText(8);
  landmark.status_reason = s->ColumnText(9);
  return landmark;
}
bool IsLowerHex(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
absl::Status ValidateLandmark(const Landmark& landmark) {
  if (landmark.name.empty()) return absl::InvalidArgumentError("store: landmark name is empty");
  LC_RETURN_IF_ERROR(ValidatePosition(landmark.latitude_deg, landmark.longitude_deg, "landmark"));
  if (!landmark.wire_id.empty() &&
      (landmark.wire_id.size() != kWireIdHexChars || !IsLowerHex(landmark.wire_id))) {
    return absl::InvalidArgumentError(absl::StrCat("store: landmark ", landmark.name, " wire_id \"",
                                                   landmark.wire_id, "\" is not ",
                                                   kWireIdHexChars, " lowercase hex chars"));
  }
  return absl::OkStatus();
}

// ---- Hosts.
constexpr char kHostColumns[] =
    "id, organization_id, hostname, first_seen_ns, last_seen_ns, site_id, probe_address, "
    "agent_version";
absl::StatusOr<Host> ReadHost(SqlStatement* s) {
  Host host;
  host.id = s->ColumnInt64(0);
  host.organization_id = s->ColumnInt64(1);
  host.hostname = s->ColumnText(2);
  host.first_seen = FromNanos(s->ColumnInt64(3));
  host.last_seen = FromNanos(s->ColumnInt64(4));
  host.site_id = s->ColumnInt64(5);
  host.probe_address = s->ColumnText(6);
  host.agent_version = s->ColumnText(7);
  return host;
}

// ---- Devices.
constexpr char kDeviceColumns[] =
    "id, organization_id, host_id, licence_id, uuid, serial, ueid, model, key_public_key, "
    "key_id, assurance_level, first_seen_ns, last_seen_ns, architecture, vbios, pci_bus_id, "
    "key_bound_at_ns, key_evidence_sha256, prev_key_public_key, prev_key_id, "
    "prev_key_bound_at_ns, prev_key_superseded_at_ns";
absl::StatusOr<Device> ReadDevice(SqlStatement* s) {
  Device device;
  device.id = s->ColumnInt64(0);
  device.organization_id = s->ColumnInt64(1);
  device.host_id = s->ColumnInt64(2);
  device.licence_id = s->ColumnInt64(3);
  device.uuid = s->ColumnText(4);
  device.serial = s->ColumnText(5);
  device.ueid = s->ColumnText(6);
  device.model = s->ColumnText(7);
  device.key.public_key = s->ColumnBlob(8);
  device.key.key_id = s->ColumnText(9);
  LC_ASSIGN_OR_RETURN(device.key.assurance, ToAssurance(s->ColumnInt64(10)));
  device.first_seen = FromNanos(s->ColumnInt64(11));
  device.last_seen = FromNanos(s->ColumnInt64(12));
  device.architecture = s->ColumnText(13);
  device.vbios = s->ColumnText(14);
  device.pci_bus_id = s->ColumnText(15);
  device.key.bound_at = FromNanos(s->ColumnInt64(16));
  device.key.evidence_sha256 = s->ColumnText(17);
  device.previous_key.public_key = s->ColumnBlob(18);
  device.previous_key.key_id = s->ColumnText(19);
  device.previous_key.bound_at = FromNanos(s->ColumnInt64(20));
  device.previous_key.superseded_at = FromNanos(s->ColumnInt64(21));
  return device;
}
absl::Status ValidateDevice(const Device& device) {
  if (device.uuid.empty()) return absl::InvalidArgumentError("store: device uuid is empty");
  const int level = static_cast<int>(device.key.assurance);
  if (level < 0 || level > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("store: device ", device.uuid, " assurance level ", level, " not in L0-L3"));
  }
  return absl::OkStatus();
}

// ---- Licences.
constexpr char kLicenceColumns[] =
    "id, organization_id, reference, holder, end_user, allowed_sites_json, "
    "allowed_countries_json, prohibited_regions_json, model_caps_json, valid_from_ns, "
    "valid_until_ns, reporting_cadence_s";
struct LicenceJson {
  std::string sites;
  std::string countries;
  std::string regions;
  std::string caps;
};
LicenceJson EncodeLicenceLists(const Licence& licence) {
  nlohmann::json sites = nlohmann::json::array();
  for (const AllowedSite& site : licence.allowed_sites) {
    sites.push_back({{"name", site.name},
                     {"latitude_deg", site.latitude_deg},
                     {"longitude_deg", site.longitude_deg},
                     {"radius_km", site.radius_km}});
  }
  nlohmann::json caps = nlohmann::json::array();
  for (const ModelCap& cap : licence.model_caps) {
    caps.push_back({{"model", cap.model}, {"max_count", cap.max_count}});
  }
  return {sites.dump(), nlohmann::json(licence.allowed_countries).dump(),
          nlohmann::json(licence.prohibited_regions).dump(), caps.dump()};
}
absl::StatusOr<Licence> ReadLicence(SqlStatement* s) {
  Licence licence;
  licence.id = s->ColumnInt64(0);
  licence.organization_id = s->ColumnInt64(1);
  licence.reference = s->ColumnText(2);
  licence.holder = s->ColumnText(3);
  licence.end_user = s->ColumnText(4);
  LC_ASSIGN_OR_RETURN(nlohmann::json sites, ParseJsonColumn(s->ColumnText(5), "allowed_sites"));
  LC_ASSIGN_OR_RETURN(nlohmann::json countries,
                      ParseJsonColumn(s->ColumnText(6), "allowed_countries"));
  LC_ASSIGN_OR_RETURN(nlohmann::json regions,
                      ParseJsonColumn(s->ColumnText(7), "prohibited_regions"));
  LC_ASSIGN_OR_RETURN(nlohmann::json caps, ParseJsonColumn(s->ColumnText(8), "model_caps"));
  try {
    for (const auto& site : sites) {
      licence.allowed_sites.push_back({site.at("name").get<std::string>(),
                                       site.at("latitude_deg").get<double>(),
                                       site.at("longitude_deg").get<double>(),
                                       site.at("radius_km").get<double>()});
    }
    licence.allowed_countries = countries.get<std::vector<std::string>>();
    licence.prohibited_regions = regions.get<std::vector<std::string>>();
    for (const auto& cap : caps) {
      licence.model_caps.push_back(
          {cap.at("model").get<std::string>(), cap.at("max_count").get<int64_t>()});
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(
        absl::StrCat("store: licence ", licence.id, " has malformed lists: ", e.what()));
  }
  licence.valid_from = FromNanos(s->ColumnInt64(9));
  licence.valid_until = FromNanos(s->ColumnInt64(10));
  licence.reporting_cadence = absl::Seconds(s->ColumnInt64(11));
  return licence;
}
absl::Status ValidateLicence(const Licence& licence) {
  if (licence.reference.empty()) {
    return absl::InvalidArgumentError("store: licence reference is empty");
  }
  if (licence.valid_until < licence.valid_from) {
    return absl::InvalidArgumentError(
        absl::StrCat("store: licence ", licence.reference, " ends before it starts"));
  }
  if (licence.reporting_cadence <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("store: licence ", licence.reference, " reporting cadence must be > 0"));
  }
  for (const AllowedSite& site : licence.allowed_sites) {
    LC_RETURN_IF_ERROR(ValidatePosition(site.latitude_deg, site.longitude_deg, "allowed site"));
    if (site.radius_km <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("store: allowed site ", site.name, " radius_km must be > 0"));
    }
  }
  for (const ModelCap& cap : licence.model_caps) {
    if (cap.max_count < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("store: model cap for ", cap.model, " is negative"));
    }
  }
  return absl::OkStatus();
}

// ---- Measurements.
constexpr char kMeasurementColumns[] =
    "id, device_id, landmark_id, time_ns, rtt_ns, nonce, sequence, key_id, reply_signature, "
    "batch_id";
absl::StatusOr<Measurement> ReadMeasurement(SqlStatement* s) {
  Measurement m;
  m.id = s->ColumnInt64(0);
  m.device_id = s->ColumnInt64(1);
  m.landmark_id = s->ColumnInt64(2);
  m.time = FromNanos(s->ColumnInt64(3));
  m.rtt_ns = s->ColumnInt64(4);
  m.nonce = s->ColumnBlob(5);
  m.sequence = s->ColumnInt64(6);
  m.key_id = s->ColumnText(7);
  m.reply_signature = s->ColumnBlob(8);
  m.batch_id = s->ColumnInt64(9);
  return m;
}

void AppendField(std::string& out, int64_t value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}
void AppendField(std::string& out, const std::string& value) {
  AppendField(out, static_cast<int64_t>(value.size()));
  out.append(value);
}

// SHA-256 over an unambiguous encoding of the batch's measurements.
std::string BatchContentHash(const MeasurementBatch& batch) {
  std::string encoded;
  encoded.reserve(batch.measurements.size() * 160);
  for (const Measurement& m : batch.measurements) {
    AppendField(encoded, m.device_id);
    AppendField(encoded, Nanos(m.time));
    AppendField(encoded, m.rtt_ns);
    AppendField(encoded, m.nonce);
    AppendField(encoded, m.sequence);
    AppendField(encoded, m.key_id);
    AppendField(encoded, m.reply_signature);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  EVP_Digest(encoded.data(), encoded.size(), digest, &digest_size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), digest_size);
}

std::string MeasurementInsertSql(int rows) {
  std::vector<std::string> values(rows, "(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  return absl::StrCat(
      "INSERT INTO measurements (device_id, landmark_id, time_ns, rtt_ns, nonce, sequence, "
      "key_id, reply_signature, batch_id) VALUES ",
      absl::StrJoin(values, ", "),
      " ON CONFLICT (landmark_id, device_id, sequence) DO NOTHING RETURNING id");
}

// ---- Verdicts.
constexpr char kVerdictColumns[] =
    "id, device_id, time_ns, status, reason, region_summary_json, estimate_latitude_deg, "
    "estimate_longitude_deg, estimate_radius_km, robustness_f, assurance_level, licence_id";
absl::StatusOr<Verdict> ReadVerdict(SqlStatement* s) {
  Verdict v;
  v.id = s->ColumnInt64(0);
  v.device_id = s->ColumnInt64(1);
  v.time = FromNanos(s->ColumnInt64(2));
  LC_ASSIGN_OR_RETURN(v.status, ParseVerdictStatus(s->ColumnText(3)));
  v.reason = s->ColumnText(4);
  v.region_summary_json = s->ColumnText(5);
  v.estimate_latitude_deg = s->ColumnDouble(6);
  v.estimate_longitude_deg = s->ColumnDouble(7);
  v.estimate_radius_km = s->ColumnDouble(8);
  v.robustness_f = static_cast<int>(s->ColumnInt64(9));
  LC_ASSIGN_OR_RETURN(v.assurance, ToAssurance(s->ColumnInt64(10)));
  v.licence_id = s->ColumnInt64(11);
  return v;
}

// ---- Alerts.
constexpr char kAlertColumns[] =
    "id, organization_id, device_id, type, severity, subject, evidence_json, state, "
    "acknowledged_by, acknowledge_comment, created_at_ns, acknowledged_at_ns";
absl::StatusOr<Alert> ReadAlert(SqlStatement* s) {
  Alert a;
  a.id = s->ColumnInt64(0);
  a.organization_id = s->ColumnInt64(1);
  a.device_id = s->ColumnInt64(2);
  a.type = s->ColumnText(3);
  LC_ASSIGN_OR_RETURN(a.severity, ParseAlertSeverity(s->ColumnText(4)));
  a.subject = s->ColumnText(5);
  a.evidence_json = s->ColumnText(6);
  LC_ASSIGN_OR_RETURN(a.state, ParseAlertState(s->ColumnText(7)));
  a.acknowledged_by = s->ColumnText(8);
  a.acknowledge_comment = s->ColumnText(9);
  a.created_at = FromNanos(s->ColumnInt64(10));
  a.acknowledged_at = FromNanos(s->ColumnInt64(11));
  return a;
}

// The same columns as kVerdictColumns, of the verdicts table aliased `v`.
constexpr char kVerdictColumnsOfV[] =
    "v.id, v.device_id, v.time_ns, v.status, v.reason, v.region_summary_json, "
    "v.estimate_latitude_deg, v.estimate_longitude_deg, v.estimate_radius_km, v.robustness_f, "
    "v.assurance_level, v.licence_id";

// ---- Sites.
constexpr char kSiteColumns[] =
    "id, organization_id, name, latitude_deg, longitude_deg, radius_km, country";
absl::StatusOr<Site> ReadSite(SqlStatement* s) {
  Site site;
  site.id = s->ColumnInt64(0);
  site.organization_id = s->ColumnInt64(1);
  site.name = s->ColumnText(2);
  site.latitude_deg = s->ColumnDouble(3);
  site.longitude_deg = s->ColumnDouble(4);
  site.radius_km = s->ColumnDouble(5);
  site.country = s->ColumnText(6);
  return site;
}
absl::Status ValidateSite(const Site& site) {
  if (site.name.empty()) return absl::InvalidArgumentError("store: site name is empty");
  LC_RETURN_IF_ERROR(ValidatePosition(site.latitude_deg, site.longitude_deg, "site"));
  if (!(site.radius_km > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("store: site ", site.name, " radius_km must be > 0"));
  }
  return absl::OkStatus();
}

// ---- Shipments.
constexpr char kShipmentColumns[] =
    "id, organization_id, licence_id, reference, consignee, billed_country, shipped_at_ns, "
    "serials_json";
absl::StatusOr<Shipment> ReadShipment(SqlStatement* s) {
  Shipment shipment;
  shipment.id = s->ColumnInt64(0);
  shipment.organization_id = s->ColumnInt64(1);
  shipment.licence_id = s->ColumnInt64(2);
  shipment.reference = s->ColumnText(3);
  shipment.consignee = s->ColumnText(4);
  shipment.billed_country = s->ColumnText(5);
  shipment.shipped_at = FromNanos(s->ColumnInt64(6));
  LC_ASSIGN_OR_RETURN(nlohmann::json serials, ParseJsonColumn(s->ColumnText(7), "serials"));
  try {
    shipment.serials = serials.get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(
        absl::StrCat("store: shipment ", shipment.id, " has malformed serials: ", e.what()));
  }
  return shipment;
}
absl::Status ValidateShipment(const Shipment& shipment) {
  if (shipment.reference.empty()) {
    return absl::InvalidArgumentError("store: shipment reference is empty");
  }
  return absl::OkStatus();
}

// ---- API tokens.
constexpr char kTokenColumns[] =
    "id, name, role, organization_id, landmark_id, secret_sha256, created_at_ns, revoked";
absl::StatusOr<ApiToken> ReadToken(SqlStatement* s) {
  ApiToken token;
  token.id = s->ColumnInt64(0);
  token.name = s->ColumnText(1);
  LC_ASSIGN_OR_RETURN(token.role, ParseRole(s->ColumnText(2)));
  token.organization_id = s->ColumnInt64(3);
  token.landmark_id = s->ColumnInt64(4);
  token.secret_sha256 = s->ColumnText(5);
  token.created_at = FromNanos(s->ColumnInt64(6));
  token.revoked = s->ColumnInt64(7) != 0;
  return token;
}
absl::Status ValidateToken(const ApiToken& token) {
  if (token.name.empty()) return absl::InvalidArgumentError("store: token name is empty");
  if (token.secret_sha256.size() != kSha256HexChars || !IsLowerHex(token.secret_sha256)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store: token ", token.name, " secret_sha256 is not ", kSha256HexChars,
        " lowercase hex chars"));
  }
  if ((token.role == Role::kAgent || token.role == Role::kOperator) &&
      token.organization_id == 0) {
    return absl::InvalidArgumentError(absl::StrCat("store: token ", token.name, " has role ",
                                                   RoleName(token.role),
                                                   " but no organization_id"));
  }
  if (token.role == Role::kLandmark && token.landmark_id == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("store: token ", token.name, " has role landmark but no landmark_id"));
  }
  return absl::OkStatus();
}

// ---- Topology snapshots.
constexpr char kTopologyColumns[] = "id, device_id, time_ns, peer_uuids_json";
absl::StatusOr<TopologySnapshot> ReadTopology(SqlStatement* s) {
  TopologySnapshot snapshot;
  snapshot.id = s->ColumnInt64(0);
  snapshot.device_id = s->ColumnInt64(1);
  snapshot.time = FromNanos(s->ColumnInt64(2));
  LC_ASSIGN_OR_RETURN(nlohmann::json peers, ParseJsonColumn(s->ColumnText(3), "peer_uuids"));
  try {
    snapshot.peer_uuids = peers.get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(absl::StrCat("store: topology snapshot ", snapshot.id,
                                            " has malformed peers: ", e.what()));
  }
  return snapshot;
}

// ---- Device events.
constexpr char kDeviceEventColumns[] =
    "id, device_id, time_ns, kind, host_id, organization_id, details_json";
absl::StatusOr<DeviceEvent> ReadDeviceEvent(SqlStatement* s) {
  DeviceEvent event;
  event.id = s->ColumnInt64(0);
  event.device_id = s->ColumnInt64(1);
  event.time = FromNanos(s->ColumnInt64(2));
  event.kind = s->ColumnText(3);
  event.host_id = s->ColumnInt64(4);
  event.organization_id = s->ColumnInt64(5);
  event.details_json = s->ColumnText(6);
  return event;
}

// ---- Telemetry.
constexpr char kTelemetryColumns[] =
    "device_id, time_ns, temperature_c, power_w, utilization_pct, ecc_uncorrected, xid_count, "
    "last_xid";
absl::StatusOr<Telemetry> ReadTelemetry(SqlStatement* s) {
  Telemetry t;
  t.device_id = s->ColumnInt64(0);
  t.time = FromNanos(s->ColumnInt64(1));
  t.temperature_c = s->ColumnDouble(2);
  t.power_w = s->ColumnDouble(3);
  t.utilization_pct = s->ColumnDouble(4);
  t.ecc_uncorrected = s->ColumnInt64(5);
  t.xid_count = s->ColumnInt64(6);
  t.last_xid = s->ColumnInt64(7);
  return t;
}

// Binds a telemetry report to parameters 1-8 in kTelemetryColumns order.
void BindTelemetry(SqlStatement* s, const Telemetry& t) {
  BindFrom(s, 1, t.device_id, Nanos(t.time), t.temperature_c, t.power_w, t.utilization_pct,
           t.ecc_uncorrected, t.xid_count, t.last_xid);
}

// Fetches the single row of a by-id SELECT, or NotFound.
template <typename T, typename ReadFn>
absl::StatusOr<T> ReadOne(SqlStatement* s, ReadFn read, const std::string& what, int64_t id) {
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return NotFound(what, id);
  return read(s);
}

// Expects the `RETURNING id` row of an INSERT.
absl::StatusOr<int64_t> ReturnedId(SqlStatement* s) {
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return absl::InternalError("store: INSERT returned no id");
  return s->ColumnInt64(0);
}

}  // namespace

std::string MinRttsSql(SqlDialect dialect, bool one_device) {
  if (one_device) {
    // measurements_by_device gives the device's rows; a small sort groups them by landmark.
    return "SELECT device_id, landmark_id, MIN(rtt_ns), COUNT(*), MAX(time_ns) "
           "FROM measurements WHERE time_ns >= ? AND device_id = ? "
           "GROUP BY device_id, landmark_id ORDER BY device_id, landmark_id";
  }
  // A range scan of the covering index measurements_by_time (time_ns, device_id, landmark_id,
  // rtt_ns) over the window only, then one sort by (device, landmark) for the grouping. On
  // SQLite the unary `+` keeps the planner from scanning the whole (landmark, device,
  // sequence) unique index to avoid that sort, which reads every row ever stored.
  const char* plus = dialect == SqlDialect::kSqlite ? "+" : "";
  return absl::StrCat(
      "SELECT device_id, landmark_id, MIN(rtt_ns), COUNT(*), MAX(time_ns) FROM measurements "
      "WHERE time_ns >= ? GROUP BY ", plus, "device_id, ", plus, "landmark_id ORDER BY ", plus,
      "device_id, ", plus, "landmark_id");
}

absl::StatusOr<std::unique_ptr<Store>> SqlStore::Open(std::unique_ptr<SqlDatabase> db,
                                                       std::unique_ptr<SqlDatabase> reader) {
  LC_RETURN_IF_ERROR(Context(RunMigrations(*db), "store: migrating schema"));
  return std::unique_ptr<Store>(new SqlStore(std::move(db), std::move(reader)));
}

template <typename Fn>
auto SqlStore::OnReader(Fn read) -> decltype(read(std::declval<SqlDatabase&>())) {
  {
    absl::MutexLock lock(&reader_mu_);
    if (reader_ != nullptr) return read(*reader_);
  }
  absl::MutexLock lock(&mu_);
  return read(*db_);
}

absl::Status SqlStore::Commit() { return db_->ExecScript("COMMIT"); }

absl::StatusOr<int> SqlStore::SchemaVersion() {
  absl::MutexLock lock(&mu_);
  return CurrentSchemaVersion(*db_);
}

// ---------------------------------------------------------------- Organizations

absl::StatusOr<Organization> SqlStore::CreateOrganization(const Organization& org) {
  if (org.name.empty()) return absl::InvalidArgumentError("store: organization name is empty");
  Organization stored = org;
  stored.created_at = NowIfEpoch(org.created_at);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO organizations (name, created_at_ns) VALUES (?, ?) RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, stored.name, Nanos(stored.created_at));
  auto id = ReturnedId(s);
  if (!id.ok()) return Context(id.status(), "store: creating organization " + org.name);
  stored.id = *id;
  return stored;
}

absl::StatusOr<Organization> SqlStore::GetOrganization(int64_t id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("SELECT ", kOrganizationColumns,
                                                " FROM organizations WHERE id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  return ReadOne<Organization>(s, ReadOrganization, "organization", id);
}

absl::StatusOr<std::vector<Organization>> SqlStore::ListOrganizations() {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("SELECT ", kOrganizationColumns,
                                                " FROM organizations ORDER BY id")));
  ResetOnExit reset(s);
  return ReadAll<Organization>(s, ReadOrganization);
}

// ---------------------------------------------------------------- Landmarks

absl::StatusOr<Landmark> SqlStore::CreateLandmark(const Landmark& landmark) {
  LC_RETURN_IF_ERROR(ValidateLandmark(landmark));
  Landmark stored = landmark;
  stored.created_at = NowIfEpoch(landmark.created_at);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO landmarks (name, latitude_deg, longitude_deg, public_key, status, "
                   "created_at_ns, wire_id, country, status_reason) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, stored.name, stored.latitude_deg, stored.longitude_deg, Blob{stored.public_key},
           LandmarkStatusName(stored.status), Nanos(stored.created_at),
           NullIfEmpty{stored.wire_id}, stored.country, stored.status_reason);
  auto id = ReturnedId(s);
  if (!id.ok()) return Context(id.status(), "store: creating landmark " + landmark.name);
  stored.id = *id;
  return stored;
}

absl::StatusOr<Landmark> SqlStore::GetLandmark(int64_t id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kLandmarkColumns,
                                            " FROM landmarks WHERE id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  return ReadOne<Landmark>(s, ReadLandmark, "landmark", id);
}

absl::StatusOr<std::vector<Landmark>> SqlStore::ListLandmarks() {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kLandmarkColumns,
                                            " FROM landmarks ORDER BY id")));
  ResetOnExit reset(s);
  return ReadAll<Landmark>(s, ReadLandmark);
}

absl::StatusOr<std::vector<LandmarkBatchTime>> SqlStore::LatestBatchTimes() {
  LC_ASSIGN_OR_RETURN(std::vector<Landmark> landmarks, ListLandmarks());
  // A landmark's batch sequence only grows: its newest batch is the last entry of the
  // (landmark_id, batch_sequence) unique index — one index probe per landmark, not a scan of
  // every batch ever stored. On the reader connection, off the writers' lock.
  return OnReader([&](SqlDatabase& db) -> absl::StatusOr<std::vector<LandmarkBatchTime>> {
    LC_ASSIGN_OR_RETURN(
        SqlStatement * s,
        db.Prepare("SELECT received_at_ns FROM measurement_batches "
                   "WHERE landmark_id = ? ORDER BY batch_sequence DESC LIMIT 1"));
    std::vector<LandmarkBatchTime> out;
    for (const Landmark& l : landmarks) {
      ResetOnExit reset(s);
      BindFrom(s, 1, l.id);
      LC_ASSIGN_OR_RETURN(bool row, s->Next());
      if (row) out.push_back({l.id, FromNanos(s->ColumnInt64(0))});
    }
    return out;
  });
}

absl::Status SqlStore::SetLandmarkStatus(int64_t id, LandmarkStatus status) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare("UPDATE landmarks SET status = ? WHERE id = ? RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, LandmarkStatusName(status), id);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return NotFound("landmark", id);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Hosts

absl::StatusOr<Host> SqlStore::CreateHost(const Host& host) {
  if (host.hostname.empty()) return absl::InvalidArgumentError("store: hostname is empty");
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO hosts (organization_id, hostname, first_seen_ns, last_seen_ns, "
                   "site_id, probe_address, agent_version) VALUES (?, ?, ?, ?, ?, ?, ?) "
                   "RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, host.organization_id, host.hostname, Nanos(host.first_seen),
           Nanos(host.last_seen), OptionalId{host.site_id}, host.probe_address,
           host.agent_version);
  auto id = ReturnedId(s);
  if (!id.ok()) return Context(id.status(), "store: creating host " + host.hostname);
  Host stored = host;
  stored.id = *id;
  return stored;
}

absl::StatusOr<Host> SqlStore::GetHost(int64_t id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kHostColumns, " FROM hosts WHERE id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  return ReadOne<Host>(s, ReadHost, "host", id);
}

// ---------------------------------------------------------------- Devices

absl::StatusOr<Device> SqlStore::CreateDevice(const Device& device) {
  LC_RETURN_IF_ERROR(ValidateDevice(device));
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO devices (organization_id, host_id, licence_id, uuid, serial, ueid, "
                   "model, key_public_key, key_id, assurance_level, first_seen_ns, last_seen_ns, "
                   "architecture, vbios, pci_bus_id, key_bound_at_ns, key_evidence_sha256, "
                   "prev_key_public_key, prev_key_id, prev_key_bound_at_ns, "
                   "prev_key_superseded_at_ns) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, device.organization_id, OptionalId{device.host_id},
           OptionalId{device.licence_id}, device.uuid, device.serial, device.ueid, device.model,
           Blob{device.key.public_key}, device.key.key_id,
           static_cast<int64_t>(device.key.assurance), Nanos(device.first_seen),
           Nanos(device.last_seen), device.architecture, device.vbios, device.pci_bus_id,
           Nanos(device.key.bound_at), device.key.evidence_sha256,
           Blob{device.previous_key.public_key}, device.previous_key.key_id,
           Nanos(device.previous_key.bound_at), Nanos(device.previous_key.superseded_at));
  auto id = ReturnedId(s);
  if (!id.ok()) return Context(id.status(), "store: creating device " + device.uuid);
  Device stored = device;
  stored.id = *id;
  return stored;
}

absl::StatusOr<Device> SqlStore::GetDevice(int64_t id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kDeviceColumns,
                                            " FROM devices WHERE id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  return ReadOne<Device>(s, ReadDevice, "device", id);
}

absl::StatusOr<Device> SqlStore::GetDeviceByUuid(const std::string& uuid) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kDeviceColumns,
                                            " FROM devices WHERE uuid = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, uuid);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return absl::NotFoundError(absl::StrCat("store: device with uuid ", uuid, " not found"));
  return ReadDevice(s);
}

namespace {

// SET clauses that install key binding `?` (bound in the order of BindKeyColumns) and move the
// replaced binding, if the key id changes, to the prev_key_* columns. SET expressions see the
// row as it was before the update, so both happen in one statement.
constexpr char kReplaced[] = "CASE WHEN key_id <> '' AND key_id <> ? THEN ";
std::string KeyBindingSetClauses() {
  return absl::StrCat(
      "prev_key_public_key = ", kReplaced, "key_public_key ELSE prev_key_public_key END, ",
      "prev_key_id = ", kReplaced, "key_id ELSE prev_key_id END, ",
      "prev_key_bound_at_ns = ", kReplaced, "key_bound_at_ns ELSE prev_key_bound_at_ns END, ",
      "prev_key_superseded_at_ns = ", kReplaced, "? ELSE prev_key_superseded_at_ns END, ",
      "key_public_key = ?, key_id = ?, assurance_level = ?, key_bound_at_ns = ?, "
      "key_evidence_sha256 = ?");
}
// Binds the parameters of KeyBindingSetClauses() from `index`; returns the next index.
int BindKeyColumns(SqlStatement* s, int index, const KeyBinding& key) {
  const absl::Time superseded_at = key.bound_at == absl::UnixEpoch() ? absl::Now() : key.bound_at;
  return BindFrom(s, index, key.key_id, key.key_id, key.key_id, key.key_id, Nanos(superseded_at),
                  Blob{key.public_key}, key.key_id, static_cast<int64_t>(key.assurance),
                  Nanos(key.bound_at), key.evidence_sha256);
}

}  // namespace

absl::Status SqlStore::UpdateDevice(const Device& device) {
  LC_RETURN_IF_ERROR(ValidateDevice(device));
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare(absl::StrCat(
          "UPDATE devices SET ", KeyBindingSetClauses(),
          ", organization_id = ?, host_id = ?, licence_id = ?, uuid = ?, serial = ?, ueid = ?, "
          "model = ?, last_seen_ns = ?, architecture = ?, vbios = ?, pci_bus_id = ? "
          "WHERE id = ? RETURNING id")));
  ResetOnExit reset(s);
  const int next = BindKeyColumns(s, 1, device.key);
  BindFrom(s, next, device.organization_id, OptionalId{device.host_id},
           OptionalId{device.licence_id}, device.uuid, device.serial, device.ueid, device.model,
           Nanos(device.last_seen), device.architecture, device.vbios, device.pci_bus_id,
           device.id);
  auto row = s->Next();
  if (!row.ok()) {
    return Context(row.status(), absl::StrCat("store: updating device ", device.id));
  }
  if (!*row) return NotFound("device", device.id);
  return absl::OkStatus();
}

absl::Status SqlStore::UpdateDevicePlacement(const DevicePlacement& placement) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("UPDATE devices SET "
                   "licence_id = CASE WHEN organization_id = ? THEN licence_id ELSE NULL END, "
                   "organization_id = ?, host_id = ?, serial = ?, "
                   "ueid = CASE WHEN ? = '' OR assurance_level >= 1 THEN ueid ELSE ? END, "
                   "model = ?, architecture = ?, vbios = ?, pci_bus_id = ?, last_seen_ns = ? "
                   "WHERE id = ? RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, placement.organization_id, placement.organization_id,
           OptionalId{placement.host_id}, placement.serial, placement.ueid, placement.ueid,
           placement.model, placement.architecture, placement.vbios, placement.pci_bus_id,
           Nanos(placement.last_seen), placement.device_id);
  auto row = s->Next();
  if (!row.ok()) {
    return Context(row.status(),
                   absl::StrCat("store: updating the placement of device ", placement.device_id));
  }
  if (!*row) return NotFound("device", placement.device_id);
  return absl::OkStatus();
}

absl::Status SqlStore::BindDeviceKey(int64_t device_id, int64_t organization_id,
                                     const KeyBinding& key, const std::string& ueid,
                                     absl::Time last_seen) {
  const int level = static_cast<int>(key.assurance);
  if (level < 0 || level > 3) {
    return absl::InvalidArgumentError(absl::StrCat("store: device ", device_id,
                                                   " assurance level ", level, " not in L0-L3"));
  }
  if (key.public_key.empty() || key.key_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store: binding a key to device ", device_id, ": empty public key or key id"));
  }
  {
    absl::MutexLock lock(&mu_);
    LC_ASSIGN_OR_RETURN(
        SqlStatement * s,
        db_->Prepare(absl::StrCat("UPDATE devices SET ", KeyBindingSetClauses(),
                                  ", ueid = CASE WHEN ? = '' THEN ueid ELSE ? END, "
                                  "last_seen_ns = ? WHERE id = ? AND organization_id = ? "
                                  "RETURNING id")));
    ResetOnExit reset(s);
    const int next = BindKeyColumns(s, 1, key);
    BindFrom(s, next, ueid, ueid, Nanos(last_seen), device_id, organization_id);
    auto row = s->Next();
    if (!row.ok()) {
      return Context(row.status(), absl::StrCat("store: binding a key to device ", device_id));
    }
    if (*row) return absl::OkStatus();
  }
  return WhyDeviceNotInOrganization(device_id, organization_id);
}

absl::Status SqlStore::WhyDeviceNotInOrganization(int64_t device_id, int64_t organization_id) {
  absl::StatusOr<Device> device = GetDevice(device_id);
  if (!device.ok()) return device.status();
  if (device->organization_id != organization_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("store: device ", device_id, " is no longer in organization ",
                     organization_id, " (now in ", device->organization_id, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Page<Device>> SqlStore::ListDevices(const DeviceFilter& filter) {
  std::string sql = absl::StrCat("SELECT ", kDeviceColumns, " FROM devices WHERE id > ?");
  if (filter.organization_id) absl::StrAppend(&sql, " AND organization_id = ?");
  if (filter.licence_id) absl::StrAppend(&sql, " AND licence_id = ?");
  if (filter.host_id) absl::StrAppend(&sql, " AND host_id = ?");
  if (filter.serial) absl::StrAppend(&sql, " AND serial = ?");
  if (filter.ueid) absl::StrAppend(&sql, " AND ueid = ?");
  if (filter.model) absl::StrAppend(&sql, " AND model = ?");
  absl::StrAppend(&sql, " ORDER BY id LIMIT ?");
  const int limit = ClampLimit(filter.page.limit);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(sql));
  ResetOnExit reset(s);
  int index = BindFrom(s, 1, filter.page.after_id);
  if (filter.organization_id) index = BindFrom(s, index, *filter.organization_id);
  if (filter.licence_id) index = BindFrom(s, index, *filter.licence_id);
  if (filter.host_id) index = BindFrom(s, index, *filter.host_id);
  if (filter.serial) index = BindFrom(s, index, *filter.serial);
  if (filter.ueid) index = BindFrom(s, index, *filter.ueid);
  if (filter.model) index = BindFrom(s, index, *filter.model);
  BindFrom(s, index, limit + 1);
  return ReadPage<Device>(s, limit, ReadDevice);
}

// ---------------------------------------------------------------- Licences

absl::StatusOr<Licence> SqlStore::CreateLicence(const Licence& licence) {
  LC_RETURN_IF_ERROR(ValidateLicence(licence));
  const LicenceJson lists = EncodeLicenceLists(licence);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO licences (organization_id, reference, holder, end_user, "
                   "allowed_sites_json, allowed_countries_json, prohibited_regions_json, "
                   "model_caps_json, valid_from_ns, valid_until_ns, reporting_cadence_s) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, licence.organization_id, licence.reference, licence.holder, licence.end_user,
           lists.sites, lists.countries, lists.regions, lists.caps, Nanos(licence.valid_from),
           Nanos(licence.valid_until), absl::ToInt64Seconds(licence.reporting_cadence));
  auto id = ReturnedId(s);
  if (!id.ok()) return Context(id.status(), "store: creating licence " + licence.reference);
  Licence stored = licence;
  stored.id = *id;
  return stored;
}

absl::StatusOr<Licence> SqlStore::GetLicence(int64_t id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kLicenceColumns,
                                            " FROM licences WHERE id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  return ReadOne<Licence>(s, ReadLicence, "licence", id);
}

absl::Status SqlStore::UpdateLicence(const Licence& licence) {
  LC_RETURN_IF_ERROR(ValidateLicence(licence));
  const LicenceJson lists = EncodeLicenceLists(licence);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("UPDATE licences SET organization_id = ?, reference = ?, holder = ?, "
                   "end_user = ?, allowed_sites_json = ?, allowed_countries_json = ?, "
                   "prohibited_regions_json = ?, model_caps_json = ?, valid_from_ns = ?, "
                   "valid_until_ns = ?, reporting_cadence_s = ? WHERE id = ? RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, licence.organization_id, licence.reference, licence.holder, licence.end_user,
           lists.sites, lists.countries, lists.regions, lists.caps, Nanos(licence.valid_from),
           Nanos(licence.valid_until), absl::ToInt64Seconds(licence.reporting_cadence),
           licence.id);
  auto row = s->Next();
  if (!row.ok()) {
    return Context(row.status(), absl::StrCat("store: updating licence ", licence.id));
  }
  if (!*row) return NotFound("licence", licence.id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Licence>> SqlStore::ListLicences(
    std::optional<int64_t> organization_id) {
  std::string sql = absl::StrCat("SELECT ", kLicenceColumns, " FROM licences");
  if (organization_id) absl::StrAppend(&sql, " WHERE organization_id = ?");
  absl::StrAppend(&sql, " ORDER BY id");
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(sql));
  ResetOnExit reset(s);
  if (organization_id) BindFrom(s, 1, *organization_id);
  return ReadAll<Licence>(s, ReadLicence);
}

// ---------------------------------------------------------------- Measurements

absl::StatusOr<IngestResult> SqlStore::IngestMeasurements(const MeasurementBatch& batch) {
  const std::string where =
      absl::StrCat("store: batch ", batch.batch_sequence, " of landmark ", batch.landmark_id);
  if (batch.measurements.empty()) {
    return absl::InvalidArgumentError(where + " holds no measurements");
  }
  if (batch.measurements.size() > static_cast<size_t>(kMaxMeasurementsPerBatch)) {
    return absl::InvalidArgumentError(absl::StrCat(where, " holds ", batch.measurements.size(),
                                                   " measurements, more than ",
                                                   kMaxMeasurementsPerBatch));
  }
  for (const Measurement& m : batch.measurements) {
    if (m.rtt_ns < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": measurement ", m.sequence, " has a negative rtt_ns"));
    }
  }
  const std::string hash = BatchContentHash(batch);
  absl::MutexLock lock(&mu_);
  LC_RETURN_IF_ERROR(db_->Begin());
  absl::StatusOr<IngestResult> result = IngestLocked(batch, hash);
  if (!result.ok()) {
    (void)db_->ExecScript("ROLLBACK");
    return Context(result.status(), where);
  }
  LC_RETURN_IF_ERROR(Context(Commit(), where + ": commit"));
  return result;
}

absl::StatusOr<IngestResult> SqlStore::IngestLocked(const MeasurementBatch& batch,
                                                    const std::string& content_hash) {
  IngestResult result;
  {
    LC_ASSIGN_OR_RETURN(
        SqlStatement * s,
        db_->Prepare("SELECT id, content_hash FROM measurement_batches WHERE landmark_id = ? "
                     "AND batch_sequence = ?"));
    ResetOnExit reset(s);
    BindFrom(s, 1, batch.landmark_id, batch.batch_sequence);
    LC_ASSIGN_OR_RETURN(bool row, s->Next());
    if (row) {
      if (s->ColumnBlob(1) != content_hash) {
        return absl::AlreadyExistsError("already stored with different content");
      }
      result.batch_id = s->ColumnInt64(0);
      result.duplicates = static_cast<int64_t>(batch.measurements.size());
      result.batch_already_stored = true;
      return result;
    }
  }
  {
    LC_ASSIGN_OR_RETURN(
        SqlStatement * s,
        db_->Prepare("INSERT INTO measurement_batches (landmark_id, batch_sequence, content_hash, "
                     "measurement_count, received_at_ns) VALUES (?, ?, ?, ?, ?) RETURNING id"));
    ResetOnExit reset(s);
    BindFrom(s, 1, batch.landmark_id, batch.batch_sequence, Blob{content_hash},
             static_cast<int64_t>(batch.measurements.size()), Nanos(absl::Now()));
    LC_ASSIGN_OR_RETURN(result.batch_id, ReturnedId(s));
  }
  const size_t total = batch.measurements.size();
  for (size_t first = 0; first < total; first += kIngestRowsPerStatement) {
    const int rows = static_cast<int>(std::min<size_t>(kIngestRowsPerStatement, total - first));
    LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(MeasurementInsertSql(rows)));
    ResetOnExit reset(s);
    int index = 1;
    for (int r = 0; r < rows; ++r) {
      const Measurement& m = batch.measurements[first + r];
      index = BindFrom(s, index, m.device_id, batch.landmark_id, Nanos(m.time), m.rtt_ns,
                       Blob{m.nonce}, m.sequence, m.key_id, Blob{m.reply_signature},
                       result.batch_id);
    }
    int inserted = 0;
    while (true) {
      LC_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) break;
      ++inserted;
    }
    result.inserted += inserted;
    result.duplicates += rows - inserted;
  }
  static_assert(kIngestRowsPerStatement * kMeasurementInsertColumns < 32766,
                "SQLite's parameter limit");
  return result;
}

absl::StatusOr<Page<Measurement>> SqlStore::ListMeasurements(const MeasurementFilter& filter) {
  std::string sql =
      absl::StrCat("SELECT ", kMeasurementColumns, " FROM measurements WHERE id > ?");
  if (filter.device_id) absl::StrAppend(&sql, " AND device_id = ?");
  if (filter.landmark_id) absl::StrAppend(&sql, " AND landmark_id = ?");
  if (filter.since) absl::StrAppend(&sql, " AND time_ns >= ?");
  if (filter.until) absl::StrAppend(&sql, " AND time_ns < ?");
  absl::StrAppend(&sql, " ORDER BY id LIMIT ?");
  const int limit = ClampLimit(filter.page.limit);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(sql));
  ResetOnExit reset(s);
  int index = BindFrom(s, 1, filter.page.after_id);
  if (filter.device_id) index = BindFrom(s, index, *filter.device_id);
  if (filter.landmark_id) index = BindFrom(s, index, *filter.landmark_id);
  if (filter.since) index = BindFrom(s, index, Nanos(*filter.since));
  if (filter.until) index = BindFrom(s, index, Nanos(*filter.until));
  BindFrom(s, index, limit + 1);
  return ReadPage<Measurement>(s, limit, ReadMeasurement);
}

// ---------------------------------------------------------------- Verdicts

absl::StatusOr<Verdict> SqlStore::AppendVerdict(const Verdict& verdict) {
  LC_RETURN_IF_ERROR(ValidateJson(verdict.region_summary_json, "verdict region summary"));
  absl::MutexLock lock(&mu_);
  LC_RETURN_IF_ERROR(db_->Begin());
  absl::StatusOr<int64_t> id = AppendVerdictLocked(verdict);
  if (!id.ok()) {
    (void)db_->ExecScript("ROLLBACK");
    return Context(id.status(), absl::StrCat("store: verdict for device ", verdict.device_id));
  }
  LC_RETURN_IF_ERROR(Context(Commit(), "store: verdict commit"));
  Verdict stored = verdict;
  stored.id = *id;
  return stored;
}

absl::StatusOr<int64_t> SqlStore::AppendVerdictLocked(const Verdict& verdict) {
  int64_t id = 0;
  {
    LC_ASSIGN_OR_RETURN(
        SqlStatement * s,
        db_->Prepare("INSERT INTO verdicts (device_id, time_ns, status, reason, "
                     "region_summary_json, estimate_latitude_deg, estimate_longitude_deg, "
                     "estimate_radius_km, robustness_f, assurance_level, licence_id) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
    ResetOnExit reset(s);
    BindFrom(s, 1, verdict.device_id, Nanos(verdict.time), VerdictStatusName(verdict.status),
             verdict.reason, verdict.region_summary_json, verdict.estimate_latitude_deg,
             verdict.estimate_longitude_deg, verdict.estimate_radius_km,
             static_cast<int64_t>(verdict.robustness_f),
             static_cast<int64_t>(verdict.assurance), OptionalId{verdict.licence_id});
    LC_ASSIGN_OR_RETURN(id, ReturnedId(s));
  }
  // The device's pointer to its latest verdict (what LatestVerdicts reads); never moves back.
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("UPDATE devices SET latest_verdict_id = ? WHERE id = ? AND "
                   "(latest_verdict_id IS NULL OR latest_verdict_id < ?)"));
  ResetOnExit reset(s);
  BindFrom(s, 1, id, verdict.device_id, id);
  LC_ASSIGN_OR_RETURN(bool unused, s->Next());
  (void)unused;
  return id;
}

absl::StatusOr<Verdict> SqlStore::LatestVerdict(int64_t device_id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("SELECT ", kVerdictColumns,
                                                " FROM verdicts WHERE device_id = ? "
                                                "ORDER BY id DESC LIMIT 1")));
  ResetOnExit reset(s);
  BindFrom(s, 1, device_id);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) {
    return absl::NotFoundError(absl::StrCat("store: device ", device_id, " has no verdict"));
  }
  return ReadVerdict(s);
}

absl::StatusOr<Page<Verdict>> SqlStore::ListVerdicts(int64_t device_id, const PageRequest& page) {
  const int limit = ClampLimit(page.limit);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("SELECT ", kVerdictColumns,
                                                " FROM verdicts WHERE device_id = ? AND id > ? "
                                                "ORDER BY id LIMIT ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, device_id, page.after_id, limit + 1);
  return ReadPage<Verdict>(s, limit, ReadVerdict);
}

// ---------------------------------------------------------------- Alerts

absl::StatusOr<Alert> SqlStore::CreateAlert(const Alert& alert) {
  if (alert.type.empty()) return absl::InvalidArgumentError("store: alert type is empty");
  LC_RETURN_IF_ERROR(ValidateJson(alert.evidence_json, "alert evidence"));
  Alert stored = alert;
  stored.created_at = NowIfEpoch(alert.created_at);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO alerts (organization_id, device_id, type, severity, subject, "
                   "evidence_json, state, acknowledged_by, acknowledge_comment, created_at_ns, "
                   "acknowledged_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, OptionalId{stored.organization_id}, OptionalId{stored.device_id}, stored.type,
           AlertSeverityName(stored.severity), stored.subject, stored.evidence_json,
           AlertStateName(stored.state), stored.acknowledged_by, stored.acknowledge_comment,
           Nanos(stored.created_at), Nanos(stored.acknowledged_at));
  auto id = ReturnedId(s);
  if (!id.ok()) return Context(id.status(), "store: creating alert " + alert.type);
  stored.id = *id;
  return stored;
}

absl::StatusOr<Alert> SqlStore::GetAlert(int64_t id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kAlertColumns, " FROM alerts WHERE id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  return ReadOne<Alert>(s, ReadAlert, "alert", id);
}

absl::StatusOr<Page<Alert>> SqlStore::ListAlerts(const AlertFilter& filter) {
  std::string sql = absl::StrCat("SELECT ", kAlertColumns, " FROM alerts WHERE id > ?");
  if (filter.state) absl::StrAppend(&sql, " AND state = ?");
  if (filter.type) absl::StrAppend(&sql, " AND type = ?");
  if (filter.organization_id) absl::StrAppend(&sql, " AND organization_id = ?");
  if (filter.device_id) absl::StrAppend(&sql, " AND device_id = ?");
  absl::StrAppend(&sql, " ORDER BY id LIMIT ?");
  const int limit = ClampLimit(filter.page.limit);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(sql));
  ResetOnExit reset(s);
  int index = BindFrom(s, 1, filter.page.after_id);
  if (filter.state) index = BindFrom(s, index, AlertStateName(*filter.state));
  if (filter.type) index = BindFrom(s, index, *filter.type);
  if (filter.organization_id) index = BindFrom(s, index, *filter.organization_id);
  if (filter.device_id) index = BindFrom(s, index, *filter.device_id);
  BindFrom(s, index, limit + 1);
  return ReadPage<Alert>(s, limit, ReadAlert);
}

absl::Status SqlStore::AcknowledgeAlert(int64_t id, const std::string& by,
                                        const std::string& comment, absl::Time at) {
  if (by.empty()) return absl::InvalidArgumentError("store: acknowledging user is empty");
  absl::MutexLock lock(&mu_);
  {
    LC_ASSIGN_OR_RETURN(
        SqlStatement * s,
        db_->Prepare("UPDATE alerts SET state = ?, acknowledged_by = ?, acknowledge_comment = ?, "
                     "acknowledged_at_ns = ? WHERE id = ? AND state = ? RETURNING id"));
    ResetOnExit reset(s);
    BindFrom(s, 1, AlertStateName(AlertState::kAcknowledged), by, comment, Nanos(at), id,
             AlertStateName(AlertState::kOpen));
    LC_ASSIGN_OR_RETURN(bool row, s->Next());
    if (row) return absl::OkStatus();
  }
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare("SELECT state FROM alerts WHERE id = ?"));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return NotFound("alert", id);
  return absl::FailedPreconditionError(absl::StrCat("store: alert ", id, " is ",
                                                    s->ColumnText(0), ", not open"));
}

// ---------------------------------------------------------------- Schema v2: landmarks, hosts

absl::Status SqlStore::UpdateLandmark(const Landmark& landmark) {
  LC_RETURN_IF_ERROR(ValidateLandmark(landmark));
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("UPDATE landmarks SET name = ?, latitude_deg = ?, longitude_deg = ?, "
                   "public_key = ?, status = ?, wire_id = ?, country = ?, status_reason = ? "
                   "WHERE id = ? RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, landmark.name, landmark.latitude_deg, landmark.longitude_deg,
           Blob{landmark.public_key}, LandmarkStatusName(landmark.status),
           NullIfEmpty{landmark.wire_id}, landmark.country, landmark.status_reason, landmark.id);
  auto row = s->Next();
  if (!row.ok()) {
    return Context(row.status(), absl::StrCat("store: updating landmark ", landmark.id));
  }
  if (!*row) return NotFound("landmark", landmark.id);
  return absl::OkStatus();
}

absl::StatusOr<Landmark> SqlStore::GetLandmarkByWireId(const std::string& wire_id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kLandmarkColumns,
                                            " FROM landmarks WHERE wire_id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, wire_id);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("store: landmark with wire_id \"", wire_id, "\" not found"));
  }
  return ReadLandmark(s);
}

absl::Status SqlStore::UpdateHost(const Host& host) {
  if (host.hostname.empty()) return absl::InvalidArgumentError("store: hostname is empty");
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("UPDATE hosts SET organization_id = ?, hostname = ?, last_seen_ns = ?, "
                   "site_id = ?, probe_address = ?, agent_version = ? WHERE id = ? RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, host.organization_id, host.hostname, Nanos(host.last_seen),
           OptionalId{host.site_id}, host.probe_address, host.agent_version, host.id);
  auto row = s->Next();
  if (!row.ok()) return Context(row.status(), absl::StrCat("store: updating host ", host.id));
  if (!*row) return NotFound("host", host.id);
  return absl::OkStatus();
}

absl::StatusOr<Host> SqlStore::GetHostByName(int64_t organization_id,
                                             const std::string& hostname) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("SELECT ", kHostColumns,
                                                " FROM hosts WHERE organization_id = ? AND "
                                                "hostname = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, organization_id, hostname);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) {
    return absl::NotFoundError(absl::StrCat("store: host \"", hostname,
                                            "\" of organization ", organization_id,
                                            " not found"));
  }
  return ReadHost(s);
}

absl::StatusOr<std::vector<Host>> SqlStore::ListHosts(std::optional<int64_t> organization_id) {
  std::string sql = absl::StrCat("SELECT ", kHostColumns, " FROM hosts");
  if (organization_id) absl::StrAppend(&sql, " WHERE organization_id = ?");
  absl::StrAppend(&sql, " ORDER BY id");
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(sql));
  ResetOnExit reset(s);
  if (organization_id) BindFrom(s, 1, *organization_id);
  return ReadAll<Host>(s, ReadHost);
}

// ---------------------------------------------------------------- Sites

absl::StatusOr<Site> SqlStore::CreateSite(const Site& site) {
  LC_RETURN_IF_ERROR(ValidateSite(site));
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO sites (organization_id, name, latitude_deg, longitude_deg, "
                   "radius_km, country) VALUES (?, ?, ?, ?, ?, ?) RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, site.organization_id, site.name, site.latitude_deg, site.longitude_deg,
           site.radius_km, site.country);
  auto id = ReturnedId(s);
  if (!id.ok()) return Context(id.status(), "store: creating site " + site.name);
  Site stored = site;
  stored.id = *id;
  return stored;
}

absl::StatusOr<Site> SqlStore::GetSite(int64_t id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kSiteColumns, " FROM sites WHERE id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  return ReadOne<Site>(s, ReadSite, "site", id);
}

absl::Status SqlStore::UpdateSite(const Site& site) {
  LC_RETURN_IF_ERROR(ValidateSite(site));
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("UPDATE sites SET organization_id = ?, name = ?, latitude_deg = ?, "
                   "longitude_deg = ?, radius_km = ?, country = ? WHERE id = ? RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, site.organization_id, site.name, site.latitude_deg, site.longitude_deg,
           site.radius_km, site.country, site.id);
  auto row = s->Next();
  if (!row.ok()) return Context(row.status(), absl::StrCat("store: updating site ", site.id));
  if (!*row) return NotFound("site", site.id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Site>> SqlStore::ListSites(std::optional<int64_t> organization_id) {
  std::string sql = absl::StrCat("SELECT ", kSiteColumns, " FROM sites");
  if (organization_id) absl::StrAppend(&sql, " WHERE organization_id = ?");
  absl::StrAppend(&sql, " ORDER BY id");
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(sql));
  ResetOnExit reset(s);
  if (organization_id) BindFrom(s, 1, *organization_id);
  return ReadAll<Site>(s, ReadSite);
}

// ---------------------------------------------------------------- Shipments

absl::StatusOr<Shipment> SqlStore::CreateShipment(const Shipment& shipment) {
  LC_RETURN_IF_ERROR(ValidateShipment(shipment));
  const std::string serials = nlohmann::json(shipment.serials).dump();
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO shipments (organization_id, licence_id, reference, consignee, "
                   "billed_country, shipped_at_ns, serials_json) VALUES (?, ?, ?, ?, ?, ?, ?) "
                   "RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, shipment.organization_id, OptionalId{shipment.licence_id}, shipment.reference,
           shipment.consignee, shipment.billed_country, Nanos(shipment.shipped_at), serials);
  auto id = ReturnedId(s);
  if (!id.ok()) return Context(id.status(), "store: creating shipment " + shipment.reference);
  Shipment stored = shipment;
  stored.id = *id;
  return stored;
}

absl::StatusOr<Shipment> SqlStore::GetShipment(int64_t id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kShipmentColumns,
                                            " FROM shipments WHERE id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  return ReadOne<Shipment>(s, ReadShipment, "shipment", id);
}

absl::Status SqlStore::UpdateShipment(const Shipment& shipment) {
  LC_RETURN_IF_ERROR(ValidateShipment(shipment));
  const std::string serials = nlohmann::json(shipment.serials).dump();
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("UPDATE shipments SET organization_id = ?, licence_id = ?, reference = ?, "
                   "consignee = ?, billed_country = ?, shipped_at_ns = ?, serials_json = ? "
                   "WHERE id = ? RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, shipment.organization_id, OptionalId{shipment.licence_id}, shipment.reference,
           shipment.consignee, shipment.billed_country, Nanos(shipment.shipped_at), serials,
           shipment.id);
  auto row = s->Next();
  if (!row.ok()) {
    return Context(row.status(), absl::StrCat("store: updating shipment ", shipment.id));
  }
  if (!*row) return NotFound("shipment", shipment.id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Shipment>> SqlStore::ListShipments(
    std::optional<int64_t> organization_id) {
  std::string sql = absl::StrCat("SELECT ", kShipmentColumns, " FROM shipments");
  if (organization_id) absl::StrAppend(&sql, " WHERE organization_id = ?");
  absl::StrAppend(&sql, " ORDER BY id");
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(sql));
  ResetOnExit reset(s);
  if (organization_id) BindFrom(s, 1, *organization_id);
  return ReadAll<Shipment>(s, ReadShipment);
}

// ---------------------------------------------------------------- API tokens

absl::StatusOr<ApiToken> SqlStore::CreateToken(const ApiToken& token) {
  LC_RETURN_IF_ERROR(ValidateToken(token));
  ApiToken stored = token;
  stored.created_at = NowIfEpoch(token.created_at);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO api_tokens (name, role, organization_id, landmark_id, "
                   "secret_sha256, created_at_ns, revoked) VALUES (?, ?, ?, ?, ?, ?, ?) "
                   "RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, stored.name, RoleName(stored.role), OptionalId{stored.organization_id},
           OptionalId{stored.landmark_id}, stored.secret_sha256, Nanos(stored.created_at),
           static_cast<int64_t>(stored.revoked ? 1 : 0));
  auto id = ReturnedId(s);
  if (!id.ok()) return Context(id.status(), "store: creating token " + token.name);
  stored.id = *id;
  return stored;
}

absl::StatusOr<ApiToken> SqlStore::GetTokenBySecretHash(const std::string& secret_sha256) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kTokenColumns,
                                            " FROM api_tokens WHERE secret_sha256 = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, secret_sha256);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  // The hash is not echoed: it identifies a credential.
  if (!row) return absl::NotFoundError("store: no token has this secret hash");
  return ReadToken(s);
}

absl::StatusOr<std::vector<ApiToken>> SqlStore::ListTokens() {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(absl::StrCat(
                                            "SELECT ", kTokenColumns,
                                            " FROM api_tokens ORDER BY id")));
  ResetOnExit reset(s);
  return ReadAll<ApiToken>(s, ReadToken);
}

absl::Status SqlStore::RevokeToken(int64_t id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare("UPDATE api_tokens SET revoked = 1 WHERE id = ? RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return NotFound("token", id);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Topology, events

absl::StatusOr<TopologySnapshot> SqlStore::AppendTopology(const TopologySnapshot& snapshot) {
  TopologySnapshot stored = snapshot;
  stored.time = NowIfEpoch(snapshot.time);
  std::sort(stored.peer_uuids.begin(), stored.peer_uuids.end());
  stored.peer_uuids.erase(std::unique(stored.peer_uuids.begin(), stored.peer_uuids.end()),
                          stored.peer_uuids.end());
  const std::string peers = nlohmann::json(stored.peer_uuids).dump();
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO topology_snapshots (device_id, time_ns, peer_uuids_json) "
                   "VALUES (?, ?, ?) RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, stored.device_id, Nanos(stored.time), peers);
  auto id = ReturnedId(s);
  if (!id.ok()) {
    return Context(id.status(),
                   absl::StrCat("store: topology snapshot for device ", snapshot.device_id));
  }
  stored.id = *id;
  return stored;
}

absl::StatusOr<TopologySnapshot> SqlStore::LatestTopology(int64_t device_id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("SELECT ", kTopologyColumns,
                                                " FROM topology_snapshots WHERE device_id = ? "
                                                "ORDER BY id DESC LIMIT 1")));
  ResetOnExit reset(s);
  BindFrom(s, 1, device_id);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("store: device ", device_id, " has no topology snapshot"));
  }
  return ReadTopology(s);
}

absl::StatusOr<Page<TopologySnapshot>> SqlStore::ListTopology(int64_t device_id,
                                                              const PageRequest& page) {
  const int limit = ClampLimit(page.limit);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("SELECT ", kTopologyColumns,
                                                " FROM topology_snapshots WHERE device_id = ? "
                                                "AND id > ? ORDER BY id LIMIT ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, device_id, page.after_id, limit + 1);
  return ReadPage<TopologySnapshot>(s, limit, ReadTopology);
}

absl::StatusOr<DeviceEvent> SqlStore::AppendDeviceEvent(const DeviceEvent& event) {
  if (event.kind.empty()) return absl::InvalidArgumentError("store: device event kind is empty");
  LC_RETURN_IF_ERROR(ValidateJson(event.details_json, "device event details"));
  DeviceEvent stored = event;
  stored.time = NowIfEpoch(event.time);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare("INSERT INTO device_events (device_id, time_ns, kind, host_id, "
                   "organization_id, details_json) VALUES (?, ?, ?, ?, ?, ?) RETURNING id"));
  ResetOnExit reset(s);
  BindFrom(s, 1, stored.device_id, Nanos(stored.time), stored.kind, OptionalId{stored.host_id},
           OptionalId{stored.organization_id}, stored.details_json);
  auto id = ReturnedId(s);
  if (!id.ok()) {
    return Context(id.status(), absl::StrCat("store: ", event.kind, " event for device ",
                                             event.device_id));
  }
  stored.id = *id;
  return stored;
}

absl::StatusOr<Page<DeviceEvent>> SqlStore::ListDeviceEvents(int64_t device_id,
                                                             const PageRequest& page) {
  const int limit = ClampLimit(page.limit);
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("SELECT ", kDeviceEventColumns,
                                                " FROM device_events WHERE device_id = ? "
                                                "AND id > ? ORDER BY id LIMIT ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, device_id, page.after_id, limit + 1);
  return ReadPage<DeviceEvent>(s, limit, ReadDeviceEvent);
}

// ---------------------------------------------------------------- Telemetry

absl::Status SqlStore::PutTelemetry(const Telemetry& telemetry) {
  absl::MutexLock lock(&mu_);
  return Context(PutTelemetryLocked(telemetry),
                 absl::StrCat("store: telemetry for device ", telemetry.device_id));
}

absl::Status SqlStore::PutTelemetryLocked(const Telemetry& t) {
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare(absl::StrCat(
          "INSERT INTO telemetry (", kTelemetryColumns,
          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
          "time_ns = excluded.time_ns, temperature_c = excluded.temperature_c, "
          "power_w = excluded.power_w, utilization_pct = excluded.utilization_pct, "
          "ecc_uncorrected = excluded.ecc_uncorrected, xid_count = excluded.xid_count, "
          "last_xid = excluded.last_xid WHERE excluded.time_ns >= telemetry.time_ns")));
  ResetOnExit reset(s);
  BindTelemetry(s, t);
  LC_ASSIGN_OR_RETURN(bool unused, s->Next());
  (void)unused;
  return absl::OkStatus();
}

absl::StatusOr<Telemetry> SqlStore::GetTelemetry(int64_t device_id) {
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("SELECT ", kTelemetryColumns,
                                                " FROM telemetry WHERE device_id = ?")));
  ResetOnExit reset(s);
  BindFrom(s, 1, device_id);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) {
    return absl::NotFoundError(absl::StrCat("store: device ", device_id, " has no telemetry"));
  }
  return ReadTelemetry(s);
}

// ---------------------------------------------------------------- Verdict loop

absl::StatusOr<std::vector<MinRtt>> SqlStore::MinRtts(std::optional<int64_t> device_id,
                                                      absl::Time since) {
  const std::string sql = MinRttsSql(db_dialect_, device_id.has_value());
  return OnReader([&](SqlDatabase& db) -> absl::StatusOr<std::vector<MinRtt>> {
    LC_ASSIGN_OR_RETURN(SqlStatement * s, db.Prepare(sql));
    ResetOnExit reset(s);
    const int index = BindFrom(s, 1, Nanos(since));
    if (device_id) BindFrom(s, index, *device_id);
    return ReadAll<MinRtt>(s, [](SqlStatement* row) -> absl::StatusOr<MinRtt> {
      MinRtt m;
      m.device_id = row->ColumnInt64(0);
      m.landmark_id = row->ColumnInt64(1);
      m.min_rtt_ns = row->ColumnInt64(2);
      m.count = row->ColumnInt64(3);
      m.last_time = FromNanos(row->ColumnInt64(4));
      return m;
    });
  });
}

absl::StatusOr<std::vector<Verdict>> SqlStore::LatestVerdicts(
    std::optional<int64_t> organization_id) {
  std::string sql = absl::StrCat("SELECT ", kVerdictColumnsOfV,
                                 " FROM devices d JOIN verdicts v ON v.id = d.latest_verdict_id");
  if (organization_id) absl::StrAppend(&sql, " WHERE d.organization_id = ?");
  absl::StrAppend(&sql, " ORDER BY d.id");
  return OnReader([&](SqlDatabase& db) -> absl::StatusOr<std::vector<Verdict>> {
    LC_ASSIGN_OR_RETURN(SqlStatement * s, db.Prepare(sql));
    ResetOnExit reset(s);
    if (organization_id) BindFrom(s, 1, *organization_id);
    return ReadAll<Verdict>(s, ReadVerdict);
  });
}

absl::Status SqlStore::AppendVerdicts(const std::vector<Verdict>& verdicts) {
  if (verdicts.empty()) return absl::OkStatus();
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const Verdict& v = verdicts[i];
    if (!nlohmann::json::accept(v.region_summary_json)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "store: verdicts[", i, "] (device ", v.device_id, ") region summary is not valid JSON"));
    }
    const int level = static_cast<int>(v.assurance);
    if (level < 0 || level > 3) {
      return absl::InvalidArgumentError(absl::StrCat("store: verdicts[", i, "] (device ",
                                                     v.device_id, ") assurance level ", level,
                                                     " not in L0-L3"));
    }
  }
  absl::MutexLock lock(&mu_);
  LC_RETURN_IF_ERROR(db_->Begin());
  for (size_t first = 0; first < verdicts.size(); first += kVerdictRowsPerStatement) {
    const size_t rows = std::min<size_t>(kVerdictRowsPerStatement, verdicts.size() - first);
    absl::Status status = AppendVerdictChunkLocked(verdicts, first, rows);
    if (!status.ok()) {
      (void)db_->ExecScript("ROLLBACK");
      return status;
    }
  }
  return Context(Commit(), "store: verdicts commit");
}

absl::Status SqlStore::AppendVerdictChunkLocked(const std::vector<Verdict>& verdicts,
                                                size_t first, size_t rows) {
  const std::string in_list =
      absl::StrCat("(", absl::StrJoin(std::vector<std::string>(rows, "?"), ", "), ")");
  // Unknown devices are named by index (a foreign key error could only name the statement).
  {
    LC_ASSIGN_OR_RETURN(SqlStatement * s,
                        db_->Prepare(absl::StrCat("SELECT id FROM devices WHERE id IN ",
                                                  in_list)));
    ResetOnExit reset(s);
    for (size_t r = 0; r < rows; ++r) {
      BindFrom(s, static_cast<int>(r) + 1, verdicts[first + r].device_id);
    }
    std::set<int64_t> known;
    while (true) {
      LC_ASSIGN_OR_RETURN(bool row, s->Next());
      if (!row) break;
      known.insert(s->ColumnInt64(0));
    }
    for (size_t r = 0; r < rows; ++r) {
      if (known.count(verdicts[first + r].device_id) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("store: verdicts[", first + r,
                                                       "]: unknown device ",
                                                       verdicts[first + r].device_id));
      }
    }
  }
  {
    std::vector<std::string> values(rows, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    LC_ASSIGN_OR_RETURN(
        SqlStatement * s,
        db_->Prepare(absl::StrCat(
            "INSERT INTO verdicts (device_id, time_ns, status, reason, region_summary_json, "
            "estimate_latitude_deg, estimate_longitude_deg, estimate_radius_km, robustness_f, "
            "assurance_level, licence_id) VALUES ",
            absl::StrJoin(values, ", "))));
    ResetOnExit reset(s);
    int index = 1;
    for (size_t r = 0; r < rows; ++r) {
      const Verdict& v = verdicts[first + r];
      index = BindFrom(s, index, v.device_id, Nanos(v.time), VerdictStatusName(v.status),
                       v.reason, v.region_summary_json, v.estimate_latitude_deg,
                       v.estimate_longitude_deg, v.estimate_radius_km,
                       static_cast<int64_t>(v.robustness_f), static_cast<int64_t>(v.assurance),
                       OptionalId{v.licence_id});
    }
    auto done = s->Next();
    if (!done.ok()) {
      return Context(done.status(),
                     absl::StrCat("store: verdicts[", first, "..", first + rows - 1, "]"));
    }
  }
  // Each device's pointer to its newest verdict (verdicts_by_device makes MAX a lookup).
  LC_ASSIGN_OR_RETURN(
      SqlStatement * s,
      db_->Prepare(absl::StrCat("UPDATE devices SET latest_verdict_id = (SELECT MAX(v.id) FROM "
                                "verdicts v WHERE v.device_id = devices.id) WHERE id IN ",
                                in_list)));
  ResetOnExit reset(s);
  for (size_t r = 0; r < rows; ++r) {
    BindFrom(s, static_cast<int>(r) + 1, verdicts[first + r].device_id);
  }
  LC_ASSIGN_OR_RETURN(bool unused, s->Next());
  (void)unused;
  return absl::OkStatus();
}

absl::Status SqlStore::ResolveAlert(int64_t id, absl::Time at) {
  absl::MutexLock lock(&mu_);
  {
    LC_ASSIGN_OR_RETURN(SqlStatement * s,
                        db_->Prepare("UPDATE alerts SET state = ?, resolved_at_ns = ? "
                                     "WHERE id = ? AND state <> ? RETURNING id"));
    ResetOnExit reset(s);
    BindFrom(s, 1, AlertStateName(AlertState::kResolved), Nanos(at), id,
             AlertStateName(AlertState::kResolved));
    LC_ASSIGN_OR_RETURN(bool row, s->Next());
    if (row) return absl::OkStatus();
  }
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare("SELECT state FROM alerts WHERE id = ?"));
  ResetOnExit reset(s);
  BindFrom(s, 1, id);
  LC_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return NotFound("alert", id);
  return absl::FailedPreconditionError(
      absl::StrCat("store: alert ", id, " is already resolved"));
}

// ---------------------------------------------------------------- Schema v4: history

absl::StatusOr<int64_t> SqlStore::RecordTelemetry(const std::vector<Telemetry>& reports,
                                                  absl::Duration sample_interval) {
  if (sample_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("store: telemetry sample interval must be >= 0");
  }
  if (reports.empty()) return 0;
  absl::MutexLock lock(&mu_);
  LC_RETURN_IF_ERROR(db_->Begin());
  int64_t appended = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    absl::StatusOr<bool> sampled = RecordTelemetryLocked(reports[i], sample_interval);
    if (!sampled.ok()) {
      (void)db_->ExecScript("ROLLBACK");
      return Context(sampled.status(), absl::StrCat("store: telemetry reports[", i,
                                                    "] (device ", reports[i].device_id, ")"));
    }
    if (*sampled) ++appended;
  }
  LC_RETURN_IF_ERROR(Context(Commit(), "store: telemetry commit"));
  return appended;
}

absl::StatusOr<bool> SqlStore::RecordTelemetryLocked(const Telemetry& t,
                                                     absl::Duration sample_interval) {
  LC_RETURN_IF_ERROR(PutTelemetryLocked(t));
  {
    LC_ASSIGN_OR_RETURN(
        SqlStatement * s,
        db_->Prepare("SELECT time_ns, ecc_uncorrected, xid_count, last_xid FROM "
                     "telemetry_samples WHERE device_id = ? AND time_ns <= ? "
                     "ORDER BY time_ns DESC, id DESC LIMIT 1"));
    ResetOnExit reset(s);
    BindFrom(s, 1, t.device_id, Nanos(t.time));
    LC_ASSIGN_OR_RETURN(bool row, s->Next());
    if (row) {
      const absl::Time previous = FromNanos(s->ColumnInt64(0));
      const bool counters_changed = s->ColumnInt64(1) != t.ecc_uncorrected ||
                                    s->ColumnInt64(2) != t.xid_count ||
                                    s->ColumnInt64(3) != t.last_xid;
      // `t.time == previous` matters when the interval is 0: a resubmitted report.
      if (!counters_changed && (t.time - previous < sample_interval || t.time == previous)) {
        return false;
      }
    }
  }
  LC_ASSIGN_OR_RETURN(SqlStatement * s,
                      db_->Prepare(absl::StrCat("INSERT INTO telemetry_samples (",
                                                kTelemetryColumns,
                                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")));
  ResetOnExit reset(s);
  BindTelemetry(s, t);
  LC_ASSIGN_OR_RETURN(bool unused, s->Next());
  (void)unused;
  return true;
}

// Rows per statement of DeleteTelemetrySamplesBefore.
constexpr int64_t kTelemetryDeleteChunk = 10'000;
// ReadLicenceVerdictHistory looks at the clock once per this many rows (the database's own
// deadline covers the time before the first row).
constexpr int64_t kDeadlineCheckRows = 1'024;

absl::StatusOr<TelemetryHistory> SqlStore::ListTelemetrySamples(int64_t device_id,
                                                                absl::Time since,
                                                                absl::Time until, int limit) {
  limit = ClampLimit(limit);
  // Up to kMaxPageSize + 1 rows: read on the reader connection, off the writers' lock.
  LC_ASSIGN_OR_RETURN(
      std::vector<Telemetry> newest_first,
      OnReader([&](SqlDatabase& db) -> absl::StatusOr<std::vector<Telemetry>> {
        LC_ASSIGN_OR_RETURN(
            SqlStatement * s,
            db.Prepare(absl::StrCat("SELECT ", kTelemetryColumns,
                                    " FROM telemetry_samples WHERE device_id = ? AND time_ns >= ? "
                                    "AND time_ns <= ? ORDER BY time_ns DESC, id DESC LIMIT ?")));
        ResetOnExit reset(s);
        BindFrom(s, 1, device_id, Nanos(since), Nanos(until), limit + 1);
        return ReadAll<Telemetry>(s, ReadTelemetry);
      }));
  TelemetryHistory history;
  if (static_cast<int>(newest_first.size()) > limit) {
    history.truncated = true;
    newest_first.resize(limit);
  }
  history.samples.assign(newest_first.rbegin(), newest_first.rend());
  return history;
}

absl::StatusOr<int64_t> SqlStore::DeleteTelemetrySamplesBefore(absl::Time before) {
  // In chunks of kTelemetryDeleteChunk rows (each its own statement, found through the time
  // index), taking the writers' lock per chunk: ingest and telemetry writes go on between
  // chunks however many samples a lowered retention suddenly expires.
  int64_t deleted = 0;
  while (true) {
    int64_t chunk = 0;
    {
      absl::MutexLock lock(&mu_);
      LC_ASSIGN_OR_RETURN(
          SqlStatement * s,
          db_->Prepare("DELETE FROM telemetry_samples WHERE id IN (SELECT id FROM "
                       "telemetry_samples WHERE time_ns < ? LIMIT ?) RETURNING id"));
      ResetOnExit reset(s);
      BindFrom(s, 1, Nanos(before), kTelemetryDeleteChunk);
      while (true) {
        absl::StatusOr<bool> row = s->Next();
        if (!row.ok()) return Context(row.status(), "store: deleting old telemetry samples");
        if (!*row) break;
        ++chunk;
      }
    }
    deleted += chunk;
    if (chunk < kTelemetryDeleteChunk) return deleted;
  }
}

absl::Status SqlStore::ReadLicenceVerdictHistory(int64_t licence_id, absl::Time since,
                                                 absl::Time until, absl::Time deadline,
                                                 VerdictPointSink sink) {
  // The devices ever judged against the licence, by a loose index scan of verdicts_by_licence
  // (one seek per device, however long their history), then per device its verdicts in the
  // range and its latest before it (verdicts_by_device_time_status, which covers the columns
  // read: no lookup in the table per row). Devices first judged against
  // the licence after `until` come along harmlessly: none of their rows is under the licence.
  static constexpr char kSql[] =
      "WITH RECURSIVE devs(device_id) AS ("
      "SELECT MIN(device_id) FROM verdicts WHERE licence_id = ? "
      "UNION ALL SELECT (SELECT MIN(n.device_id) FROM verdicts n WHERE n.licence_id = ? "
      "AND n.device_id > devs.device_id) FROM devs WHERE devs.device_id IS NOT NULL) "
      "SELECT v.device_id, v.time_ns, v.status, v.licence_id, v.id FROM verdicts v "
      "JOIN devs ON v.device_id = devs.device_id WHERE v.time_ns >= ? AND v.time_ns <= ? "
      "UNION ALL "
      "SELECT v.device_id, v.time_ns, v.status, v.licence_id, v.id FROM verdicts v "
      "WHERE v.id IN (SELECT (SELECT p.id FROM verdicts p WHERE p.device_id = devs.device_id "
      "AND p.time_ns < ? ORDER BY p.time_ns DESC, p.id DESC LIMIT 1) FROM devs "
      "WHERE devs.device_id IS NOT NULL) "
      "ORDER BY 2, 5";
  auto past_deadline = [&](int64_t rows) {
    return absl::DeadlineExceededError(absl::StrCat(
        "store: reading licence ", licence_id, "'s verdict history: the deadline passed after ",
        rows, " rows"));
  };
  if (absl::Now() >= deadline) return past_deadline(0);
  return OnReader([&](SqlDatabase& db) -> absl::Status {
    LC_RETURN_IF_ERROR(db.SetDeadline(deadline));
    int64_t rows = 0;
    absl::Status status = [&]() -> absl::Status {
      LC_ASSIGN_OR_RETURN(SqlStatement * s, db.PrepareStreaming(kSql));
      ResetOnExit reset(s);  // Abandons the rest when the sink stops the read.
      BindFrom(s, 1, licence_id, licence_id, Nanos(since), Nanos(until), Nanos(since));
      while (true) {
        absl::StatusOr<bool> row = s->Next();
        if (!row.ok()) {
          if (absl::IsDeadlineExceeded(row.status())) return past_deadline(rows);
          return Context(row.status(), absl::StrCat("store: licence ", licence_id,
                                                    "'s verdict history"));
        }
        if (!*row) return absl::OkStatus();
        if (++rows % kDeadlineCheckRows == 0 && absl::Now() >= deadline) {
          return past_deadline(rows);
        }
        VerdictPoint p;
        p.device_id = s->ColumnInt64(0);
        p.time = FromNanos(s->ColumnInt64(1));
        LC_ASSIGN_OR_RETURN(p.status, ParseVerdictStatus(s->ColumnText(2)));
        p.licence_id = s->ColumnInt64(3);
        LC_RETURN_IF_ERROR(sink(p));
      }
    }();
    absl::Status cleared = db.SetDeadline(absl::InfiniteFuture());
    return status.ok() ? cleared : status;
  });
}

absl::Status SqlStore::SetDeviceLicence(int64_t device_id, int64_t organization_id,
                                        int64_t licence_id) {
  {
    absl::MutexLock lock(&mu_);
    LC_ASSIGN_OR_RETURN(
        SqlStatement * s,
        db_->Prepare("UPDATE devices SET licence_id = ? WHERE id = ? AND organization_id = ? "
                     "AND (CAST(? AS BIGINT) = 0 OR EXISTS (SELECT 1 FROM licences "
                     "WHERE licences.id = ? AND licences.organization_id = "
                     "devices.organization_id)) RETURNING id"));
    ResetOnExit reset(s);
    BindFrom(s, 1, OptionalId{licence_id}, device_id, organization_id, licence_id, licence_id);
    absl::StatusOr<bool> row = s->Next();
    if (!row.ok()) {
      return Context(row.status(), absl::StrCat("store: licence ", licence_id, " for device ",
                                                device_id));
    }
    if (*row) return absl::OkStatus();
  }
  LC_RETURN_IF_ERROR(WhyDeviceNotInOrganization(device_id, organization_id));
  return absl::InvalidArgumentError(absl::StrCat("store: licence ", licence_id,
                                                 " is not a licence of organization ",
                                                 organization_id));
}

absl::StatusOr<std::vector<DeviceEntry>> SqlStore::ListDevicesMovedIn(
    int64_t organization_id, int64_t first_device_id, int64_t last_device_id) {
  // Per device of the organization in the range: its last event stamped with the
  // organization, the last event stamped with another one before that, and the first event
  // after the latter (the start of the latest run of the organization's events).
  static constexpr char kSql[] =
      "WITH ours AS (SELECT e.device_id, MAX(e.id) AS last_id FROM devices d "
      "JOIN device_events e ON e.device_id = d.id "
      "WHERE d.organization_id = ? AND d.id >= ? AND d.id <= ? AND e.organization_id = ? "
      "GROUP BY e.device_id), "
      "moved AS (SELECT ours.device_id, (SELECT MAX(o.id) FROM device_events o "
      "WHERE o.device_id = ours.device_id AND o.id < ours.last_id "
      "AND (o.organization_id IS NULL OR o.organization_id <> ?)) AS left_id FROM ours) "
      "SELECT moved.device_id, (SELECT f.time_ns FROM device_events f "
      "WHERE f.device_id = moved.device_id AND f.id > moved.left_id ORDER BY f.id LIMIT 1) "
      "FROM moved WHERE moved.left_id IS NOT NULL ORDER BY moved.device_id";
  // On the writers' connection, like the other short reads: the reader connection may be
  // held for up to a minute by a compliance history read.
  absl::MutexLock lock(&mu_);
  LC_ASSIGN_OR_RETURN(SqlStatement * s, db_->Prepare(kSql));
  ResetOnExit reset(s);
  BindFrom(s, 1, organization_id, first_device_id, last_device_id, organization_id,
           organization_id);
  std::vector<DeviceEntry> out;
  while (true) {
    absl::StatusOr<bool> row = s->Next();
    if (!row.ok()) {
      return Context(row.status(), absl::StrCat("store: devices moved into organization ",
                                                organization_id));
    }
    if (!*row) return out;
    out.push_back({s->ColumnInt64(0), FromNanos(s->ColumnInt64(1))});
  }
}

}  // namespace lightcone::server::internal
