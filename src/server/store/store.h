// The evidence store of the fleet server (issue 5, DESIGN.md §7): typed records for
// organizations, landmarks, hosts, devices, licences, measurements, verdicts and alerts, and
// the `Store` interface over them. Two implementations pass the same test suite:
// OpenSqliteStore (sqlite_store.h, the default) and OpenPostgresStore (postgres_store.h).
//
// Conventions shared by every method:
//  - ids are assigned by the store (positive, increasing); a record passed to Create* has its
//    id ignored and the stored record, with its id, is returned.
//  - times are absl::Time, stored as integer Unix nanoseconds.
//  - errors: NotFound (unknown id), AlreadyExists (a unique key is taken), InvalidArgument
//    (malformed record or a reference to an unknown record), FailedPrecondition (the record's
//    state forbids the change), Unavailable (the database cannot be reached), Internal.
//  - lists are keyset-paginated: items come in increasing id order, strictly after
//    `after_id`, at most `limit` of them (clamped to kMaxPageSize); `next_after_id` is the
//    value to pass as `after_id` for the next page, or 0 when this page is the last.
//  - every method is safe to call from several threads at once.
#ifndef LIGHTCONE_SERVER_STORE_STORE_H_
#define LIGHTCONE_SERVER_STORE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace lightcone::server {

// Largest page a List* call returns; larger limits are clamped.
inline constexpr int kMaxPageSize = 10'000;
// Page size when a filter leaves `limit` at 0.
inline constexpr int kDefaultPageSize = 100;
// Most measurements accepted in one IngestMeasurements call.
inline constexpr int kMaxMeasurementsPerBatch = 100'000;

struct Organization {
  int64_t id = 0;
  std::string name;  // Unique.
  absl::Time created_at = absl::UnixEpoch();
};

enum class LandmarkStatus { kActive, kFlagged, kRetired };
std::string LandmarkStatusName(LandmarkStatus status);
absl::StatusOr<LandmarkStatus> ParseLandmarkStatus(const std::string& name);

struct Landmark {
  int64_t id = 0;
  std::string name;  // Unique.
  double latitude_deg = 0;
  double longitude_deg = 0;
  std::string public_key;  // Raw key bytes (Ed25519: 32 bytes).
  LandmarkStatus status = LandmarkStatus::kActive;
  absl::Time created_at = absl::UnixEpoch();
  // Schema v2.
  // 32 lowercase hex chars: the 16-byte landmark id on the wire. Unique; empty = not set
  // (landmarks created before schema v2), InvalidArgument when set but malformed.
  std::string wire_id;
  std::string country;        // ISO 3166-1 alpha-2 of the declared position.
  std::string status_reason;  // Why it is flagged or retired; empty when active.
};

struct Host {
  int64_t id = 0;
  int64_t organization_id = 0;
  std::string hostname;  // Unique within the organization.
  absl::Time first_seen = absl::UnixEpoch();
  absl::Time last_seen = absl::UnixEpoch();
  // Schema v2.
  int64_t site_id = 0;        // The site the operator declares the host at; 0 when none.
  std::string probe_address;  // "ip:port" of the agent's responder; empty = agent-initiated.
  std::string agent_version;
};

// A place GPUs are declared to be (DESIGN.md §7): a disc on the sphere.
struct Site {
  int64_t id = 0;
  int64_t organization_id = 0;
  std::string name;  // Unique within the organization.
  double latitude_deg = 0;
  double longitude_deg = 0;
  double radius_km = 0;
  std::string country;  // ISO 3166-1 alpha-2.
};

// Assurance of the binding between a device and its session key (DESIGN.md §5).
enum class AssuranceLevel { kL0 = 0, kL1 = 1, kL2 = 2, kL3 = 3 };

struct KeyBinding {
  std::string public_key;  // Raw key bytes; empty when the device has no bound key.
  std::string key_id;
  AssuranceLevel assurance = AssuranceLevel::kL0;
  // Schema v2.
  absl::Time bound_at = absl::UnixEpoch();
  std::string evidence_sha256;  // Hex SHA-256 of the attestation evidence (L1+); else empty.
};

