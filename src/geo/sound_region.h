// SoundRegion: where a device can provably be, given signed round-trip times.
//
// Each timed, signed reply from a device D to a landmark L bounds D's distance from L by
// c * rtt / 2 (light in vacuum; nothing is subtracted but a configured floor no prover can
// beat). The sound region is the intersection of those spherical caps. It is computed
// exactly: its boundary is kept as arcs of the caps' circles (no sampling, no polygon
// approximation), and every query below is answered from those arcs.
//
// Soundness margin: every cap radius is enlarged by kCapSlack (1 m) before anything is
// computed, so floating-point error can only make the region larger, never smaller. A
// region that is larger than the truth weakens a proof; it never makes a false one.
//
// Copyable value type; const methods are thread-safe.
#ifndef LIGHTCONE_GEO_SOUND_REGION_H_
#define LIGHTCONE_GEO_SOUND_REGION_H_

#include <vector>

#include "absl/types/span.h"
#include "s2/s1angle.h"
#include "s2/s2cap.h"
#include "s2/s2point.h"

namespace lightcone::geo {

// How a region lies relative to an area.
enum class Relation {
  kEmpty,    // The region itself is empty (measurements are physically inconsistent).
  kInside,   // Every point of the region is inside the area.
  kOutside,  // No point of the region is inside the area.
  kAcross,   // The region has points inside and outside the area.
};
const char* RelationName(Relation r);

// One distance bound: the device is within `radius` of `center`.
struct DistanceBound {
  S2Point center;   // Unit length.
  S1Angle radius;   // >= 0. A radius >= pi bounds nothing.
  int landmark = -1;  // Caller's id for the landmark, carried through for reporting.
};

// The sound distance bound of one measurement: radius = (rtt_ms - floor_ms) at vacuum light
// speed, where `floor_ms` is a processing time no prover can beat (default zero: never a
// time the prover reports). REQUIRES: rtt_ms >= 0, floor_ms >= 0.
DistanceBound BoundFromRtt(const S2Point& landmark, double rtt_ms, int landmark_id = -1,
                           double floor_ms = 0.0);

// One piece of the region's boundary: the part of bound `bound`'s circle from angle `start`
// to `start + length` (radians, counterclockwise around the bound's center seen from outside
// the sphere, so the region is on the left).
struct BoundaryArc {
  int bound = 0;  // Index into SoundRegion::bounds().
  double start = 0;
  double length = 0;
};

class SoundRegion {
 public:
  // Enlargement of every cap radius that absorbs floating-point error (1 m).
  static constexpr double kCapSlackKm = 0.001;

  // The whole sphere (no bounds).
  SoundRegion() = default;

  // The intersection of `bounds`. Bounds with radius >= pi are ignored; bounds with the
  // same center are merged (the smaller radius wins); bounds that contain another bound
  // entirely are dropped, since they cannot change the intersection.
  explicit SoundRegion(absl::Span<const DistanceBound> bounds);

  // The region with every bound enlarged by `margin`: it contains every point within
  // `margin` of this region (and possibly a little more near corners).
  SoundRegion Grown(S1Angle margin) const;

  // True if no point satisfies every bound: the measurements are physically inconsistent
  // (a landmark lied about its RTT or its position, or the data is wrong).
  bool is_empty() const { return empty_; }
  // True if there are no (finite) bounds: the region is the whole sphere.
  bool is_full() const { return bounds_.empty(); }

  // The bounds that define the region (after merging and dropping redundant ones).
  const std::vector<DistanceBound>& bounds() const { return bounds_; }
  const std::vector<BoundaryArc>& boundary() const { return arcs_; }
  // Index, in the span given to the constructor, of bounds()[k].
  int source_index(int k) const { return source_index_[k]; }

  bool Contains(const S2Point& p) const;

  // The largest distance from `p` to any point of the region: how far from a claimed
  // position the device may provably be. REQUIRES: !is_empty().
  S1Angle MaxDistanceFrom(const S2Point& p) const;

  // The smallest distance from `p` to the region (zero if `p` is inside) and the closest
  // point itself. REQUIRES: !is_empty().
  S1Angle MinDistanceFrom(const S2Point& p) const;
  S2Point ClosestPoint(const S2Point& p) const;

  // Area in steradians (multiply by R^2 for km^2). Zero if empty.
  double AreaSteradians() const;
  double AreaKm2() const;

  // A cap that contains the region (not the smallest, but close for compact regions).
  S2Cap GetCapBound() const;

  // Relation to a disc (a licensed site: center and radius).
  Relation RelationTo(const S2Cap& disc) const;

  // The point at fraction `t` (0..1) along a boundary arc.
  S2Point PointOnArc(const BoundaryArc& arc, double t) const;
  // A point of the region (on its boundary). REQUIRES: !is_empty() && !is_full().
  S2Point AnyPoint() const { return PointOnArc(arcs_.front(), 0.5); }

  // True if the geodesic edge a->b has a point in the region. REQUIRES: a, b unit length.
  bool EdgeMeetsRegion(const S2Point& a, const S2Point& b) const;

 private:
  void Build();

  std::vector<DistanceBound> bounds_;
  // Per bound: an orthonormal frame (u, v) perpendicular to the center, u x v = center.
  std::vector<S2Point> u_, v_;
  std::vector<double> cos_r_, sin_r_;
  std::vector<int> source_index_;
  std::vector<BoundaryArc> arcs_;
  bool empty_ = false;
};

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_SOUND_REGION_H_
