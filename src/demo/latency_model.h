// The demo's latency model: how long a round trip between two places on Earth takes, fitted
// to the RIPE Atlas 2018 anchor mesh (../shared/data/ripe-atlas-2018, see docs/demo.md).
//
//   rtt = 2 * distance / (fibre_fraction * c) * inflation(path) + overhead(a) + overhead(b)
//         + jitter(sample)
//
//  - distance: great-circle distance between the two ends.
//  - inflation(path) >= 1: how much longer than a straight fibre the real path is (routing
//    detours, queueing on the minimum). Drawn once per path from the empirical quantiles of
//    the fitted distance band (the data's inflation shrinks with distance: 7x at 100 km,
//    about 2x beyond 4000 km relative to fibre).
//  - overhead(h) >= 0: per-host access and processing delay (last mile, stack), drawn once per
//    host from a log-normal fitted to the RTTs of pairs less than 50 km apart.
//  - jitter >= 0: per-sample queueing noise (exponential, mean a fraction of the base RTT).
//    The data holds minimum RTTs only, so the jitter is not fitted; it only ever adds.
//
// Because inflation >= 1 and fibre_fraction < 1, no modelled RTT is ever below the vacuum
// light-speed bound 2 d / c: the model can never make a proof unsound.
//
// Deterministic: every draw is a hash of (seed, host or path name), so the same world gives
// the same delays on every run. LatencyModel is a copyable value; const methods are
// thread-safe.
#ifndef LIGHTCONE_DEMO_LATENCY_MODEL_H_
#define LIGHTCONE_DEMO_LATENCY_MODEL_H_

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace lightcone::demo {

// Speed of light in vacuum, km per millisecond.
inline constexpr double kLightKmPerMs = 299.792458;
// Quantile levels of the per-band inflation distribution.
inline constexpr int kInflationQuantiles = 7;
inline constexpr std::array<double, kInflationQuantiles> kInflationLevels = {
    0.02, 0.10, 0.25, 0.50, 0.75, 0.90, 0.98};
// Inflations are clamped to [1, kMaxInflation] when fitting (pairs a few km apart give wild
// ratios that the per-host overhead already explains).
inline constexpr double kMaxInflation = 20.0;
// Pairs closer than this fit the per-host overhead.
inline constexpr double kOverheadBandKm = 50.0;

// The inflation quantiles of pairs whose distance is below upper_km (and at or above the
// previous band's upper_km).
struct InflationBand {
  double upper_km = 0;
  std::array<double, kInflationQuantiles> quantiles{};
  int samples = 0;  // Pairs the band was fitted on.
};

struct LatencyModelParams {
  // Propagation speed in fibre as a fraction of c (refractive index ~1.47).
  double fibre_fraction_of_c = 2.0 / 3.0;
  // Increasing upper_km; the last band covers everything beyond.
  std::vector<InflationBand> bands;
  // Per-host one-way-and-back overhead: log-normal with this median and log-sigma.
  double host_overhead_median_ms = 0.5;
  double host_overhead_log_sigma = 0.8;
  // Cap on one host's overhead (the log-normal's far tail would otherwise give seconds).
  double host_overhead_max_ms = 20.0;
  // Per-sample jitter: exponential with mean jitter_fraction * base RTT + jitter_floor_ms.
  double jitter_fraction = 0.02;
  double jitter_floor_ms = 0.05;
};

// One (distance_km, rtt_ms) observation between two positioned hosts.
struct DistanceRtt {
  double distance_km = 0;
  double rtt_ms = 0;
};

// The modelled delay of one path (both directions equal).
struct PathDelay {
  double distance_km = 0;
  double inflation = 1;
  double base_rtt_ms = 0;       // Without jitter: the path's minimum RTT.
  double light_bound_rtt_ms = 0;  // 2 d / c: no RTT can be smaller.
  double jitter_mean_ms = 0;

  double one_way_ms() const { return base_rtt_ms / 2; }
};

// Great-circle distance (mean Earth radius 6371.01 km).
double GreatCircleKm(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg);

class LatencyModel {
 public:
  // The parameters fitted on the RIPE Atlas 2018 mesh, built in (docs/demo.md has the
  // numbers; latency_model_test checks they equal a fresh fit).
  static LatencyModel Default(uint64_t seed = 1);
  // Fits the model to measured pairs. InvalidArgument when a band has no sample or there
  // are no pairs below kOverheadBandKm.
  static absl::StatusOr<LatencyModel> Fit(absl::Span<const DistanceRtt> samples,
                                          uint64_t seed = 1);
  // Reads a hosts.csv + rtts.csv dataset (../shared/data/README.md) and fits on every pair
  // of positioned hosts.
  static absl::StatusOr<std::vector<DistanceRtt>> LoadSamples(const std::string& hosts_csv,
                                                              const std::string& rtts_csv);

  LatencyModel(LatencyModelParams params, uint64_t seed);

  const LatencyModelParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }

  // The overhead of the host named `host` (deterministic in seed and name).
  double HostOverheadMs(absl::string_view host) const;
  // The inflation of the path between `a` and `b` (symmetric in a, b) at `distance_km`.
  double PathInflation(absl::string_view a, absl::string_view b, double distance_km) const;
  // The inflation at quantile level u in [0, 1] of the band of `distance_km`.
  double InflationQuantile(double distance_km, double u) const;

  // The path between two named hosts `distance_km` apart.
  PathDelay Path(absl::string_view a, absl::string_view b, double distance_km) const;
  // Same, with overheads given (e.g. when one end is a relay chain).
  PathDelay PathWithOverheads(absl::string_view a, absl::string_view b, double distance_km,
                              double overhead_a_ms, double overhead_b_ms) const;

  // One RTT sample of `path`: base + exponential jitter. Never below path.base_rtt_ms.
  double SampleRttMs(const PathDelay& path, std::mt19937_64& rng) const;

 private:
  LatencyModelParams params_;
  uint64_t seed_;
};

// Stable 64-bit hash of (seed, text): FNV-1a then a splitmix64 finaliser. Identical on every
// platform and run (absl::Hash is not).
uint64_t StableHash(uint64_t seed, absl::string_view text);
// A uniform double in [0, 1) from a hash.
double HashToUnit(uint64_t hash);

}  // namespace lightcone::demo

#endif  // LIGHTCONE_DEMO_LATENCY_MODEL_H_
