#include "geo/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace lightcone::geo {
namespace {

constexpr double kSlack = 1e-9;

struct XY {
  double x;
  double y;
};

// Cross product of (b - a) and (c - a): > 0 for a left turn.
double Cross(const XY& a, const XY& b, const XY& c) {
  return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

}  // namespace

double Bestline::DistanceKm(double rtt_ms) const {
  return std::max(0.0, (rtt_ms - intercept_ms) / slope_ms_per_km);
}

Bestline FitBestline(absl::Span<const CalibrationPoint> points, std::optional<int> exclude_host,
                     double min_slope_ms_per_km) {
  std::vector<XY> xy;
  xy.reserve(points.size());
  for (const CalibrationPoint& p : points) {
    if (exclude_host.has_value() && p.other_host == *exclude_host) continue;
    xy.push_back({p.distance_km, p.rtt_ms});
  }
  const double m0 = min_slope_ms_per_km;
  if (xy.size() < 2) return Bestline{m0, 0.0};

  // The LP min sum(y_i - m x_i - b) over lines under every point is max (m * mean_x + b):
  // its optimum is a vertex of the feasible (m, b) polygon, i.e. a lower-hull edge, the line
  // through the origin touching the hull (b = 0 active) or the line of slope m0 touching
  // it (m = m0 active), or (m0, 0) itself.
  std::sort(xy.begin(), xy.end(), [](const XY& a, const XY& b) {
    return a.x < b.x || (a.x == b.x && a.y < b.y);
  });
  double mean_x = 0;
  for (const XY& p : xy) mean_x += p.x;
  mean_x /= static_cast<double>(xy.size());

  std::vector<XY> hull;
  for (const XY& p : xy) {
    if (!hull.empty() && hull.back().x == p.x) continue;  // Same x: the lower y came first.
    while (hull.size() >= 2 && Cross(hull[hull.size() - 2], hull.back(), p) <= 0) hull.pop_back();
    hull.push_back(p);
  }

  Bestline best{m0, 0.0};
  double best_value = -std::numeric_limits<double>::infinity();
  auto consider = [&](double m, double b) {
    if (m < m0 - kSlack || b < -kSlack) return;
    const double value = m * mean_x + b;
    if (value > best_value) {
      best_value = value;
      best = Bestline{std::max(m, m0), std::max(b, 0.0)};
    }
  };
  for (size_t i = 0; i + 1 < hull.size(); ++i) {
    const double m = (hull[i + 1].y - hull[i].y) / (hull[i + 1].x - hull[i].x);
    consider(m, hull[i].y - m * hull[i].x);
  }
  double min_ratio = std::numeric_limits<double>::infinity();
  double min_offset = std::numeric_limits<double>::infinity();
  bool origin_ok = true;
  for (const XY& p : xy) {
    if (p.x > 0) min_ratio = std::min(min_ratio, p.y / p.x);
    if (p.x <= 0 && p.y < 0) origin_ok = false;
    min_offset = std::min(min_offset, p.y - m0 * p.x);
  }
  if (origin_ok && std::isfinite(min_ratio)) consider(min_ratio, 0.0);
  consider(m0, min_offset);
  if (min_offset >= 0) consider(m0, 0.0);
  return best;
}

int DistanceRatioModel::Bin(double rtt_ms) {
  if (rtt_ms <= kMinRttMs) return 0;
  return std::clamp(static_cast<int>(std::log2(rtt_ms / kMinRttMs) * kBinsPerOctave), 0, kBins - 1);
}

DistanceRatioModel::DistanceRatioModel(absl::Span<const Sample> samples) : bins_(kBins) {
  std::vector<std::vector<double>> by_bin(kBins);
  for (const Sample& s : samples) by_bin[Bin(s.rtt_ms)].push_back(std::clamp(s.ratio, 0.0, 1.0));
  for (int b = 0; b < kBins; ++b) {
    // Widen the window until it holds enough samples.
    std::vector<double> v = by_bin[b];
    for (int w = 1; static_cast<int>(v.size()) < kMinSamplesPerBin && w < kBins; ++w) {
      if (b - w >= 0) v.insert(v.end(), by_bin[b - w].begin(), by_bin[b - w].end());
      if (b + w < kBins) v.insert(v.end(), by_bin[b + w].begin(), by_bin[b + w].end());
    }
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    auto q = [&](double p) { return v[static_cast<size_t>(p * (v.size() - 1))]; };
    bins_[b] = Quantiles{q(0.25), q(0.5), q(0.75)};
  }
}

}  // namespace lightcone::geo
