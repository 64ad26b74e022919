#include "geo/estimator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "geo/units.h"
#include "s2/s1angle.h"

namespace lightcone::geo {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Calibration needs at least one pair of hosts with known positions.
constexpr int kMinPositionedHosts = 2;
// CBG: the factors by which all radii are scaled, in turn, until the caps meet.
constexpr double kCbgScaleSteps[] = {1.0, 1.05, 1.1, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 8.0, 16.0};
// CBG: the grid laid over the smallest cap to find the constraint region is this many points
// across (odd, so the centre is on it).
constexpr int kCbgGridPoints = 41;
// Grid points farther than this from a grid's centre are left out: the azimuthal equidistant
// projection (Offset) has no point beyond the antipode.
constexpr double kHalfCircumferenceKm = M_PI * kEarthRadiusKm;
// CBG: below this mean resultant length (|sum of unit vectors| / count) the region's points
// surround the globe and their centroid is noise.
constexpr double kMinCentroidNorm = 0.05;

double DistanceKm(const S2Point& a, const S2Point& b) {
  const double chord = (a - b).Norm();
  return 2.0 * std::asin(std::min(1.0, chord / 2.0)) * kEarthRadiusKm;
}

// Orthonormal tangent basis at unit vector p.
std::pair<S2Point, S2Point> TangentBasis(const S2Point& p) {
  S2Point east = S2Point(0, 0, 1).CrossProd(p);
  if (east.Norm2() < 1e-20) east = S2Point(0, 1, 0).CrossProd(p);
  east = east.Normalize();
  return {east, p.CrossProd(east).Normalize()};
}

// The point at tangent-plane offsets (east_km, north_km) from p, in the azimuthal equidistant
// projection: (east, north) / |(east, north)| is the bearing and the norm the great-circle
// distance (clamped at the antipode), so a grid reaches as far as the cap does (a gnomonic
// grid bunches up and cannot reach beyond a quarter of the globe). Grid points are not of
// equal area: near a 6,000 km rim one stands for ~1.16x the area of one at the centre.
S2Point Offset(const S2Point& p, const std::pair<S2Point, S2Point>& basis, double east_km,
               double north_km) {
  const double r_km = std::hypot(east_km, north_km);
  if (r_km == 0) return p;
  const double angle = std::min(r_km / kEarthRadiusKm, M_PI);
  const S2Point dir = (basis.first * (east_km / r_km) + basis.second * (north_km / r_km));
  return (p * std::cos(angle) + dir * std::sin(angle)).Normalize();
}

}  // namespace

const char* EstimateMethodName(EstimateMethod method) {
  switch (method) {
    case EstimateMethod::kBest:
      return "best";
    case EstimateMethod::kCbg:
      return "cbg";
    case EstimateMethod::kShortestPing:
      return "shortest-ping";
  }
  return "unknown";
}

struct Estimator::Context {
  std::optional<int> exclude;
  std::vector<bool> flagged;         // Per host.
  std::vector<Bestline> bestlines;   // Per host (only landmarks of the observations are fresh).
  const DistanceRatioModel* ratio = nullptr;
  std::optional<DistanceRatioModel> own_ratio;
};

