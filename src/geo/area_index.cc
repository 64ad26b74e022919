#include "geo/area_index.h"

#include <utility>

#include "geo/units.h"

#include "s2/s2closest_edge_query.h"

namespace lightcone::geo {

AreaIndex::AreaIndex(std::unique_ptr<S2Polygon> polygon, S1Angle margin)
    : polygon_(std::move(polygon)), rect_bound_(polygon_->GetRectBound()), margin_(margin) {
  // Build the polygon's shape index now rather than on the first (concurrent) query.
  polygon_->index().ForceBuild();
}

Relation AreaIndex::Relate(const SoundRegion& input) const {
  if (input.is_empty()) return Relation::kEmpty;
  if (margin_ > S1Angle::Zero() && !input.is_full() &&
      !rect_bound_.Intersects(input.GetCapBound().Expanded(margin_).GetRectBound())) {
    return Relation::kOutside;  // Fast path: far from the polygon even with the margin.
  }
  const SoundRegion grown = margin_ > S1Angle::Zero() ? input.Grown(margin_) : SoundRegion();
  const SoundRegion& region = margin_ > S1Angle::Zero() ? grown : input;
  if (polygon_->is_empty()) return Relation::kOutside;
  if (region.is_full()) return polygon_->is_full() ? Relation::kInside : Relation::kAcross;

  const S2Cap cap = region.GetCapBound();
  if (!rect_bound_.Intersects(cap.GetRectBound())) return Relation::kOutside;

  // Every polygon edge that could meet the region lies within the region's bounding cap.
  S2ClosestEdgeQuery query(&polygon_->index());
  query.mutable_options()->set_include_interiors(false);
  query.mutable_options()->set_max_distance(cap.radius().Successor());
  S2ClosestEdgeQuery::PointTarget target(cap.center());
  for (const auto& result : query.FindClosestEdges(&target)) {
    const S2Shape::Edge edge =
        polygon_->index().shape(result.shape_id())->edge(result.edge_id());
    if (region.EdgeMeetsRegion(edge.v0, edge.v1)) return Relation::kAcross;
  }
  // No polygon edge meets the region, so each connected piece of it lies wholly inside or
  // wholly outside. Every piece has a boundary arc, so one point per arc decides.
  bool any_inside = false, any_outside = false;
  for (const BoundaryArc& arc : region.boundary()) {
    (polygon_->Contains(region.PointOnArc(arc, 0.5)) ? any_inside : any_outside) = true;
  }
  if (any_inside && any_outside) return Relation::kAcross;
  return any_inside ? Relation::kInside : Relation::kOutside;
}

}  // namespace lightcone::geo
