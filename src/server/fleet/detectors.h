// Diversion detectors (DESIGN.md §6): signals that catch what timing cannot (silence, shared
// or moved identities, rebuilt boards, paperwork that does not add up) plus the alerts that
// follow from verdicts. Each detector is a pure function of a FleetSnapshot (what one pass
// of the FleetMonitor read from the store and computed) and its own Options, and returns
// Findings: alerts to raise, each with a dedup key.
//
// Dedup and resolution (done by FleetMonitor, fleet_monitor.h): an alert is identified by
// (type, key); the key is written into evidence_json as "dedup_key". A finding whose
// (type, key) already has an open or acknowledged alert raises nothing. Alerts of the
// types in kResolvableAlertTypes whose condition no longer holds (no finding with the same
// key in a pass) are resolved; the other types record events (a move, a rebuilt board, an
// impossible jump, a cohort going dark, a dishonest landmark) that a person must close.
//
// Thread safety: the functions are pure; a snapshot may be read by several at once.
#ifndef LIGHTCONE_SERVER_FLEET_DETECTORS_H_
#define LIGHTCONE_SERVER_FLEET_DETECTORS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "geo/country_atlas.h"
#include "nlohmann/json.hpp"
#include "server/fleet/verdict_engine.h"
#include "server/store/store.h"

