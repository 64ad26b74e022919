// Delay-distance calibration fitted from landmark-to-landmark measurements.
//
// Two models:
//  - Bestline (CBG, Gueye et al. IMC 2004): per landmark, the line rtt = m * d + b that lies
//    under all of that landmark's (distance, rtt) points, with b >= 0 and m at least the
//    slope of light at 2/3 c, chosen to be as close to the points as possible (the linear
//    programme min sum(rtt_i - m d_i - b)). It turns an RTT into a distance bound
//    (rtt - b) / m for estimates. It is not a proof: only vacuum light speed is.
//  - DistanceRatioModel: pooled over all landmarks, how far a host at a given RTT really is
//    as a fraction of the bestline's reach (quantiles per RTT bin), for the default
//    estimator's distance guesses.
//
// Both are fitted from calibration points the caller selects, so leave-one-out evaluation
// can drop every pair of the located host.
#ifndef LIGHTCONE_GEO_CALIBRATION_H_
#define LIGHTCONE_GEO_CALIBRATION_H_

#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace lightcone::geo {

// RTT per km of great-circle distance for light at 2/3 c (fiber), there and back.
inline constexpr double kTwoThirdsCRttMsPerKm = 2.0 / (299.792458 * 2.0 / 3.0);

// One landmark-to-host measurement with the declared distance between the two.
struct CalibrationPoint {
  double distance_km = 0;
  double rtt_ms = 0;
  int other_host = -1;  // The host at the other end (for leave-one-out exclusion).
};

struct Bestline {
  double slope_ms_per_km = kTwoThirdsCRttMsPerKm;
  double intercept_ms = 0;

  // The distance the line gives for `rtt_ms` (never negative).
  double DistanceKm(double rtt_ms) const;
};

// Fits the bestline of one landmark's points, ignoring those whose other_host is
// `exclude_host`. With fewer than two usable points, returns the 2/3 c baseline through the
// origin. `min_slope_ms_per_km` is the steepest speed allowed (default 2/3 c).
Bestline FitBestline(absl::Span<const CalibrationPoint> points,
                     std::optional<int> exclude_host = std::nullopt,
                     double min_slope_ms_per_km = kTwoThirdsCRttMsPerKm);

// How far, as a fraction of its bestline distance, a host at a given RTT really is: the
// pooled quantiles of ratio = distance / bestline distance (in [0, 1] for the points under
// the line) per RTT bin (log scale, kBinsPerOctave per octave above kMinRttMs).
class DistanceRatioModel {
 public:
  static constexpr double kMinRttMs = 0.1;
  static constexpr int kBinsPerOctave = 2;
  static constexpr int kBins = 28;  // Up to ~1600 ms.
  static constexpr int kMinSamplesPerBin = 20;  // Sparser bins borrow from their neighbours.

  struct Sample {
    double rtt_ms;
    double ratio;
  };
  struct Quantiles {
    double q25 = 0.25;
    double q50 = 0.5;
    double q75 = 0.75;
  };
  explicit DistanceRatioModel(absl::Span<const Sample> samples);

  const Quantiles& At(double rtt_ms) const { return bins_[Bin(rtt_ms)]; }

 private:
  static int Bin(double rtt_ms);
  std::vector<Quantiles> bins_;
};

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_CALIBRATION_H_