// Schema v3. The binding a device had before its current one, kept so that measurements a
// landmark took just before a key rotation (signed by the replaced key) can still be checked.
struct SupersededKey {
  std::string public_key;  // Raw key bytes; empty when the device never had a key replaced.
  std::string key_id;
  absl::Time bound_at = absl::UnixEpoch();       // When the replaced key had been bound.
  absl::Time superseded_at = absl::UnixEpoch();  // When the current key replaced it.
};

struct Device {
  int64_t id = 0;
  int64_t organization_id = 0;
  int64_t host_id = 0;     // 0 when not attached to a host.
  int64_t licence_id = 0;  // 0 when unlicensed.
  std::string uuid;        // Unique.
  std::string serial;
  std::string ueid;  // Attested unique id; empty before attestation.
  std::string model;
  KeyBinding key;
  absl::Time first_seen = absl::UnixEpoch();
  absl::Time last_seen = absl::UnixEpoch();
  // Schema v2.
  std::string architecture;  // e.g. "Hopper".
  std::string vbios;
  std::string pci_bus_id;
  // Schema v3. Maintained by the store (see Store::UpdateDevice).
  SupersededKey previous_key;
};

// What an agent's enrollment says about a device (Store::UpdateDevicePlacement).
struct DevicePlacement {
  int64_t device_id = 0;
  int64_t organization_id = 0;
  int64_t host_id = 0;  // 0 when not attached to a host.
  std::string serial;
  std::string ueid;  // Empty: keep the stored one.
  std::string model;
  std::string architecture;
  std::string vbios;
  std::string pci_bus_id;
  absl::Time last_seen = absl::UnixEpoch();
};

// What the device's NVLink peers were at one time (a topology snapshot).
struct TopologySnapshot {
  int64_t id = 0;
  int64_t device_id = 0;
  absl::Time time = absl::UnixEpoch();
  std::vector<std::string> peer_uuids;  // Sorted, unique.
};

// Something that happened to a device's identity: enrolled, moved to another host, key
// bound, licence changed. The identity and topology timeline of the dashboard.
struct DeviceEvent {
  int64_t id = 0;
  int64_t device_id = 0;
  absl::Time time = absl::UnixEpoch();
  std::string kind;  // "enrolled", "host_changed", "key_bound", "licence_changed", ...
  int64_t host_id = 0;
  int64_t organization_id = 0;
  std::string details_json = "{}";
};

// When a device came into its current organization from another one
// (Store::ListDevicesMovedIn).
struct DeviceEntry {
  int64_t device_id = 0;
  absl::Time entered_at = absl::UnixEpoch();
};

// The health an agent reported for a device at one time: the latest report (PutTelemetry,
// GetTelemetry) or one sample of its history (schema v4, RecordTelemetry).
struct Telemetry {
  int64_t device_id = 0;
  absl::Time time = absl::UnixEpoch();
  double temperature_c = 0;
  double power_w = 0;
  double utilization_pct = 0;
  int64_t ecc_uncorrected = 0;
  int64_t xid_count = 0;  // XID events since the agent started.
  int64_t last_xid = 0;   // 0 when none.
};

// Schema v4. A device's health samples in a time range (Store::ListTelemetrySamples).
struct TelemetryHistory {
  std::vector<Telemetry> samples;  // Oldest first.
  bool truncated = false;          // Older samples in the range were left out (the limit).
};

struct AllowedSite {
  std::string name;
  double latitude_deg = 0;
  double longitude_deg = 0;
  double radius_km = 0;
};

struct ModelCap {
  std::string model;
  int64_t max_count = 0;
};

struct Licence {
  int64_t id = 0;
  int64_t organization_id = 0;
  std::string reference;  // Unique, e.g. the export licence number.
  std::string holder;
  std::string end_user;
  std::vector<AllowedSite> allowed_sites;
  std::vector<std::string> allowed_countries;   // ISO 3166-1 alpha-2.
  std::vector<std::string> prohibited_regions;  // ISO 3166-1 alpha-2 or region names.
  std::vector<ModelCap> model_caps;
  absl::Time valid_from = absl::UnixEpoch();
  absl::Time valid_until = absl::UnixEpoch();
  absl::Duration reporting_cadence = absl::Hours(24);
};

