// Best-guess positions from RTTs to landmarks: the estimates of DESIGN.md §4. Estimates are
// for display and detectors; they prove nothing (the sound region does that).
//
// Methods:
//  - kShortestPing: the position of the landmark with the lowest RTT.
//  - kCbg: Constraint-Based Geolocation (Gueye et al. 2004). Each landmark's bestline (see
//    calibration.h) turns its RTT into a distance bound; the estimate is the centroid of the
//    intersection of those caps. When the caps do not all meet, every radius is scaled up by
//    the same factor (1.05, 1.1, 1.25, ...) until they do, as the CBG replication does.
//  - kBest (default): soft multilateration with a posterior mean. Each landmark's bestline
//    gives its reach R (CBG's radius); pooled calibration says how far, as a fraction of R,
//    hosts at that RTT really are (median and quartiles of distance / R per RTT bin, see
//    DistanceRatioModel). The log-likelihood of a point is
//      sum_i w_i * ( -z_i^2 / 2 - cap_penalty * max(0, d_i - R_i) / s_i ),
//    z_i = (d_i - median_i) / s_i, s_i the quartile spread, w_i = ((rtt_min + 2) /
//    (rtt_i + 2))^2 so the nearest landmarks dominate and far ones act mostly through their
//    soft caps; points outside any vacuum-light cap are impossible. The estimate is the
//    posterior mean over a grid laid over the lowest-RTT landmark's vacuum cap, refined on a
//    second grid around it; then, because hosts cluster in a few places, it moves to the
//    nearest known host within 100 km if that host is nearly as likely (log-likelihood within
//    3 of the best grid point). The mean (not the mode) matters: it cut p80 from ~380 km to
//    ~280 km in the evaluation. A target more than cbg_beyond_rtt_ms from every landmark is
//    located by kCbg: there the posterior is a ring around distant landmarks and its mean
//    lands between them (Kuwait placed in Siberia, 6,600 km off; CBG: 2,000 km).
//
// Uncertainty radius: for kBest, the radius around the estimate holding 80% of the posterior
// mass over the refinement grid, with the posterior flattened (temperature 6) because
// landmark errors are correlated; measured coverage 82.0% (far targets take kCbg's radius).
// For kCbg, the largest distance from the centroid to the constraint region (coverage 58%);
// for kShortestPing, the bestline distance of the lowest-RTT landmark (coverage 65%). The evaluation
// (estimator_eval_test) prints these coverages.
//
// Leave-one-out honesty: Locate(..., exclude_host = T) uses nothing about T's position: every
// calibration (bestlines, the ratio model, landmark sanity attribution) is recomputed without
// the pairs that involve T, T is never a landmark or a candidate point.
//
// Estimator is a copyable value, immutable after Fit; Locate is thread-safe.
#ifndef LIGHTCONE_GEO_ESTIMATOR_H_
#define LIGHTCONE_GEO_ESTIMATOR_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "geo/calibration.h"
#include "geo/dataset.h"
#include "geo/landmark_sanity.h"
#include "s2/s2latlng.h"
#include "s2/s2point.h"

namespace lightcone::geo {

enum class EstimateMethod { kBest, kCbg, kShortestPing };

// "best", "cbg", "shortest-ping".
const char* EstimateMethodName(EstimateMethod method);

struct Observation {
  int landmark = 0;  // Host index into the dataset the estimator was fitted on.
  double rtt_ms = 0;
};

struct Estimate {
  S2LatLng position;
  double uncertainty_km = 0;
  int landmarks_used = 0;  // Observations used after dropping flagged/excluded landmarks.
};

struct EstimatorOptions {
  LandmarkSanityOptions sanity;
  // Landmarks with fewer calibration points than this use the 2/3 c baseline as bestline.
  int min_calibration_points = 2;