absl::StatusOr<Estimator> Estimator::Fit(const Dataset& dataset, const EstimatorOptions& options) {
  Estimator est;
  est.options_ = options;
  const auto& hosts = dataset.hosts();
  const int n = static_cast<int>(hosts.size());
  est.points_.assign(n, S2Point(0, 0, 0));
  est.has_position_.assign(n, false);
  for (int i = 0; i < n; ++i) {
    if (hosts[i].position.has_value()) {
      est.points_[i] = hosts[i].position->ToPoint();
      est.has_position_[i] = true;
    }
  }
  int positioned = 0;
  for (int i = 0; i < n; ++i) positioned += est.has_position_[i] ? 1 : 0;
  if (positioned < kMinPositionedHosts) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot calibrate: ", positioned, " hosts with a position, need at least ",
        kMinPositionedHosts));
  }
  est.violations_ = FindLightSpeedViolations(dataset, options.sanity);
  est.sanity_ = AttributeViolations(dataset, est.violations_);

  // One RTT per unordered pair of positioned hosts: the smaller of the two directions (the
  // same path measured twice). Pairs with a flagged host are left out of every calibration.
  absl::flat_hash_map<std::pair<int, int>, double> pair_rtt;
  for (const RttSample& s : dataset.samples()) {
    if (!est.has_position_[s.landmark] || !est.has_position_[s.target]) continue;
    if (est.sanity_.is_flagged[s.landmark] || est.sanity_.is_flagged[s.target]) continue;
    const auto key = std::minmax(s.landmark, s.target);
    auto [it, inserted] = pair_rtt.try_emplace(key, s.rtt_ms);
    if (!inserted) it->second = std::min(it->second, s.rtt_ms);
  }
  est.calibration_.assign(n, {});
  for (const auto& [key, rtt_ms] : pair_rtt) {
    const double d_km = DistanceKm(est.points_[key.first], est.points_[key.second]);
    est.calibration_[key.first].push_back(CalibrationPoint{d_km, rtt_ms, key.second});
    est.calibration_[key.second].push_back(CalibrationPoint{d_km, rtt_ms, key.first});
  }
  est.bestlines_.assign(n, Bestline{});
  for (int i = 0; i < n; ++i) {
    if (static_cast<int>(est.calibration_[i].size()) >= options.min_calibration_points) {
      est.bestlines_[i] = FitBestline(est.calibration_[i]);
    }
  }
  est.ratio_model_.emplace(est.BuildRatioModel(est.bestlines_, est.sanity_.is_flagged, std::nullopt));
  return est;
}

absl::StatusOr<Estimate> Estimator::Locate(absl::Span<const Observation> observations,
                                           EstimateMethod method,
                                           std::optional<int> exclude_host) const {
  const int n = static_cast<int>(points_.size());
  Context ctx;
  ctx.exclude = exclude_host;
  if (exclude_host.has_value() && !violations_.empty()) {
    // Re-attribute without the excluded host's pairs: its position must not decide who is
    // flagged. (Building a Dataset is not needed: attribution only reads ids.)
    std::vector<LightSpeedViolation> kept;
    for (const auto& v : violations_) {
      if (v.landmark != *exclude_host && v.target != *exclude_host) kept.push_back(v);
    }
    // Same greedy rule as AttributeViolations, on indices only.
    ctx.flagged.assign(n, false);
    while (!kept.empty()) {
      std::vector<int> count(n, 0);
      std::vector<double> shortfall(n, 0);
      for (const auto& v : kept) {
        for (int h : {v.landmark, v.target}) {
          ++count[h];
          shortfall[h] += v.shortfall_ms();
        }
      }
      int worst = -1;
      for (int h = 0; h < n; ++h) {
        if (count[h] == 0) continue;
        if (worst < 0 || count[h] > count[worst] ||
            (count[h] == count[worst] && shortfall[h] > shortfall[worst])) {
          worst = h;
        }
      }
      ctx.flagged[worst] = true;
      std::erase_if(kept, [&](const LightSpeedViolation& v) {
        return v.landmark == worst || v.target == worst;
      });
    }
  } else {
    ctx.flagged = sanity_.is_flagged;
  }

  // Validate and keep the usable observations, one (the lowest RTT) per landmark.
  absl::flat_hash_map<int, double> best_rtt;
  for (const Observation& o : observations) {
    if (o.landmark < 0 || o.landmark >= n) {
      return absl::InvalidArgumentError(absl::StrCat("observation landmark index ", o.landmark,
                                                     " is out of range [0, ", n, ")"));
    }
    if (!std::isfinite(o.rtt_ms) || o.rtt_ms < 0) {
      return absl::InvalidArgumentError(absl::StrCat("observation from landmark index ", o.landmark,
                                                     ": rtt_ms ", o.rtt_ms,
                                                     " is not a finite non-negative number"));
    }
    if (!has_position_[o.landmark] || ctx.flagged[o.landmark]) continue;
    if (exclude_host.has_value() && o.landmark == *exclude_host) continue;
    auto [it, inserted] = best_rtt.try_emplace(o.landmark, o.rtt_ms);
    if (!inserted) it->second = std::min(it->second, o.rtt_ms);
  }
  if (best_rtt.empty()) {
    return absl::FailedPreconditionError(
        "no usable observation: every landmark is unknown, unpositioned, flagged or excluded");
  }
  std::vector<Observation> obs;
  obs.reserve(best_rtt.size());
  for (const auto& [landmark, rtt_ms] : best_rtt) obs.push_back(Observation{landmark, rtt_ms});
  std::sort(obs.begin(), obs.end(), [](const Observation& a, const Observation& b) {
    return a.rtt_ms < b.rtt_ms || (a.rtt_ms == b.rtt_ms && a.landmark < b.landmark);
  });

  // Calibration without the excluded host (and without newly flagged hosts).
  const bool refit = exclude_host.has_value() || ctx.flagged != sanity_.is_flagged;
  ctx.bestlines = bestlines_;
  if (refit) {
    // kBest's ratio model reads every bestline; the other methods only the observers'.
    std::vector<int> refit_hosts;
    if (method == EstimateMethod::kBest) {
      for (int h = 0; h < n; ++h) refit_hosts.push_back(h);
    } else {
      for (const Observation& o : obs) refit_hosts.push_back(o.landmark);
    }
    std::vector<CalibrationPoint> points;
    for (int h : refit_hosts) {
      points.clear();
      for (const CalibrationPoint& p : calibration_[h]) {
        if (ctx.flagged[p.other_host]) continue;
        if (exclude_host.has_value() && p.other_host == *exclude_host) continue;
        points.push_back(p);
      }
      ctx.bestlines[h] = static_cast<int>(points.size()) >= options_.min_calibration_points
                             ? FitBestline(points)
                             : Bestline{};
    }
  }
  ctx.ratio = &*ratio_model_;
  if (method == EstimateMethod::kBest && refit) {
    ctx.own_ratio.emplace(BuildRatioModel(ctx.bestlines, ctx.flagged, exclude_host));
    ctx.ratio = &*ctx.own_ratio;
  }

  Estimate e;
  switch (method) {
    case EstimateMethod::kShortestPing:
      e = LocateShortestPing(ctx, obs);
      break;
    case EstimateMethod::kCbg:
      e = LocateCbg(ctx, obs);
      break;
    case EstimateMethod::kBest:
      e = LocateBest(ctx, obs);
      break;
    default:
      return absl::InvalidArgumentError("unknown estimate method");
  }
  // No point of the sphere is farther than half its circumference.
  e.uncertainty_km = std::min(e.uncertainty_km, kHalfCircumferenceKm);
  return e;
}