// Goods shipped under a licence (DESIGN.md §6, shipment reconciliation).
struct Shipment {
  int64_t id = 0;
  int64_t organization_id = 0;
  int64_t licence_id = 0;
  std::string reference;  // Unique, e.g. the invoice or airway bill number.
  std::string consignee;
  std::string billed_country;  // ISO 3166-1 alpha-2.
  absl::Time shipped_at = absl::UnixEpoch();
  std::vector<std::string> serials;  // GPU serial numbers in the shipment.
};

enum class Role { kAgent, kLandmark, kOperator, kAuditor, kAdmin };
std::string RoleName(Role role);
absl::StatusOr<Role> ParseRole(const std::string& name);

// An API token. Only the SHA-256 of the secret is stored.
struct ApiToken {
  int64_t id = 0;
  std::string name;  // Unique, for people: "ops-acme", "landmark-sin-1".
  Role role = Role::kOperator;
  int64_t organization_id = 0;  // Agent and operator tokens: their organization. Else 0.
  int64_t landmark_id = 0;      // Landmark tokens: the landmark. Else 0.
  std::string secret_sha256;    // Lowercase hex SHA-256 of the secret (64 chars). Unique.
  absl::Time created_at = absl::UnixEpoch();
  bool revoked = false;
};

// One timed challenge-response between a landmark and a device.
struct Measurement {
  int64_t id = 0;
  int64_t device_id = 0;
  int64_t landmark_id = 0;  // Set by IngestMeasurements from the batch.
  absl::Time time = absl::UnixEpoch();
  int64_t rtt_ns = 0;
  std::string nonce;  // Raw bytes.
  int64_t sequence = 0;  // Probe sequence of this landmark towards this device; unique per pair.
  std::string key_id;
  std::string reply_signature;  // Raw bytes.
  int64_t batch_id = 0;         // Set by the store.
};

// A landmark's submission. (landmark_id, batch_sequence) identifies it: resubmitting the same
// batch stores nothing twice.

struct LandmarkBatchTime {
  int64_t landmark_id = 0;
  absl::Time received_at = absl::UnixEpoch();
};

struct MeasurementBatch {
  int64_t landmark_id = 0;
  int64_t batch_sequence = 0;
  std::vector<Measurement> measurements;
};

struct IngestResult {
  int64_t batch_id = 0;
  int64_t inserted = 0;
  int64_t duplicates = 0;  // Measurements already stored (same landmark, device, sequence).
  bool batch_already_stored = false;
};

enum class VerdictStatus { kCompliant, kViolation, kUnproven };
std::string VerdictStatusName(VerdictStatus status);
absl::StatusOr<VerdictStatus> ParseVerdictStatus(const std::string& name);

struct Verdict {
  int64_t id = 0;
  int64_t device_id = 0;
  absl::Time time = absl::UnixEpoch();
  VerdictStatus status = VerdictStatus::kUnproven;
  std::string reason;
  std::string region_summary_json = "{}";  // The sound region, as JSON.
  double estimate_latitude_deg = 0;
  double estimate_longitude_deg = 0;
  double estimate_radius_km = 0;
  int robustness_f = 0;  // Number of lying landmarks the verdict tolerates.
  AssuranceLevel assurance = AssuranceLevel::kL0;
  // Schema v4. The licence the verdict was judged against; 0 when the GPU had none.
  int64_t licence_id = 0;
};

// Schema v4. One verdict as the licence history needs it (Store::ListLicenceVerdictHistory).
struct VerdictPoint {
  int64_t device_id = 0;
  absl::Time time = absl::UnixEpoch();
  VerdictStatus status = VerdictStatus::kUnproven;
  int64_t licence_id = 0;  // 0 when the verdict was judged against no licence.
};

// Receives the rows of Store::ReadLicenceVerdictHistory one at a time; a status other than OK
// stops the read, which returns it.
using VerdictPointSink = absl::FunctionRef<absl::Status(const VerdictPoint&)>;

// The default bound of Store::ListLicenceVerdictHistory, which holds its answer in memory
// (~40 bytes a row). The API streams instead (ReadLicenceVerdictHistory) and has no row bound.
inline constexpr int64_t kMaxLicenceHistoryRows = 2'000'000;

