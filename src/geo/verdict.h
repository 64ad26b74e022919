// Verdicts: does a device's sound region prove it is where its licence allows?
//
//   compliant  the region lies inside the allowed area (and outside prohibited regions);
//   violation  the region does not meet the allowed area at all: the key answered from
//              outside it. This is proof, not suspicion;
//   unproven   anything else (too few bounds, a region that crosses a border, an
//              inconsistent set of measurements).
//
// f-robust verdicts tolerate f dishonest landmarks (which can only pull a device "near" by
// reporting a smaller RTT): the claim must hold for the region left after dropping any f
// bounds, i.e. a point counts as excluded only when at least f + 1 bounds exclude it.
#ifndef LIGHTCONE_GEO_VERDICT_H_
#define LIGHTCONE_GEO_VERDICT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "geo/area_index.h"
#include "geo/sound_region.h"
#include "s2/s2cap.h"

namespace lightcone::geo {

enum class VerdictStatus { kCompliant, kViolation, kUnproven };
const char* VerdictStatusName(VerdictStatus s);

// An allowed area: licensed sites (discs) and/or allowed countries (a polygon).
// A region counts as inside the area when it is inside one site or inside the countries.
// (A region split between a site and a country is reported unproven: conservative.)
struct LicensedArea {
  std::vector<S2Cap> sites;
  const AreaIndex* countries = nullptr;  // Not owned; may be null.
};

// How `region` lies relative to `area`.
Relation RelateToArea(const SoundRegion& region, const LicensedArea& area);

// The limit on how many sub-regions an f-robust evaluation may build.
inline constexpr int kMaxRobustSubregions = 4096;

// The regions left after dropping every choice of `f` bounds; their union is the set of
// points excluded by at most f bounds. For f = 1 and a non-empty region of caps below a
// hemisphere, only bounds on the region's boundary are dropped (dropping any other leaves
// the region unchanged). Fails with ResourceExhausted beyond kMaxRobustSubregions, and with
// InvalidArgument for f < 0.
absl::StatusOr<std::vector<SoundRegion>> RobustSubregions(absl::Span<const DistanceBound> bounds,
                                                          int f);

struct VerdictOptions {
  int robustness = 1;  // f: dishonest landmarks tolerated.
  int min_bounds = 1;  // Fewer finite bounds than robustness + min_bounds: unproven.
};

struct Verdict {
  VerdictStatus status = VerdictStatus::kUnproven;
  std::string reason;   // Why, in words (for unproven in particular).
  int bounds_used = 0;  // Bounds smaller than the whole sphere.
  int robustness = 0;   // f actually applied.
};

// Decides the verdict of the device with distance bounds `bounds` against `allowed` and
// (optionally) `prohibited`.
Verdict DecideVerdict(absl::Span<const DistanceBound> bounds, const LicensedArea& allowed,
                      const AreaIndex* prohibited, const VerdictOptions& options = {});

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_VERDICT_H_
