// AreaIndex: a region of the Earth given as a polygon (for example the union of the
// countries a licence allows or prohibits), indexed to relate sound regions to it quickly.
//
// Relate() is exact with respect to the polygon: it reports kAcross when any polygon edge
// meets the region, and otherwise classifies the region by one of its points. Border data is
// generalized (Natural Earth 1:50m moves borders by a few km), so an index may carry a
// margin: the region is first grown by it, and "inside" / "outside" then hold for every
// point within the margin of the region too.
//
// Movable, not copyable. Const methods are thread-safe.
#ifndef LIGHTCONE_GEO_AREA_INDEX_H_
#define LIGHTCONE_GEO_AREA_INDEX_H_

#include <memory>

#include "geo/sound_region.h"
#include "s2/s2latlng_rect.h"
#include "s2/s2polygon.h"

namespace lightcone::geo {

class AreaIndex {
 public:
  // REQUIRES: polygon != nullptr.
  explicit AreaIndex(std::unique_ptr<S2Polygon> polygon, S1Angle margin = S1Angle::Zero());

  AreaIndex(AreaIndex&&) = default;
  AreaIndex& operator=(AreaIndex&&) = default;

  const S2Polygon& polygon() const { return *polygon_; }
  S1Angle margin() const { return margin_; }
  bool Contains(const S2Point& p) const { return polygon_->Contains(p); }

  // How `region` lies relative to the polygon.
  Relation Relate(const SoundRegion& region) const;

 private:
  std::unique_ptr<S2Polygon> polygon_;
  S2LatLngRect rect_bound_;
  S1Angle margin_;
};

// The margin for country borders from the bundled Natural Earth 1:50m data.
inline constexpr double kCountryBorderMarginKm = 5.0;

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_AREA_INDEX_H_