enum class AlertState { kOpen, kAcknowledged, kResolved };
std::string AlertStateName(AlertState state);
absl::StatusOr<AlertState> ParseAlertState(const std::string& name);

enum class AlertSeverity { kInfo, kWarning, kCritical };
std::string AlertSeverityName(AlertSeverity severity);
absl::StatusOr<AlertSeverity> ParseAlertSeverity(const std::string& name);

struct Alert {
  int64_t id = 0;
  int64_t organization_id = 0;  // 0 when fleet-wide.
  int64_t device_id = 0;        // 0 when not about one device.
  std::string type;             // Detector name, e.g. "went_dark".
  AlertSeverity severity = AlertSeverity::kWarning;
  std::string subject;
  std::string evidence_json = "{}";
  AlertState state = AlertState::kOpen;
  std::string acknowledged_by;
  std::string acknowledge_comment;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time acknowledged_at = absl::UnixEpoch();
};

// Minimum RTT of one (device, landmark) pair over a time window.
struct MinRtt {
  int64_t device_id = 0;
  int64_t landmark_id = 0;
  int64_t min_rtt_ns = 0;
  int64_t count = 0;                      // Measurements in the window.
  absl::Time last_time = absl::UnixEpoch();  // Latest measurement of the pair in the window.
};

template <typename T>
struct Page {
  std::vector<T> items;
  int64_t next_after_id = 0;  // 0 when there is no further page.
};

struct PageRequest {
  int64_t after_id = 0;
  int limit = 0;  // 0 means kDefaultPageSize.
};

struct DeviceFilter {
  std::optional<int64_t> organization_id;
  std::optional<int64_t> licence_id;
  std::optional<int64_t> host_id;
  PageRequest page;
  // Schema v2.
  std::optional<std::string> serial;
  std::optional<std::string> ueid;
  std::optional<std::string> model;
};

struct MeasurementFilter {
  std::optional<int64_t> device_id;
  std::optional<int64_t> landmark_id;
  std::optional<absl::Time> since;  // Inclusive.
  std::optional<absl::Time> until;  // Exclusive.
  PageRequest page;
};

struct AlertFilter {
  std::optional<AlertState> state;
  std::optional<std::string> type;
  std::optional<int64_t> organization_id;
  std::optional<int64_t> device_id;
  PageRequest page;
};

class Store {
 public:
  virtual ~Store() = default;

  // Version of the schema the store runs (the highest applied migration).
  virtual absl::StatusOr<int> SchemaVersion() = 0;

  virtual absl::StatusOr<Organization> CreateOrganization(const Organization& org) = 0;
  virtual absl::StatusOr<Organization> GetOrganization(int64_t id) = 0;
  virtual absl::StatusOr<std::vector<Organization>> ListOrganizations() = 0;

  virtual absl::StatusOr<Landmark> CreateLandmark(const Landmark& landmark) = 0;
  virtual absl::StatusOr<Landmark> GetLandmark(int64_t id) = 0;
  virtual absl::StatusOr<std::vector<Landmark>> ListLandmarks() = 0;
  virtual absl::Status SetLandmarkStatus(int64_t id, LandmarkStatus status) = 0;

  virtual absl::StatusOr<Host> CreateHost(const Host& host) = 0;
  virtual absl::StatusOr<Host> GetHost(int64_t id) = 0;