DistanceRatioModel Estimator::BuildRatioModel(const std::vector<Bestline>& bestlines,
                                              const std::vector<bool>& flagged,
                                              std::optional<int> exclude) const {
  auto usable = [&](int h) { return !flagged[h] && !(exclude.has_value() && h == *exclude); };
  std::vector<DistanceRatioModel::Sample> samples;
  for (size_t h = 0; h < calibration_.size(); ++h) {
    if (!usable(static_cast<int>(h))) continue;
    for (const CalibrationPoint& p : calibration_[h]) {
      if (!usable(p.other_host)) continue;
      const double reach_km = bestlines[h].DistanceKm(p.rtt_ms);
      if (reach_km <= 0) continue;
      samples.push_back({p.rtt_ms, p.distance_km / reach_km});
    }
  }
  return DistanceRatioModel(samples);
}

Estimate Estimator::LocateShortestPing(const Context& ctx, absl::Span<const Observation> obs) const {
  const Observation& nearest = obs.front();
  Estimate e;
  e.position = S2LatLng(points_[nearest.landmark]);
  e.uncertainty_km = ctx.bestlines[nearest.landmark].DistanceKm(nearest.rtt_ms);
  e.landmarks_used = static_cast<int>(obs.size());
  return e;
}

Estimate Estimator::LocateCbg(const Context& ctx, absl::Span<const Observation> obs) const {
  std::vector<double> radius_km(obs.size());
  int smallest = 0;
  for (size_t i = 0; i < obs.size(); ++i) {
    radius_km[i] = ctx.bestlines[obs[i].landmark].DistanceKm(obs[i].rtt_ms);
    if (radius_km[i] < radius_km[smallest]) smallest = static_cast<int>(i);
  }
  Estimate e;
  e.landmarks_used = static_cast<int>(obs.size());
  for (double scale : kCbgScaleSteps) {
    // Grid over the smallest scaled cap; keep the points inside every scaled cap.
    const S2Point& center = points_[obs[smallest].landmark];
    const double r = std::max(radius_km[smallest] * scale, 1.0);
    const auto basis = TangentBasis(center);
    const int half = kCbgGridPoints / 2;
    const double step = r / half;
    std::vector<S2Point> inside;
    for (int i = -half; i <= half; ++i) {
      for (int j = -half; j <= half; ++j) {
        if (std::hypot(i, j) * step > kHalfCircumferenceKm) continue;
        const S2Point p = Offset(center, basis, i * step, j * step);
        bool ok = true;
        for (size_t k = 0; k < obs.size() && ok; ++k) {
          ok = DistanceKm(p, points_[obs[k].landmark]) <= radius_km[k] * scale;
        }
        if (ok) inside.push_back(p);
      }
    }
    if (inside.empty()) continue;
    S2Point sum(0, 0, 0);
    for (const S2Point& p : inside) sum += p;
    // Points spread over most of the globe have no meaningful centroid: say so with the
    // nearest landmark and a radius covering everything.
    if (sum.Norm() < kMinCentroidNorm * static_cast<double>(inside.size())) {
      e.position = S2LatLng(points_[obs.front().landmark]);
      e.uncertainty_km = kHalfCircumferenceKm;
      return e;
    }
    const S2Point centroid = sum.Normalize();
    double farthest = 0;
    for (const S2Point& p : inside) farthest = std::max(farthest, DistanceKm(centroid, p));
    e.position = S2LatLng(centroid);
    e.uncertainty_km = farthest + step;
    return e;
  }
  // The caps never met: fall back to the nearest landmark.
  e.position = S2LatLng(points_[obs.front().landmark]);
  e.uncertainty_km = radius_km[0];
  return e;
}

