#include "geo/sound_region.h"

#include <algorithm>
#include <cmath>

#include "geo/internal/circle_intervals.h"
#include "geo/units.h"
#include "s2/s1chord_angle.h"
#include "s2/s2edge_crossings.h"
#include "s2/s2pointutil.h"

namespace lightcone::geo {

using internal::CutCircle;
using internal::CutKind;
using internal::Interval;
using internal::IntervalList;
using internal::kTwoPi;

const char* RelationName(Relation r) {
  switch (r) {
    case Relation::kEmpty: return "empty";
    case Relation::kInside: return "inside";
    case Relation::kOutside: return "outside";
    case Relation::kAcross: return "across";
  }
  return "unknown";
}

DistanceBound BoundFromRtt(const S2Point& landmark, double rtt_ms, int landmark_id,
                           double floor_ms) {
  return DistanceBound{landmark, MaxDistanceForRtt(std::max(0.0, rtt_ms - floor_ms)),
                       landmark_id};
}

SoundRegion::SoundRegion(absl::Span<const DistanceBound> bounds) {
  const double slack = kCapSlackKm / kEarthRadiusKm;
  std::vector<std::pair<DistanceBound, int>> sorted;
  sorted.reserve(bounds.size());
  for (size_t i = 0; i < bounds.size(); ++i) {
    const DistanceBound& b = bounds[i];
    double r = b.radius.radians() + slack;
    if (!(r < M_PI)) continue;  // Bounds nothing (also drops NaN).
    sorted.push_back({{b.center.Normalize(), S1Angle::Radians(r), b.landmark}, static_cast<int>(i)});
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.first.radius < b.first.radius;
  });
  // Dropping a bound can only enlarge the region, so every drop below is sound; we drop
  // duplicates of a center and bounds that contain a smaller kept bound.
  for (const auto& [b, source] : sorted) {
    const double cos_r = std::cos(b.radius.radians());
    const double sin_r = std::sin(b.radius.radians());
    bool redundant = false;
    for (size_t k = 0; k < bounds_.size(); ++k) {
      const double dot = b.center.DotProd(bounds_[k].center);
      if (dot >= 1.0 - 1e-15) { redundant = true; break; }  // Same center, larger radius.
      // b contains bound k iff angle(centers) <= r_b - r_k.
      const double cos_diff = cos_r * cos_r_[k] + sin_r * sin_r_[k];
      if (dot >= cos_diff) { redundant = true; break; }
    }
    if (redundant) continue;
    bounds_.push_back(b);
    source_index_.push_back(source);
    cos_r_.push_back(cos_r);
    sin_r_.push_back(sin_r);
    S2Point u = S2::Ortho(b.center);
    u_.push_back(u);
    v_.push_back(b.center.CrossProd(u));
  }
  Build();
}

SoundRegion SoundRegion::Grown(S1Angle margin) const {
  if (is_full()) return *this;
  std::vector<DistanceBound> grown = bounds_;
  for (DistanceBound& b : grown) b.radius = b.radius + margin;
  return SoundRegion(grown);
}

void SoundRegion::Build() {
  arcs_.clear();
  empty_ = false;
  const size_t n = bounds_.size();
  if (n == 0) return;
  for (size_t i = 0; i < n; ++i) {
    IntervalList list{Interval{}};
    for (size_t j = 0; j < n && !list.empty(); ++j) {
      if (j == i) continue;
      auto cut = CutCircle(cos_r_[i], sin_r_[i], bounds_[i].center, u_[i], v_[i],
                           bounds_[j].center, cos_r_[j]);
      if (cut.kind == CutKind::kNone) {
        list.clear();
      } else if (cut.kind == CutKind::kArc) {
        internal::IntersectWith(list, cut.arc);
      }
    }
    for (const Interval& iv : list) {
      arcs_.push_back(BoundaryArc{static_cast<int>(i), iv.start, iv.length});
    }
  }
  // A non-empty intersection of caps smaller than the sphere has a boundary, and every
  // boundary point lies on some circle inside all other caps.
  empty_ = arcs_.empty();
}