  virtual absl::StatusOr<Device> CreateDevice(const Device& device) = 0;
  virtual absl::StatusOr<Device> GetDevice(int64_t id) = 0;
  virtual absl::StatusOr<Device> GetDeviceByUuid(const std::string& uuid) = 0;
  // Replaces every field of device `device.id` except first_seen and previous_key, which the
  // store maintains: when the update replaces a bound key by one with another key_id, the
  // replaced binding becomes previous_key (superseded_at = the new key's bound_at, or now when
  // that is UnixEpoch()), atomically with the update; otherwise previous_key is unchanged.
  // Only one previous binding is kept. CreateDevice stores previous_key as given.
  // A whole-row read-modify-write: for seeding and administration. Concurrent writers use
  // the narrow updates below, each writing only the columns it owns, so that none undoes
  // another's change made between its read and its write.
  virtual absl::Status UpdateDevice(const Device& device) = 0;
  // Enrollment: writes organization, host, serial, the claimed ueid (when not empty and no
  // attested key, L1 or above, is bound: an attested ueid is only replaced by another
  // attestation, BindDeviceKey), model, architecture, vbios, PCI bus id and last_seen, never
  // the key binding. When the
  // organization changes, the licence is cleared in the same statement (a licence belongs
  // to an organization); otherwise the current licence stays, whoever set it. NotFound for an
  // unknown device.
  virtual absl::Status UpdateDevicePlacement(const DevicePlacement& placement) = 0;
  // Key binding: writes the binding (the replaced one becomes previous_key as in
  // UpdateDevice), the attested ueid when not empty, and last_seen; never organization, host
  // or licence; and only while the device is in `organization_id` (the organization whose
  // agent bound the key; an enrollment elsewhere since then wins). NotFound for an unknown
  // device; FailedPrecondition when it is no longer in `organization_id`; InvalidArgument
  // for an empty public key or key id, or an assurance level outside L0-L3.
  virtual absl::Status BindDeviceKey(int64_t device_id, int64_t organization_id,
                                     const KeyBinding& key, const std::string& ueid,
                                     absl::Time last_seen) = 0;
  virtual absl::StatusOr<Page<Device>> ListDevices(const DeviceFilter& filter) = 0;

  virtual absl::StatusOr<Licence> CreateLicence(const Licence& licence) = 0;
  virtual absl::StatusOr<Licence> GetLicence(int64_t id) = 0;
  // Replaces every field of licence `licence.id`.
  virtual absl::Status UpdateLicence(const Licence& licence) = 0;
  virtual absl::StatusOr<std::vector<Licence>> ListLicences(
      std::optional<int64_t> organization_id) = 0;

  // Stores a batch in one durable transaction (nothing is stored if any measurement is
  // rejected). Idempotent: a batch already stored with the same content returns
  // batch_already_stored and stores nothing; the same (landmark_id, batch_sequence) with
  // different content is AlreadyExists. Individual measurements already stored (same landmark,
  // device and sequence) count as duplicates. InvalidArgument for an unknown landmark or
  // device, or an empty or oversized batch. When this returns OK the batch survives a crash.
  virtual absl::StatusOr<IngestResult> IngestMeasurements(const MeasurementBatch& batch) = 0;
  virtual absl::StatusOr<Page<Measurement>> ListMeasurements(const MeasurementFilter& filter) = 0;

  virtual absl::StatusOr<Verdict> AppendVerdict(const Verdict& verdict) = 0;
  // NotFound when the device has no verdict yet.
  virtual absl::StatusOr<Verdict> LatestVerdict(int64_t device_id) = 0;
  virtual absl::StatusOr<Page<Verdict>> ListVerdicts(int64_t device_id,
                                                     const PageRequest& page) = 0;

  virtual absl::StatusOr<Alert> CreateAlert(const Alert& alert) = 0;
  virtual absl::StatusOr<Alert> GetAlert(int64_t id) = 0;
  virtual absl::StatusOr<Page<Alert>> ListAlerts(const AlertFilter& filter) = 0;
  // Moves an open alert to acknowledged. FailedPrecondition when it is not open.
  virtual absl::Status AcknowledgeAlert(int64_t id, const std::string& by,
                                        const std::string& comment, absl::Time at) = 0;

  // ---- Schema v2 -------------------------------------------------------------------------

  // Replaces every field of landmark `landmark.id` except created_at.
  virtual absl::Status UpdateLandmark(const Landmark& landmark) = 0;
  virtual absl::StatusOr<Landmark> GetLandmarkByWireId(const std::string& wire_id) = 0;

  // Replaces every field of host `host.id` except first_seen.
  virtual absl::Status UpdateHost(const Host& host) = 0;
  virtual absl::StatusOr<Host> GetHostByName(int64_t organization_id,
                                             const std::string& hostname) = 0;
  virtual absl::StatusOr<std::vector<Host>> ListHosts(std::optional<int64_t> organization_id) = 0;

  virtual absl::StatusOr<Site> CreateSite(const Site& site) = 0;
  virtual absl::StatusOr<Site> GetSite(int64_t id) = 0;
  virtual absl::Status UpdateSite(const Site& site) = 0;
  virtual absl::StatusOr<std::vector<Site>> ListSites(std::optional<int64_t> organization_id) = 0;