Estimate Estimator::LocateBest(const Context& ctx, absl::Span<const Observation> obs) const {
  // Per observation: the bestline reach (CBG's cap radius), and the distance the target
  // probably is at, from the pooled ratio quantiles at that RTT.
  const double rtt_min = obs.front().rtt_ms;
  // Far from every landmark the delay model (calibrated mostly on short paths) and the
  // posterior mean (of a ring-shaped posterior) place targets in the middle of nowhere.
  if (rtt_min > options_.cbg_beyond_rtt_ms) return LocateCbg(ctx, obs);
  std::vector<double> weight(obs.size()), reach_km(obs.size()), expect_km(obs.size()),
      spread_km(obs.size());
  for (size_t i = 0; i < obs.size(); ++i) {
    weight[i] = std::pow((rtt_min + options_.proximity_weight_ms) /
                             (obs[i].rtt_ms + options_.proximity_weight_ms),
                         options_.proximity_weight_power);
    reach_km[i] = ctx.bestlines[obs[i].landmark].DistanceKm(obs[i].rtt_ms);
    const DistanceRatioModel::Quantiles& q = ctx.ratio->At(obs[i].rtt_ms);
    expect_km[i] = q.q50 * reach_km[i];
    spread_km[i] = std::max(options_.spread_floor_km, (q.q75 - q.q25) * reach_km[i]);
  }
  auto log_likelihood = [&](const S2Point& p) {
    double ll = 0;
    for (size_t i = 0; i < obs.size(); ++i) {
      const double d_km = DistanceKm(p, points_[obs[i].landmark]);
      if (obs[i].rtt_ms < d_km / kVacuumKmPerRttMs) return kNegInf;  // Outside a light cap.
      const double z = (d_km - expect_km[i]) / spread_km[i];
      ll -= weight[i] * 0.5 * z * z;
      if (d_km > reach_km[i]) {
        ll -= weight[i] * options_.cap_penalty * (d_km - reach_km[i]) / spread_km[i];
      }
    }
    return ll;
  };

  // Posterior mean over uniform grids: first over the cap of the lowest RTT at vacuum light
  // speed (the truth is inside it), then over a window around that mean sized by the
  // posterior spread.
  struct Scored {
    S2Point p;
    double ll;
  };
  const int half = options_.grid_half_width;
  auto evaluate_grid = [&](const S2Point& center, double radius_km, std::vector<Scored>* out) {
    out->clear();
    const auto basis = TangentBasis(center);
    const double step = radius_km / half;
    for (int i = -half; i <= half; ++i) {
      for (int j = -half; j <= half; ++j) {
        if (i * i + j * j > half * half) continue;
        if (std::hypot(i, j) * step > kHalfCircumferenceKm) continue;
        const S2Point p = Offset(center, basis, i * step, j * step);
        const double ll = log_likelihood(p);
        if (ll > kNegInf) out->push_back({p, ll});
      }
    }
  };
  auto max_ll = [](const std::vector<Scored>& pts) {
    double m = kNegInf;
    for (const Scored& s : pts) m = std::max(m, s.ll);
    return m;
  };
  auto posterior_mean = [&](const std::vector<Scored>& pts, double* spread) {
    const double top = max_ll(pts);
    S2Point sum(0, 0, 0);
    std::vector<double> w(pts.size());
    for (size_t k = 0; k < pts.size(); ++k) {
      w[k] = std::exp(pts[k].ll - top);
      sum += pts[k].p * w[k];
    }
    const S2Point mean = sum.Normalize();
    double var = 0, total = 0;
    for (size_t k = 0; k < pts.size(); ++k) {
      const double d = DistanceKm(mean, pts[k].p);
      var += w[k] * d * d;
      total += w[k];
    }
    *spread = std::sqrt(var / total);
    return mean;
  };
  const double cap_km = std::max(1.0, rtt_min * kVacuumKmPerRttMs);
  std::vector<Scored> coarse;
  evaluate_grid(points_[obs.front().landmark], cap_km, &coarse);
  if (coarse.empty()) return LocateShortestPing(ctx, obs);  // Inconsistent caps.
  double posterior_spread_km = 0;
  S2Point estimate = posterior_mean(coarse, &posterior_spread_km);
  // Never narrower than two steps of the first grid: a posterior that fell on one grid point
  // has an unresolved spread.
  const double window_km = std::max({options_.min_window_km, 2.0 * cap_km / half,
                                     options_.window_spreads * posterior_spread_km});
  std::vector<Scored> fine;
  evaluate_grid(estimate, window_km, &fine);
  if (!fine.empty()) estimate = posterior_mean(fine, &posterior_spread_km);
  const std::vector<Scored>& scored = fine.empty() ? coarse : fine;
  const double ll_top = max_ll(scored);

  // Hosts cluster at a few places (cities, data-center hubs): move to the known host nearest
  // the estimate when it is close and nearly as likely as the best grid point.
  if (options_.snap_km > 0) {
    int nearest = -1;
    double nearest_km = options_.snap_km;
    for (size_t h = 0; h < points_.size(); ++h) {
      if (!has_position_[h] || ctx.flagged[h]) continue;
      if (ctx.exclude.has_value() && static_cast<int>(h) == *ctx.exclude) continue;
      const double d = DistanceKm(estimate, points_[h]);
      if (d < nearest_km) {
        nearest_km = d;
        nearest = static_cast<int>(h);
      }
    }
    if (nearest >= 0 && log_likelihood(points_[nearest]) >= ll_top - options_.snap_max_loglik_drop) {
      estimate = points_[nearest];
    }
  }

  // Uncertainty: the radius around the estimate holding `uncertainty_mass` of the posterior
  // flattened by `uncertainty_temperature`.
  std::vector<std::pair<double, double>> mass_at;  // (distance, mass)
  double total = 0;
  for (const Scored& s : scored) {
    const double m = std::exp((s.ll - ll_top) / options_.uncertainty_temperature);
    mass_at.push_back({DistanceKm(estimate, s.p), m});
    total += m;
  }
  std::sort(mass_at.begin(), mass_at.end());
  double acc = 0, radius_km = 0;
  for (const auto& [d, m] : mass_at) {
    acc += m;
    radius_km = d;
    if (acc >= options_.uncertainty_mass * total) break;
  }
  Estimate e;
  e.position = S2LatLng(estimate);
  e.uncertainty_km = std::max(radius_km, options_.min_window_km);
  e.landmarks_used = static_cast<int>(obs.size());
  return e;
}

}  // namespace lightcone::geo