  // kBest. The values were chosen by leave-one-out on the RIPE Atlas 2018 mesh
  // (estimator_eval_test); see docs in the header comment above.
  // Weight of an observation: ((rtt_min + w0) / (rtt + w0)) ^ power, rtt_min the target's
  // lowest RTT: nearby landmarks dominate, far ones mostly act through the cap penalty.
  double proximity_weight_ms = 2.0;
  double proximity_weight_power = 2.0;
  // The spread of a distance guess never falls below this.
  double spread_floor_km = 5.0;
  // Log-likelihood lost per spread beyond a landmark's bestline reach (soft CBG cap).
  double cap_penalty = 10.0;
  // Posterior grids have this many points per radius; the second grid spans window_spreads
  // posterior standard deviations (at least min_window_km).
  int grid_half_width = 20;
  double window_spreads = 3.0;
  double min_window_km = 5.0;
  // Snap to the nearest known host within snap_km of the estimate when its log-likelihood
  // is within snap_max_loglik_drop of the best grid point (0 disables snapping).
  double snap_km = 100.0;
  double snap_max_loglik_drop = 3.0;
  // The uncertainty radius holds this much of the posterior flattened by the temperature
  // (>1 widens). The posterior is overconfident (landmark errors are correlated); at 6 the
  // nominal 80% radius holds the truth for 82.0% of the RIPE leave-one-out targets.
  double uncertainty_mass = 0.8;
  double uncertainty_temperature = 6.0;
  // A target whose lowest RTT exceeds this is located by kCbg instead. 40 ms of RTT is
  // ~4,000 km at 2/3 c. Chosen on the RIPE leave-one-out (any value in 20..60 ms gives a
  // mean error of 242-245 km, 341 km without the hand-over; p90 799 -> 729 km; median and
  // p80 unchanged): estimator_eval_test prints the rows.
  double cbg_beyond_rtt_ms = 40.0;
};

class Estimator {
 public:
  // Calibrates on every pair of positioned hosts in `dataset` (after landmark sanity).
  static absl::StatusOr<Estimator> Fit(const Dataset& dataset, const EstimatorOptions& options = {});

  // Estimates the position of a host from `observations`. Landmarks flagged by sanity, without
  // a position, or equal to `exclude_host` are dropped; with exclude_host set, calibration is
  // redone without that host (leave-one-out). InvalidArgument for an observation whose
  // landmark index is out of range or whose RTT is negative or not finite;
  // FailedPrecondition when no usable observation is left.
  absl::StatusOr<Estimate> Locate(absl::Span<const Observation> observations, EstimateMethod method,
                                  std::optional<int> exclude_host = std::nullopt) const;

  // Landmark sanity on the full dataset.
  const LandmarkSanityResult& sanity() const { return sanity_; }
  // Bestline of `host` as a landmark, fitted on all data.
  const Bestline& bestline(int host) const { return bestlines_[host]; }

 private:
  struct Context;  // Per-call calibration (leave-one-out aware).

  Estimate LocateShortestPing(const Context& ctx, absl::Span<const Observation> obs) const;
  Estimate LocateCbg(const Context& ctx, absl::Span<const Observation> obs) const;
  Estimate LocateBest(const Context& ctx, absl::Span<const Observation> obs) const;
  // The ratio model over every calibration pair except those with a flagged host or
  // `exclude`, relative to `bestlines`.
  DistanceRatioModel BuildRatioModel(const std::vector<Bestline>& bestlines,
                                     const std::vector<bool>& flagged,
                                     std::optional<int> exclude) const;

  EstimatorOptions options_;
  std::vector<S2Point> points_;          // Per host; (0,0,0) when it has no position.
  std::vector<bool> has_position_;
  std::vector<std::vector<CalibrationPoint>> calibration_;  // Per landmark host.
  std::vector<Bestline> bestlines_;
  std::vector<LightSpeedViolation> violations_;
  LandmarkSanityResult sanity_;
  std::optional<DistanceRatioModel> ratio_model_;  // Over all pairs and bestlines.
};

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_ESTIMATOR_H_
