#include "geo/area_index.h"

#include <utility>

#include "geo/units.h"

#include "s2/s2closest_edge_query.h"
#include "s2/s2shape_index.h"

namespace lightcone::geo {

AreaIndex::AreaIndex(std::unique_ptr<S2Polygon> polygon, S1Angle margin)
    : polygon_(std::move(polygon)), rect_bound_(polygon_->GetRectBound()), margin_(margin) {
  // Build the polygon's shape index now rather than on the first (concurrent) query.
  polygon_->index().ForceBuild();
}

Relation AreaIndex::Relate(const SoundRegion& input) const {
  if (input.is_empty()) return Relation::kEmpty;
  if (!input.is_full()) {
    // Fast path: the smallest bound alone, grown by the margin, misses the polygon's box.
    const DistanceBound& smallest = input.bounds().front();
    const S2Cap quick(smallest.center, smallest.radius + margin_);
    if (!rect_bound_.Intersects(quick.GetRectBound())) return Relation::kOutside;
  }
  const SoundRegion grown = margin_ > S1Angle::Zero() ? input.Grown(margin_) : SoundRegion();
  const SoundRegion& region = margin_ > S1Angle::Zero() ? grown : input;
  if (polygon_->is_empty()) return Relation::kOutside;
  if (region.is_full()) return polygon_->is_full() ? Relation::kInside : Relation::kAcross;

  const S2Cap cap = region.GetCapBound();
  if (!rect_bound_.Intersects(cap.GetRectBound())) return Relation::kOutside;

  S2ClosestEdgeQuery query(&polygon_->index());
  query.mutable_options()->set_include_interiors(false);
  S2ClosestEdgeQuery::PointTarget target(cap.center());
  // Usual case: the polygon's boundary stays clear of the whole bounding cap, so the cap,
  // and the region in it, lies on one side. One early-exit distance query decides it.
  if (!query.IsDistanceLessOrEqual(&target, cap.radius())) {
    return polygon_->Contains(cap.center()) ? Relation::kInside : Relation::kOutside;
  }
  // Points on the region's boundary on both sides settle it at once.
  bool any_inside = false, any_outside = false;
  for (const BoundaryArc& arc : region.boundary()) {
    (polygon_->Contains(region.PointOnArc(arc, 0.5)) ? any_inside : any_outside) = true;
  }
  if (any_inside && any_outside) return Relation::kAcross;

  // Every polygon edge that could meet the region lies in an index cell that meets the
  // region's bounding cap. Visit those cells (no sorting by distance: any edge that meets
  // the region settles the answer).
  std::vector<S2CellId> cover;
  cap.GetCellUnionBound(&cover);
  const MutableS2ShapeIndex& index = polygon_->index();
  MutableS2ShapeIndex::Iterator it(&index, S2ShapeIndex::UNPOSITIONED);
  auto cell_meets_region = [&](const S2ShapeIndexCell& cell) {
    for (int s = 0; s < cell.num_clipped(); ++s) {
      const S2ClippedShape& clipped = cell.clipped(s);
      const S2Shape* shape = index.shape(clipped.shape_id());
      for (int e = 0; e < clipped.num_edges(); ++e) {
        const S2Shape::Edge edge = shape->edge(clipped.edge(e));
        if (region.EdgeMeetsRegion(edge.v0, edge.v1)) return true;
      }
    }
    return false;
  };
  for (const S2CellId id : cover) {
    const S2ShapeIndex::CellRelation relation = it.Locate(id);
    if (relation == S2ShapeIndex::DISJOINT) continue;
    if (relation == S2ShapeIndex::INDEXED) {
      if (cell_meets_region(it.cell())) return Relation::kAcross;
      continue;
    }
    for (; !it.done() && it.id() <= id.range_max(); it.Next()) {
      if (cell_meets_region(it.cell())) return Relation::kAcross;
    }
  }
  // No polygon edge meets the region, so each connected piece of it lies wholly inside or
  // wholly outside; every piece has a boundary arc, and all of them agreed above.
  return any_inside ? Relation::kInside : Relation::kOutside;
}

}  // namespace lightcone::geo