  virtual absl::StatusOr<Shipment> CreateShipment(const Shipment& shipment) = 0;
  virtual absl::StatusOr<Shipment> GetShipment(int64_t id) = 0;
  virtual absl::Status UpdateShipment(const Shipment& shipment) = 0;
  virtual absl::StatusOr<std::vector<Shipment>> ListShipments(
      std::optional<int64_t> organization_id) = 0;

  // AlreadyExists when the name or the secret hash is taken. InvalidArgument when the name is
  // empty, the hash is not 64 lowercase hex chars, an agent/operator token has no
  // organization_id or a landmark token no landmark_id (or they name unknown records).
  // created_at = UnixEpoch() is stored as now.
  virtual absl::StatusOr<ApiToken> CreateToken(const ApiToken& token) = 0;
  // NotFound when no token (revoked or not) has this hash.
  virtual absl::StatusOr<ApiToken> GetTokenBySecretHash(const std::string& secret_sha256) = 0;
  virtual absl::StatusOr<std::vector<ApiToken>> ListTokens() = 0;
  // Idempotent; NotFound for an unknown id.
  virtual absl::Status RevokeToken(int64_t id) = 0;

  // Stores the peers sorted and deduplicated (the returned snapshot shows them so); time =
  // UnixEpoch() is stored as now. InvalidArgument for an unknown device.
  virtual absl::StatusOr<TopologySnapshot> AppendTopology(const TopologySnapshot& snapshot) = 0;
  // NotFound when the device has no snapshot.
  virtual absl::StatusOr<TopologySnapshot> LatestTopology(int64_t device_id) = 0;
  virtual absl::StatusOr<Page<TopologySnapshot>> ListTopology(int64_t device_id,
                                                             const PageRequest& page) = 0;

  // InvalidArgument for an empty kind, details that are not JSON or unknown references;
  // time = UnixEpoch() is stored as now.
  virtual absl::StatusOr<DeviceEvent> AppendDeviceEvent(const DeviceEvent& event) = 0;
  virtual absl::StatusOr<Page<DeviceEvent>> ListDeviceEvents(int64_t device_id,
                                                             const PageRequest& page) = 0;

  // Keeps only the latest summary per device (an older `time` than the stored one is ignored;
  // an equal one replaces it). InvalidArgument for an unknown device.
  virtual absl::Status PutTelemetry(const Telemetry& telemetry) = 0;
  // NotFound when the device never reported.
  virtual absl::StatusOr<Telemetry> GetTelemetry(int64_t device_id) = 0;

  // Minimum RTT per (device, landmark) over measurements with time >= since, for one device
  // or (device_id = nullopt) for every device, ordered by device then landmark. One query:
  // the verdict loop calls it once per pass.
  virtual absl::StatusOr<std::vector<MinRtt>> MinRtts(std::optional<int64_t> device_id,
                                                      absl::Time since) = 0;

  // The latest verdict of every device that has one (for overviews and detectors),
  // optionally restricted to one organization, in device id order.
  virtual absl::StatusOr<std::vector<Verdict>> LatestVerdicts(
      std::optional<int64_t> organization_id) = 0;
  // Appends many verdicts in one transaction (the verdict loop's write): all or none; the
  // error names the index of the first rejected verdict. LatestVerdict(s) then return them.
  virtual absl::Status AppendVerdicts(const std::vector<Verdict>& verdicts) = 0;

  // Moves an open or acknowledged alert to resolved (recording `at` in the alerts table).
  // FailedPrecondition when already resolved; NotFound for an unknown id.
  virtual absl::Status ResolveAlert(int64_t id, absl::Time at) = 0;

  // ---- Schema v4 -------------------------------------------------------------------------

