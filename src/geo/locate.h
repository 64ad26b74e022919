// Locate: the engine run over a latency dataset, as `lightcone locate` does it. For every
// target it builds the sound region (the proof) and an estimate (the best guess, clamped into
// the region), and it summarizes accuracy and soundness when true positions are known.
#ifndef LIGHTCONE_GEO_LOCATE_H_
#define LIGHTCONE_GEO_LOCATE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "geo/area_index.h"
#include "geo/dataset.h"
#include "geo/estimator.h"
#include "nlohmann/json.hpp"

namespace lightcone::geo {

struct LocateOptions {
  EstimateMethod method = EstimateMethod::kBest;
  // Locate every positioned host from all the others; its position is the truth.
  bool leave_one_out = false;
  // Codes of the --prove-outside set (for reporting); the polygon comes as an AreaIndex.
  std::vector<std::string> prove_outside_codes;
  // f of the f-robust proofs (proven_outside).
  int robustness = 0;
};

struct SoundSummary {
  bool empty = false;
  double radius_km = 0;   // Provable radius around the truth (or the estimate).
  double area_km2 = 0;
  std::optional<bool> proven_outside;  // Set when a --prove-outside set is given.
  std::optional<bool> consistent;      // Truth inside the region, when the truth is known.
};

struct TargetResult {
  std::string id;
  std::optional<Estimate> estimate;  // Unset when the estimator had nothing to work with.
  std::string estimate_error;        // Why, when unset.
  std::optional<double> error_km;    // Distance estimate-truth, when the truth is known.
  int landmarks_used = 0;            // Distance bounds in the sound region.
  std::string true_country;          // From hosts.csv, when known.
  SoundSummary sound;
};

struct LocateSummary {
  int targets = 0;
  std::optional<double> median_error_km, p80_error_km, p90_error_km;
  std::optional<double> within_40km, within_500km;  // Fractions of targets with a truth.
  int sound_violations = 0;
  std::optional<double> median_radius_km;
  std::optional<double> proven_outside_fraction;  // Over targets whose country is not in the set.
  std::vector<FlaggedLandmark> flagged_landmarks;
  int skipped_unmeasured = 0;  // Leave-one-out hosts that no landmark measured.
};

struct LocateReport {
  std::string method;
  std::vector<TargetResult> targets;
  LocateSummary summary;
};

// Runs the engine over `dataset`. `prove_outside` may be null.
absl::StatusOr<LocateReport> RunLocate(const Dataset& dataset, const Estimator& estimator,
                                       const AreaIndex* prove_outside,
                                       const LocateOptions& options);

// The JSON document of `lightcone locate --out` (issue 2 format).
nlohmann::json ToJson(const LocateReport& report);

// The human-readable summary table.
std::string FormatSummaryTable(const LocateReport& report);

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_LOCATE_H_
