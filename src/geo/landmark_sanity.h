// Landmark sanity: finds hosts whose declared positions are physically impossible given the
// measured RTTs between hosts of declared position.
//
// A measured RTT r between hosts A and B at great-circle distance d is impossible when
// r < d / 149.896 km per ms (light in vacuum, there and back): at least one of the two
// declared positions is wrong. A violation names a pair, so it must be attributed:
// greedily, the host involved in the most unexplained violations is flagged (ties: the larger
// summed shortfall in ms, then the lower host index), its violations count as explained, and
// the rest are recounted until none is left. A wrong position typically contradicts many
// honest hosts at once, while each honest host contradicts only the wrong ones, so the wrong
// host leads the count. A pair with one violation only (A and B contradict each other and
// nobody else) flags the host with the larger shortfall, or the lower index: the data cannot
// tell more, and excluding one of them is enough for soundness of everything else.
//
// Flagged hosts must not be used as landmarks (calibration or observations).
#ifndef LIGHTCONE_GEO_LANDMARK_SANITY_H_
#define LIGHTCONE_GEO_LANDMARK_SANITY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "geo/dataset.h"

namespace lightcone::geo {

struct LandmarkSanityOptions {
  // An RTT counts as impossible only when it is below the light-speed minimum by more than
  // this. Zero by default: declared positions are given to ~100 m, which is 0.0007 ms.
  double tolerance_ms = 0.0;
};

// One RTT below the light-speed minimum for the declared positions of its two hosts.
struct LightSpeedViolation {
  int landmark = 0;  // Host indices into Dataset::hosts().
  int target = 0;
  double rtt_ms = 0;
  double distance_km = 0;
  double min_rtt_ms = 0;  // distance_km / kVacuumKmPerRttMs.
  double shortfall_ms() const { return min_rtt_ms - rtt_ms; }
};

struct FlaggedLandmark {
  int host = 0;
  std::string id;
  int violations = 0;  // Violations attributed to this host.
  // For people: "11 RTTs faster than light allows (with 11 hosts); worst: 3.1 ms with X at
  // 2100 km needs >= 14.0 ms".
  std::string reason;
};

struct LandmarkSanityResult {
  std::vector<FlaggedLandmark> flagged;  // In the order the greedy attribution chose them.
  std::vector<bool> is_flagged;          // Indexed by host.
  int violations = 0;                    // Violations considered (after exclude_host).
};

// Every sample between two positioned hosts whose RTT is impossible for their positions.
std::vector<LightSpeedViolation> FindLightSpeedViolations(const Dataset& dataset,
                                                          const LandmarkSanityOptions& options);

// Greedy attribution (above) of `violations`. Violations that involve `exclude_host` are
// ignored, so that a leave-one-out evaluation of that host uses nothing about its position.
LandmarkSanityResult AttributeViolations(const Dataset& dataset,
                                         absl::Span<const LightSpeedViolation> violations,
                                         std::optional<int> exclude_host = std::nullopt);

// FindLightSpeedViolations + AttributeViolations.
LandmarkSanityResult CheckLandmarks(const Dataset& dataset,
                                    const LandmarkSanityOptions& options = {});

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_LANDMARK_SANITY_H_