bool SoundRegion::Contains(const S2Point& p) const {
  if (empty_) return false;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (p.DotProd(bounds_[i].center) < cos_r_[i]) return false;
  }
  return true;
}

S2Point SoundRegion::PointOnArc(const BoundaryArc& arc, double t) const {
  const int i = arc.bound;
  const double a = arc.start + t * arc.length;
  return (cos_r_[i] * bounds_[i].center +
          sin_r_[i] * (std::cos(a) * u_[i] + std::sin(a) * v_[i])).Normalize();
}

namespace {

// Angle of the direction of `p` in a circle's frame.
double DirectionAngle(const S2Point& p, const S2Point& u, const S2Point& v) {
  return std::atan2(p.DotProd(v), p.DotProd(u));
}

bool ArcContains(const BoundaryArc& arc, double angle) {
  return internal::IntervalContains(Interval{arc.start, arc.length}, angle);
}

}  // namespace

S1Angle SoundRegion::MaxDistanceFrom(const S2Point& p) const {
  if (is_full() || Contains(-p)) return S1Angle::Radians(M_PI);
  S1Angle best = S1Angle::Zero();
  for (const BoundaryArc& arc : arcs_) {
    const int i = arc.bound;
    // On a circle the distance from p grows monotonically away from p's direction, so the
    // farthest point is opposite p's direction if the arc reaches it, else an endpoint.
    const double far = DirectionAngle(p, u_[i], v_[i]) + M_PI;
    if (ArcContains(arc, far)) {
      BoundaryArc point{i, internal::NormalizeAngle(far), 0};
      best = std::max(best, S1Angle(p, PointOnArc(point, 0)));
    }
    best = std::max(best, S1Angle(p, PointOnArc(arc, 0)));
    best = std::max(best, S1Angle(p, PointOnArc(arc, 1)));
  }
  return best;
}

S2Point SoundRegion::ClosestPoint(const S2Point& p) const {
  if (is_full() || Contains(p)) return p;
  S1Angle best = S1Angle::Infinity();
  S2Point best_point = p;
  auto consider = [&](const S2Point& q) {
    S1Angle d(p, q);
    if (d < best) { best = d; best_point = q; }
  };
  for (const BoundaryArc& arc : arcs_) {
    const int i = arc.bound;
    const double near = DirectionAngle(p, u_[i], v_[i]);
    if (ArcContains(arc, near)) consider(PointOnArc({i, internal::NormalizeAngle(near), 0}, 0));
    consider(PointOnArc(arc, 0));
    consider(PointOnArc(arc, 1));
  }
  return best_point;
}

S1Angle SoundRegion::MinDistanceFrom(const S2Point& p) const {
  return S1Angle(p, ClosestPoint(p));
}

double SoundRegion::AreaSteradians() const {
  if (empty_) return 0;
  if (is_full()) return 4 * M_PI;
  // Stokes with the 1-form w = (1 - cos phi) d(lambda) about the pole N = the smallest
  // bound's center. w is smooth except at -N, which lies outside that bound and so outside
  // the region; dw is the area form, and along a curve w(x') = N.(x cross x') / (1 + N.x).
  static constexpr double kNodes[8] = {-0.9602898564975363, -0.7966664774136267,
                                       -0.5255324099163290, -0.1834346424956498,
                                       0.1834346424956498,  0.5255324099163290,
                                       0.7966664774136267,  0.9602898564975363};
  static constexpr double kWeights[8] = {0.1012285362903763, 0.2223810344533745,
                                         0.3137066458778873, 0.3626837833783620,
                                         0.3626837833783620, 0.3137066458778873,
                                         0.2223810344533745, 0.1012285362903763};
  const S2Point& pole = bounds_[0].center;
  double total = 0;
  for (const BoundaryArc& arc : arcs_) {
    const int i = arc.bound;
    const int pieces = std::max(1, static_cast<int>(std::ceil(arc.length / (M_PI / 16))));
    const double h = arc.length / pieces;
    for (int k = 0; k < pieces; ++k) {
      const double mid = arc.start + (k + 0.5) * h;
      for (int g = 0; g < 8; ++g) {
        const double t = mid + 0.5 * h * kNodes[g];
        const double ct = std::cos(t), st = std::sin(t);
        S2Point x = cos_r_[i] * bounds_[i].center + sin_r_[i] * (ct * u_[i] + st * v_[i]);
        S2Point dx = sin_r_[i] * (-st * u_[i] + ct * v_[i]);
        total += 0.5 * h * kWeights[g] * pole.DotProd(x.CrossProd(dx)) / (1 + pole.DotProd(x));
      }
    }
  }
  return std::clamp(total, 0.0, 4 * M_PI);
}