  // Records agent reports in one transaction. Each report replaces its device's latest
  // health exactly as PutTelemetry does, and is also appended to the device's history as a
  // sample when the device's previous sample (the newest one at or before the report's time)
  // is missing, is at least `sample_interval` older than the report, or differs from it in
  // ecc_uncorrected, xid_count or last_xid (an XID or ECC change is never thinned away; an
  // identical report resubmitted is not stored twice). Returns the number of samples
  // appended. All or none: InvalidArgument naming the index of the first report for an
  // unknown device; InvalidArgument for a negative sample_interval.
  virtual absl::StatusOr<int64_t> RecordTelemetry(const std::vector<Telemetry>& reports,
                                                  absl::Duration sample_interval) = 0;
  // The newest `limit` samples of a device with since <= time <= until, returned oldest
  // first; `truncated` when older samples in the range were left out. limit <= 0 means
  // kDefaultPageSize; larger than kMaxPageSize is clamped. An unknown device has no samples.
  virtual absl::StatusOr<TelemetryHistory> ListTelemetrySamples(int64_t device_id,
                                                                absl::Time since,
                                                                absl::Time until,
                                                                int limit) = 0;
  // Deletes every sample (of every device) with time < `before`; returns how many. The
  // latest health of GetTelemetry is kept. Deletes in chunks of 10,000 rows, each a
  // statement of its own (not all or none), so writers are held up for one chunk at most.
  virtual absl::StatusOr<int64_t> DeleteTelemetrySamplesBefore(absl::Time before) = 0;

  // What a licence's compliance over time is computed from (docs/api.md "Compliance over
  // time"): for every device that ever had a verdict judged against `licence_id`, its
  // verdicts with since <= time <= until - whatever licence they were judged against, so that
  // a device that moved to another licence stops counting - plus its latest verdict before
  // `since` (when it has one). Handed to `sink` one row at a time, ordered by time, then
  // verdict id (a device's latest verdict at an instant is its last row at or before that
  // instant); neither the store nor the database client holds the rows (the database sorts
  // them: SQLite spills to temporary files, PostgreSQL to work_mem/disk). Holds the reader
  // connection until done. A status other than OK from `sink` stops the read (the rest is not
  // read) and is returned. DeadlineExceeded once `deadline` has passed, also while the
  // database is still sorting.
  virtual absl::Status ReadLicenceVerdictHistory(int64_t licence_id, absl::Time since,
                                                 absl::Time until, absl::Time deadline,
                                                 VerdictPointSink sink) = 0;
  // ReadLicenceVerdictHistory's rows in memory, for tests and tools. InvalidArgument, reading
  // no further, when there are more than `max_rows`.
  absl::StatusOr<std::vector<VerdictPoint>> ListLicenceVerdictHistory(
      int64_t licence_id, absl::Time since, absl::Time until,
      int64_t max_rows = kMaxLicenceHistoryRows);

  // Sets only device `device_id`'s licence (0 = none), leaving every other column alone (in
  // particular a key bound meanwhile, which a read-modify-write UpdateDevice could erase),
  // and only while the device is in `organization_id` (the organization the caller checked)
  // and the licence belongs to it, checked in the same statement: an enrollment that moved
  // the device elsewhere since the caller read it wins. NotFound for an unknown device;
  // FailedPrecondition when the device is no longer in `organization_id`; InvalidArgument for
  // a licence that is unknown or not that organization's.
  virtual absl::Status SetDeviceLicence(int64_t device_id, int64_t organization_id,
                                        int64_t licence_id) = 0;

  // When each landmark's newest stored batch (highest batch_sequence) was received
  // (landmarks with no batch are absent), in landmark id order. One index probe per
  // landmark (GET /overview reads it on every call).
  virtual absl::StatusOr<std::vector<LandmarkBatchTime>> LatestBatchTimes() = 0;

  // The devices of `organization_id` with first_device_id <= id <= last_device_id whose
  // events show them coming into the organization from another one, each with when its
  // latest run of events stamped with the organization began (the first event after the
  // last one stamped with another organization), in device id order. Devices whose events
  // are all the organization's (or that have none) are absent: their whole history is the
  // organization's. What GET /devices hides per device (api::VisibleSince for one device),
  // one query per page: the events of the page's id range are read through
  // device_events_by_device.
  virtual absl::StatusOr<std::vector<DeviceEntry>> ListDevicesMovedIn(
      int64_t organization_id, int64_t first_device_id, int64_t last_device_id) = 0;
};

}  // namespace lightcone::server

#endif  // LIGHTCONE_SERVER_STORE_STORE_H_
