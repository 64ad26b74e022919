// VerdictEngine: one GPU's verdict against its licence from its recent minimum RTTs
// (DESIGN.md §4), as the store's Verdict record.
//
// Rules, in order (the first that applies decides):
//   1. no licence                         -> unproven, reason "unlicensed";
//   2. licence not valid at `now`         -> unproven ("licence ... is not valid ..."): an
//      expired licence is a paperwork problem the verdict_unproven alert reports; "violation"
//      is kept for what timing proves, the GPU answering from outside the licensed area;
//   3. licence geometry unusable (unknown country code, no borders) -> unproven;
//   4. no measurement in the window       -> unproven;
//   5. fewer usable landmarks than min_landmarks (flagged/retired landmarks never count)
//                                         -> unproven;
//   6. f-robust region (every sub-region left after dropping any f landmarks):
//        all inside the licensed area and outside the prohibited regions -> compliant;
//        all outside the licensed area, or all inside a prohibited region -> violation;
//        none non-empty (inconsistent even after dropping f)             -> unproven;
//        otherwise                                                       -> unproven.
// A dishonest landmark can only shrink its own cap; with f >= 1 dropping it restores the
// honest region, so one liar can neither make a diverted GPU compliant nor an honest one a
// violation.
//
// The estimate is CBG (Gueye et al. 2004) with the 2/3 c baseline line: the centre of the
// intersection of the fiber-speed caps, computed exactly with geo::SoundRegion (the store
// holds no landmark-to-landmark calibration yet, so geo::Estimator's fitted models would add
// nothing but cost: its 41x41 grid is ~100x slower). It never weakens the proof: the estimate
// always lies inside the sound region and its uncertainty never exceeds the region's extent
// from it. When the caps are inconsistent the landmark whose removal restores consistency is
// ignored (lowest RTT first: that is what a liar reports).
//
// region_summary_json: {"empty", "radius_km", "area_km2", "landmarks_used", "robustness_f",
// "inconsistent", "estimate_method", "status_since", "last_compliant_at", "inputs"}.
// status_since and last_compliant_at (absent on compliant verdicts, which are their own
// proof time) carry across verdicts (from `previous`) so detectors can tell how long a GPU
// has been unproven and whether it was ever proven compliant.
//
// Reuse: "inputs" is a fingerprint of everything the decision depends on (bounds, options,
// licence geometry and validity at `now`). When the previous verdict has the same
// fingerprint, it is returned again with time = now instead of being recomputed: in a
// steady fleet the minimum RTTs over the window rarely change, so most passes cost a hash
// and one JSON parse per GPU.
//
// Immutable after construction; Decide is thread-safe.
#ifndef LIGHTCONE_SERVER_FLEET_VERDICT_ENGINE_H_
#define LIGHTCONE_SERVER_FLEET_VERDICT_ENGINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "geo/sound_region.h"
#include "server/fleet/licence_geometry.h"
#include "server/store/store.h"

namespace lightcone::server::fleet {

// Reason of every verdict of a GPU under no licence.
inline constexpr char kUnlicensedReason[] = "unlicensed";

struct VerdictEngineOptions {
  // Measurements older than this do not count.
  absl::Duration window = absl::Hours(24);
  // f: dishonest landmarks every verdict tolerates.
  int robustness_f = 1;
  // Fewer distinct usable landmarks than this: unproven. Raised to f + 1 when smaller.
  int min_landmarks = 3;
  // A processing time no prover can beat, subtracted from every RTT (DESIGN.md §4: zero
  // unless configured; never a time the prover reports).
  double rtt_floor_ms = 0;
};

// Everything Decide needs about one GPU.
struct DeviceInput {
  const Device* device = nullptr;            // REQUIRES: non-null.
  absl::Span<const MinRtt> rtts;             // This device's rows only.
  const Licence* licence = nullptr;          // nullptr: unlicensed.
  const LicenceGeometry* geometry = nullptr; // REQUIRES: non-null when licence is.
  const Verdict* previous = nullptr;         // Latest stored verdict, if any.
};

// A verdict plus what the detectors need from its computation.
struct Decision {
  Verdict verdict;
  bool has_estimate = false;
  bool region_inconsistent = false;  // The full (f = 0) region is empty.
  std::optional<absl::Time> last_measurement;  // Latest measurement, any landmark.
  std::optional<absl::Time> status_since;
  std::optional<absl::Time> last_compliant_at;
};

class VerdictEngine {
 public:
  // `landmarks`: every landmark; flagged and retired ones are ignored.
  VerdictEngine(const VerdictEngineOptions& options, absl::Span<const Landmark> landmarks);

  // The sound distance bounds of `rtts` at `now`: one per usable landmark measured within
  // the window; DistanceBound::landmark is the store's landmark id.
  std::vector<geo::DistanceBound> Bounds(absl::Span<const MinRtt> rtts, absl::Time now) const;

  // The verdict's licence_id is the licence it is judged against: input.licence's id, 0 when
  // none (also on a reused verdict, so that a move to a licence with the same geometry shows).
  Decision Decide(const DeviceInput& input, absl::Time now) const;

  const VerdictEngineOptions& options() const { return options_; }

  // Version of the inputs fingerprint; bump when the decision logic changes so stored
  // verdicts are recomputed.
  static constexpr int kFingerprintVersion = 1;
  // True for an active landmark known to the engine.
  bool IsUsable(int64_t landmark_id) const { return points_.contains(landmark_id); }
  const Landmark* FindLandmark(int64_t id) const;

 private:
  // A stable hash of everything a decision depends on: the bounds (landmark, position,
  // radius), the options, the licence's geometry and whether it is valid at `now`.
  std::string Fingerprint(const DeviceInput& in, absl::Span<const geo::DistanceBound> bounds,
                          absl::Time now) const;
  // The previous verdict again (time = now) when its fingerprint is `fingerprint`.
  std::optional<Decision> Reuse(const DeviceInput& in, const std::string& fingerprint,
                                absl::Time now) const;

  VerdictEngineOptions options_;
  absl::flat_hash_map<int64_t, S2Point> points_;  // Active landmarks only.
  absl::flat_hash_map<int64_t, Landmark> landmarks_;  // All.
};

// Reads "status_since" / "last_compliant_at" / "last_measurement_at" (RFC 3339) from a
// verdict's region_summary_json; nullopt when absent or malformed.
std::optional<absl::Time> SummaryTime(const Verdict& verdict, const char* field);

// "status_since" and "last_compliant_at" of a verdict's summary in one parse.
struct SummaryTimes {
  std::optional<absl::Time> status_since;
  std::optional<absl::Time> last_compliant_at;
};
SummaryTimes ParseSummaryTimes(const Verdict& verdict);

}  // namespace lightcone::server::fleet

#endif  // LIGHTCONE_SERVER_FLEET_VERDICT_ENGINE_H_