double SoundRegion::AreaKm2() const { return AreaSteradians() * kEarthRadiusKm * kEarthRadiusKm; }

S2Cap SoundRegion::GetCapBound() const {
  if (is_full()) return S2Cap::Full();
  if (empty_) return S2Cap::Empty();
  S2Cap smallest(bounds_[0].center, bounds_[0].radius);
  S2Point sum(0, 0, 0);
  for (const BoundaryArc& arc : arcs_) {
    sum += PointOnArc(arc, 0) + PointOnArc(arc, 0.5) + PointOnArc(arc, 1);
  }
  if (sum.Norm2() < 1e-20) return smallest;
  S2Point center = sum.Normalize();
  S1Angle radius = MaxDistanceFrom(center);
  // Rounding in S1Angle(p, q) is far below the cap slack; add a hair anyway.
  radius = radius + S1Angle::Radians(1e-12);
  if (radius >= smallest.GetRadius()) return smallest;
  return S2Cap(center, radius);
}

Relation SoundRegion::RelationTo(const S2Cap& disc) const {
  if (empty_) return Relation::kEmpty;
  if (disc.is_full()) return Relation::kInside;
  if (disc.is_empty()) return Relation::kOutside;
  if (is_full()) return Relation::kAcross;
  const S1Angle r = disc.GetRadius();
  if (MaxDistanceFrom(disc.center()) <= r) return Relation::kInside;
  if (MinDistanceFrom(disc.center()) > r) return Relation::kOutside;
  return Relation::kAcross;
}

namespace {

// Cheap, trig-free test: can the edge a->b (great circle normal n, unit) meet the cap?
// False only when it certainly cannot.
bool EdgeMayMeetCap(const S2Point& a, const S2Point& b, const S2Point& n, const S2Point& c,
                    double cos_r, double sin_r) {
  if (a.DotProd(c) >= cos_r || b.DotProd(c) >= cos_r) return true;
  if (sin_r < 1.0 && cos_r > 0.0) {
    // The great circle's distance to c is asin(|n.c|); beyond the radius it misses.
    if (std::fabs(n.DotProd(c)) > sin_r + 1e-15) return false;
  }
  // The point of the great circle nearest c must lie on the edge (distance along a great
  // circle from c is unimodal, and both endpoints are outside).
  const S2Point p = c - c.DotProd(n) * n;
  return a.CrossProd(p).DotProd(n) >= -1e-15 && p.CrossProd(b).DotProd(n) >= -1e-15;
}

}  // namespace

bool SoundRegion::EdgeMeetsRegion(const S2Point& a, const S2Point& b) const {
  if (empty_) return false;
  if (is_full()) return true;
  S2Point n = a.CrossProd(b);
  if (n.Norm2() < 1e-24) n = S2::RobustCrossProd(a, b);
  n = n.Normalize();
  for (size_t j = 0; j < bounds_.size(); ++j) {
    if (!EdgeMayMeetCap(a, b, n, bounds_[j].center, cos_r_[j], sin_r_[j])) return false;
  }
  const S2Point v = n.CrossProd(a);
  IntervalList list{Interval{0, S1Angle(a, b).radians()}};
  if (list[0].length <= 0) return Contains(a);
  for (size_t j = 0; j < bounds_.size() && !list.empty(); ++j) {
    // The edge's great circle is a circle of radius pi/2 about n.
    auto cut = CutCircle(0.0, 1.0, n, a, v, bounds_[j].center, cos_r_[j]);
    if (cut.kind == CutKind::kNone) return false;
    if (cut.kind == CutKind::kArc) internal::IntersectWith(list, cut.arc);
  }
  return !list.empty();
}

}  // namespace lightcone::geo
