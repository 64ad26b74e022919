// Angular intervals on a circle of the sphere, and the cut of such a circle by a cap.
// The building block of SoundRegion: the boundary of an intersection of caps is, for each
// cap's circle, the set of angles at which the circle lies inside every other cap.
#ifndef LIGHTCONE_GEO_INTERNAL_CIRCLE_INTERVALS_H_
#define LIGHTCONE_GEO_INTERNAL_CIRCLE_INTERVALS_H_

#include <cmath>

#include "absl/container/inlined_vector.h"
#include "s2/s2point.h"

namespace lightcone::geo::internal {

inline constexpr double kTwoPi = 2.0 * M_PI;

// Maps any angle to [0, 2pi).
inline double NormalizeAngle(double a) {
  a = std::fmod(a, kTwoPi);
  if (a < 0) a += kTwoPi;
  if (a >= kTwoPi) a = 0;
  return a;
}

// A counterclockwise interval of angles [start, start + length], start in [0, 2pi),
// length in (0, 2pi]. length == 2pi is the whole circle.
struct Interval {
  double start = 0;
  double length = kTwoPi;
};
using IntervalList = absl::InlinedVector<Interval, 4>;

// True if `angle` lies in `iv` (closed).
inline bool IntervalContains(const Interval& iv, double angle) {
  if (iv.length >= kTwoPi) return true;
  return NormalizeAngle(angle - iv.start) <= iv.length;
}

// Replaces `list` by its intersection with `cut`.
inline void IntersectWith(IntervalList& list, const Interval& cut) {
  if (cut.length >= kTwoPi) return;
  IntervalList out;
  for (const Interval& a : list) {
    if (a.length >= kTwoPi) {  // Whole circle: the result is the cut itself, in one piece.
      out.push_back(cut);
      continue;
    }
    // In a's frame a covers [0, la]; cut covers [d, d + lc] and its copy shifted by -2pi.
    const double la = a.length;
    const double d = NormalizeAngle(cut.start - a.start);
    for (double shift : {0.0, -kTwoPi}) {
      double lo = std::max(0.0, d + shift);
      double hi = std::min(la, d + shift + cut.length);
      if (hi > lo) out.push_back({NormalizeAngle(a.start + lo), hi - lo});
    }
  }
  list = std::move(out);
}

// What part of a circle lies inside a cap.
enum class CutKind { kNone, kAll, kArc };
struct Cut {
  CutKind kind = CutKind::kAll;
  Interval arc;
};

// The circle is x(t) = cos_r * c + sin_r * (cos t * u + sin t * v) with (u, v, c) a
// right-handed orthonormal frame; the cap is {x : x . cap_center >= cap_cos_radius}.
inline Cut CutCircle(double cos_r, double sin_r, const S2Point& c, const S2Point& u,
                     const S2Point& v, const S2Point& cap_center, double cap_cos_radius) {
  const double a = cos_r * c.DotProd(cap_center);
  const double p = u.DotProd(cap_center);
  const double q = v.DotProd(cap_center);
  const double b = sin_r * std::hypot(p, q);
  if (b < 1e-300) {
    return Cut{a >= cap_cos_radius ? CutKind::kAll : CutKind::kNone, {}};
  }
  const double k = (cap_cos_radius - a) / b;
  if (k <= -1.0) return Cut{CutKind::kAll, {}};
  if (k >= 1.0) return Cut{CutKind::kNone, {}};
  const double half = std::acos(k);
  const double phi = std::atan2(q, p);
  return Cut{CutKind::kArc, {NormalizeAngle(phi - half), 2.0 * half}};
}

}  // namespace lightcone::geo::internal

#endif  // LIGHTCONE_GEO_INTERNAL_CIRCLE_INTERVALS_H_