namespace lightcone::server::fleet {

// Alert types (docs/api.md).
inline constexpr char kWentDark[] = "went_dark";
inline constexpr char kCohortDark[] = "cohort_dark";
inline constexpr char kIdentityReappearance[] = "identity_reappearance";
inline constexpr char kTopologyChange[] = "topology_change";
inline constexpr char kImpossibleTravel[] = "impossible_travel";
inline constexpr char kLicenceOveruse[] = "licence_overuse";
inline constexpr char kUnlicensedGpu[] = "unlicensed_gpu";
inline constexpr char kShipmentUnproven[] = "shipment_unproven";
inline constexpr char kBilledCountryMismatch[] = "billed_country_mismatch";
inline constexpr char kVerdictViolation[] = "verdict_violation";
inline constexpr char kVerdictUnproven[] = "verdict_unproven";
inline constexpr char kLandmarkInconsistent[] = "landmark_inconsistent";

// Types whose alerts are resolved when their condition clears.
bool IsResolvableAlertType(const std::string& type);

// Most device ids / serials listed in one alert's evidence.
inline constexpr int kMaxEvidenceItems = 50;

// One GPU as a pass sees it.
struct DeviceState {
  const Device* device = nullptr;
  const Verdict* previous = nullptr;   // Latest verdict stored before this pass.
  const Decision* decision = nullptr;  // This pass's verdict; nullptr if none was computed.
  absl::Span<const MinRtt> rtts;       // Its min RTTs in the window.
  // Latest measurement in the window or device last_seen, whichever is later.
  std::optional<absl::Time> last_heard;
};

// A device whose NVLink peer set changed: its last two snapshots.
struct TopologyPair {
  TopologySnapshot before;
  TopologySnapshot after;
};

// Everything the detectors read.
struct FleetSnapshot {
  absl::Time now = absl::UnixEpoch();
  std::vector<DeviceState> devices;
  absl::flat_hash_map<int64_t, const Host*> hosts;
  absl::flat_hash_map<int64_t, const Site*> sites;
  absl::flat_hash_map<int64_t, const Licence*> licences;
  absl::Span<const Shipment> shipments;
  absl::Span<const Landmark> landmarks;
  // "host_changed" events of the devices examined this pass (see FleetMonitor).
  absl::flat_hash_map<int64_t, std::vector<DeviceEvent>> host_changes;
  // Devices whose last two topology snapshots differ (examined this pass).
  absl::flat_hash_map<int64_t, TopologyPair> topology_changes;
  const VerdictEngine* engine = nullptr;         // For landmark_inconsistent.
  const geo::CountryAtlas* atlas = nullptr;      // For billed_country_mismatch; may be null.
};

// An alert to raise (alert.type, severity, subject, evidence_json, device/org set) and its
// dedup key, unique within the type. When `evidence` is set, alert.evidence_json is left
// empty and the monitor calls it only for alerts it actually creates (most findings of a
// steady fleet are already open); it returns the evidence without "dedup_key". It may read
// the snapshot, so it must be called while the snapshot lives.
struct Finding {
  Alert alert;
  std::string key;
  std::function<nlohmann::json()> evidence;
};

// The alert to store for `f`: evidence filled in, "dedup_key" set.
Alert CompleteAlert(const Finding& f);

// ---- Detectors -----------------------------------------------------------------------------

struct WentDarkOptions {
  // A licensed GPU not heard from (no measurement, no agent contact) for longer than this.
  absl::Duration max_silence = absl::Hours(1);
};
std::vector<Finding> DetectWentDark(const FleetSnapshot& s, const WentDarkOptions& o);

struct CohortDarkOptions {
  // At least this many GPUs of one site (or of one host when its host has no site) ...
  int min_devices = 8;
  // ... that each went dark (silent for WentDarkOptions::max_silence) within this interval
  // of each other ...
  absl::Duration interval = absl::Hours(6);
  // ... and had been first seen at most this long before going dark (install, test,
  // dismantle).
  absl::Duration max_age_when_dark = absl::Hours(24 * 30);
  absl::Duration max_silence = absl::Hours(1);
};
// Evidence: "group", "count", "first_dark"/"last_dark" (RFC 3339 and *_unix_s), "devices".
// The dedup key names the group and first_dark; since a GPU's last-heard time can still move
// (its measurements leave the window, a late telemetry report), FleetMonitor treats a cohort
// of the same group overlapping an open one (within `interval`) as the same alert
// (SameCohort).
std::vector<Finding> DetectCohortDark(const FleetSnapshot& s, const CohortDarkOptions& o);

// The span of a cohort_dark alert's evidence: group and [first_dark, last_dark] in Unix
// seconds; nullopt for evidence of another shape.
struct CohortSpan {
  std::string group;
  int64_t first_dark_unix_s = 0;
  int64_t last_dark_unix_s = 0;
};
std::optional<CohortSpan> ParseCohortSpan(const std::string& evidence_json);
// True when `a` and `b` are the same group and their spans overlap or lie within `interval`
// of each other: one cohort, reported once.
bool SameCohort(const CohortSpan& a, const CohortSpan& b, absl::Duration interval);

struct IdentityReappearanceOptions {
  // host_changed events older than this are history, not alerts.
  absl::Duration lookback = absl::Hours(24 * 7);
};
// Fires for (a) each recent host_changed event (the same UUID on another host or
// organization; evidence from the event's details) and (b) each serial or ueid carried by
// several device records that differ in host, organization or licence.
std::vector<Finding> DetectIdentityReappearance(const FleetSnapshot& s,
                                                const IdentityReappearanceOptions& o);

struct TopologyChangeOptions {
  // Changes whose newer snapshot is older than this are history.
  absl::Duration lookback = absl::Hours(24 * 7);
};
std::vector<Finding> DetectTopologyChange(const FleetSnapshot& s, const TopologyChangeOptions& o);

struct ImpossibleTravelOptions {
  // Fastest plausible shipment (air freight door to door is far slower; 1,000 km/h is an
  // airliner's cruise speed).
  double max_speed_kmh = 1000;
  // Moves smaller than this beyond the uncertainty radii are noise.
  double min_distance_km = 100;
};
// Compares this pass's estimate with the previous verdict's: fires when the distance minus
// both uncertainty radii exceeds max_speed_kmh times the time between them (and
// min_distance_km).
std::vector<Finding> DetectImpossibleTravel(const FleetSnapshot& s, const ImpossibleTravelOptions& o);

struct LicenceOveruseOptions {};
// More GPUs of a model under a licence than its cap; a model the licence does not list at
// all counts against a cap of 0 (when the licence lists any model).
std::vector<Finding> DetectLicenceOveruse(const FleetSnapshot& s, const LicenceOveruseOptions& o);

struct UnlicensedGpuOptions {
  // Time the operator has after enrollment to assign a licence.
  absl::Duration grace = absl::Hours(1);
};
std::vector<Finding> DetectUnlicensedGpu(const FleetSnapshot& s, const UnlicensedGpuOptions& o);

struct ShipmentOptions {
  // Serials shipped longer ago than this must have been proven compliant at a licensed site
  // (a device with that serial, under the shipment's licence, with a compliant verdict now or
  // in the past).
  absl::Duration max_days_to_prove = absl::Hours(24 * 30);
  // billed_country_mismatch: a billed country whose verified count (devices of its
  // shipments proven compliant, by the country of their estimate) is below this fraction of
  // the shipped count.
  double min_verified_fraction = 0.5;
};
std::vector<Finding> DetectShipmentUnproven(const FleetSnapshot& s, const ShipmentOptions& o);
std::vector<Finding> DetectBilledCountryMismatch(const FleetSnapshot& s, const ShipmentOptions& o);

struct VerdictAlertOptions {
  // A licensed GPU unproven for longer than this raises verdict_unproven (a diverted GPU can
  // always stay silent or slow; silence must cost the operator). Unlicensed GPUs are
  // reported by unlicensed_gpu instead.
  absl::Duration unproven_grace = absl::Hours(6);
};
std::vector<Finding> DetectVerdictAlerts(const FleetSnapshot& s, const VerdictAlertOptions& o);

struct LandmarkInconsistentOptions {
  // A landmark is blamed for a device when the device's caps have no common point, but do
  // once that landmark alone is dropped. It is reported when blamed for at least
  // min_devices devices and at least min_fraction of the devices it measured.
  int min_devices = 3;
  double min_fraction = 0.2;
  // Most inconsistent devices examined per pass (each costs one region per landmark).
  int max_devices_examined = 5000;
  // Also set the landmark's status to flagged (verdicts then ignore it). Off by default: a
  // person decides.
  bool flag_landmark = false;
};
std::vector<Finding> DetectLandmarkInconsistent(const FleetSnapshot& s,
                                                const LandmarkInconsistentOptions& o);

struct DetectorOptions {
  WentDarkOptions went_dark;
  CohortDarkOptions cohort_dark;
  IdentityReappearanceOptions identity;
  TopologyChangeOptions topology;
  ImpossibleTravelOptions travel;
  LicenceOveruseOptions overuse;
  UnlicensedGpuOptions unlicensed;
  ShipmentOptions shipments;
  VerdictAlertOptions verdicts;
  LandmarkInconsistentOptions landmarks;
};

// Every detector above, findings concatenated.
std::vector<Finding> RunDetectors(const FleetSnapshot& s, const DetectorOptions& o);

}  // namespace lightcone::server::fleet

#endif  // LIGHTCONE_SERVER_FLEET_DETECTORS_H_
