// The demo's world and episode, read from a TOML scenario file (scenarios/*.toml; the format
// is documented in docs/demo.md and in scenarios/ghost-datacenter.toml itself).
//
// A scenario names landmarks at real places, organizations, sites, licences, groups of GPU
// hosts (where they really are, which site they claim, which licence their GPUs are under,
// whether their replies are relayed through another place, whether they reuse the GPU
// identities of an earlier group), shipments, and a timed list of steps. Each step says what
// happens (groups start or go dark, a group adds delay, a landmark starts lying) and which
// alerts it must raise. Parsing validates every reference and number; errors are
// InvalidArgument "origin: [table].key: why".
//
// Scenario is a plain copyable value.
#ifndef LIGHTCONE_DEMO_SCENARIO_H_
#define LIGHTCONE_DEMO_SCENARIO_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightcone::demo {

inline constexpr int kMaxScenarioGpus = 200'000;
inline constexpr int kMaxGpusPerHost = 64;
inline constexpr double kMaxScenarioSeconds = 7 * 24 * 3600.0;

struct ScenarioLandmark {
  std::string name;
  std::string anchor;  // The RIPE Atlas anchor whose position this is ("" for a city centre).
  double latitude_deg = 0;
  double longitude_deg = 0;
  std::string country;
  // Access overhead of the landmark's own end of every path; unset: the latency model's
  // per-host draw. Landmarks at an exchange point or in the data centre have ~0.1 ms.
  std::optional<double> overhead_ms;
};

struct ScenarioSite {
  std::string name;
  std::string organization;
  double latitude_deg = 0;
  double longitude_deg = 0;
  double radius_km = 50;
  std::string country;
};

struct ScenarioModelCap {
  std::string model;
  int max_count = 0;
};

struct ScenarioLicence {
  std::string reference;
  std::string organization;
  std::string holder;
  std::string end_user;
  std::vector<std::string> allowed_sites;  // Site names.
  std::vector<std::string> allowed_countries;
  std::vector<std::string> prohibited_regions;
  std::vector<ScenarioModelCap> model_caps;
  double valid_days = 365;
};

// Hosts that behave alike. Host i is "<name>-<i>", GPU j of it "<name>-<i>/gpu<j>".
struct ScenarioHostGroup {
  std::string name;
  std::string organization;
  std::string site;     // Declared site ("" for none).
  std::string licence;  // Licence reference of its GPUs ("" for unlicensed).
  std::string model = "NVIDIA H100 80GB HBM3";
  int hosts = 1;
  int gpus_per_host = 8;
  // Where the GPUs really are (defaults to the site's position).
  double latitude_deg = 0;
  double longitude_deg = 0;
  // When set, challenges reach the GPUs through a relay at this position: every path is
  // landmark -> relay -> GPU.
  std::optional<double> relay_latitude_deg;
  std::optional<double> relay_longitude_deg;
  // Reuse the GPU identities (UUIDs, serials) of this earlier group.
  std::string identities_from;
  // Access overhead of the hosts' end of every path; unset: the model's per-host draw.
  std::optional<double> overhead_ms;
};

struct ScenarioShipment {
  std::string reference;
  std::string organization;
  std::string licence;
  std::string consignee;
  std::string billed_country;
  std::vector<std::string> groups;  // Serials of these groups' GPUs are in the shipment.
};

// An alert a step must raise: of `type`, about a device of `group` or about `landmark`.
struct ExpectedAlert {
  std::string type;
  std::string group;     // Exactly one of group / landmark is set.
  std::string landmark;
};

enum class StepAction { kStart, kGoDark, kAddDelay, kLandmarkLies };
const char* StepActionName(StepAction action);

struct ScenarioStep {
  double at_s = 0;  // Scenario seconds from the start (divided by --speed when played).
  StepAction action = StepAction::kStart;
  std::string description;
  std::vector<std::string> groups;  // kStart, kGoDark, kAddDelay.
  std::string landmark;             // kLandmarkLies.
  double delay_ms = 0;              // kAddDelay: added to every RTT of the groups.
  double rtt_factor = 1;            // kLandmarkLies: reported RTT = measured * factor.
  std::vector<ExpectedAlert> expect;
};

struct Scenario {
  std::string name;
  std::string description;
  uint64_t seed = 1;
  double duration_s = 600;  // Episode length in scenario seconds.
  std::vector<ScenarioLandmark> landmarks;
  std::vector<std::string> organizations;
  std::vector<ScenarioSite> sites;
  std::vector<ScenarioLicence> licences;
  std::vector<ScenarioHostGroup> groups;
  std::vector<ScenarioShipment> shipments;
  std::vector<ScenarioStep> steps;  // In at_s order.

  const ScenarioHostGroup* FindGroup(absl::string_view name) const;
  const ScenarioSite* FindSite(absl::string_view name) const;
  const ScenarioLandmark* FindLandmark(absl::string_view name) const;
  const ScenarioLicence* FindLicence(absl::string_view reference) const;
  // GPUs over every group that has its own identities (reappearing groups add none).
  int TotalGpus() const;
};

absl::StatusOr<Scenario> ParseScenario(absl::string_view toml_text, absl::string_view origin);
// NotFound when the file cannot be read.
absl::StatusOr<Scenario> LoadScenario(const std::string& path);

// Scales the number of hosts of every group so the world has about `gpus` GPUs (each group
// keeps at least one host; reappearing groups follow their source; licence caps grow with
// the fleet, never shrink). InvalidArgument when
// gpus is not in [1, kMaxScenarioGpus].
absl::Status ScaleScenario(int gpus, Scenario* scenario);

// Names used for hosts and GPUs of a group.
std::string HostName(const ScenarioHostGroup& group, int host_index);
// The identity group of `group`: itself, or the group it reuses identities from.
const ScenarioHostGroup& IdentityGroup(const Scenario& scenario, const ScenarioHostGroup& group);

}  // namespace lightcone::demo

#endif  // LIGHTCONE_DEMO_SCENARIO_H_
