#include "geo/verdict.h"

#include <algorithm>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lightcone::geo {

const char* VerdictStatusName(VerdictStatus s) {
  switch (s) {
    case VerdictStatus::kCompliant: return "compliant";
    case VerdictStatus::kViolation: return "violation";
    case VerdictStatus::kUnproven: return "unproven";
  }
  return "unknown";
}

Relation RelateToArea(const SoundRegion& region, const LicensedArea& area) {
  if (region.is_empty()) return Relation::kEmpty;
  bool all_outside = true;
  for (const S2Cap& site : area.sites) {
    Relation r = region.RelationTo(site);
    if (r == Relation::kInside) return Relation::kInside;
    if (r != Relation::kOutside) all_outside = false;
  }
  if (area.countries != nullptr) {
    Relation r = area.countries->Relate(region);
    if (r == Relation::kInside) return Relation::kInside;
    if (r != Relation::kOutside) all_outside = false;
  }
  return all_outside ? Relation::kOutside : Relation::kAcross;
}

namespace {

bool AllBelowHemisphere(absl::Span<const DistanceBound> bounds) {
  for (const DistanceBound& b : bounds) {
    if (b.radius.radians() >= M_PI / 2) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<SoundRegion>> RobustSubregions(absl::Span<const DistanceBound> bounds,
                                                          int f) {
  if (f < 0) return absl::InvalidArgumentError(absl::StrCat("robustness f = ", f, " < 0"));
  std::vector<SoundRegion> out;
  SoundRegion full(bounds);
  if (f == 0) {
    out.push_back(std::move(full));
    return out;
  }
  // Drop among all finite input bounds, not only the non-redundant ones: dropping a lying
  // landmark's small bound must expose the honest bounds it made redundant.
  std::vector<DistanceBound> finite;
  std::vector<int> finite_index(bounds.size(), -1);
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (bounds[i].radius.radians() < M_PI) {
      finite_index[i] = static_cast<int>(finite.size());
      finite.push_back(bounds[i]);
    }
  }
  const int n = static_cast<int>(finite.size());
  if (n <= f) {
    out.push_back(SoundRegion());  // Dropping every bound leaves the whole sphere.
    return out;
  }
  if (f == 1 && !full.is_empty() && AllBelowHemisphere(finite)) {
    // Every bound is convex, and so is every intersection of them. A bound with no boundary
    // arc holds the region in its interior; dropping it leaves a convex set whose part inside
    // that bound is the region, so (being connected) it is the region itself.
    std::vector<bool> active(n, false);
    for (const BoundaryArc& arc : full.boundary()) {
      active[finite_index[full.source_index(arc.bound)]] = true;
    }
    out.push_back(full);
    for (int k = 0; k < n; ++k) {
      if (!active[k]) continue;
      std::vector<DistanceBound> rest;
      rest.reserve(n - 1);
      for (int j = 0; j < n; ++j) {
        if (j != k) rest.push_back(finite[j]);
      }
      out.emplace_back(rest);
    }
    return out;
  }
  // General case: every subset of n - f bounds.
  double count = 1;
  for (int i = 0; i < f; ++i) count = count * (n - i) / (i + 1);
  if (count > kMaxRobustSubregions) {
    return absl::ResourceExhaustedError(absl::StrCat("f = ", f, " over ", n, " bounds needs ",
                                                     count, " sub-regions (limit ",
                                                     kMaxRobustSubregions, ")"));
  }
  std::vector<int> drop(f);
  for (int i = 0; i < f; ++i) drop[i] = i;
  while (true) {
    std::vector<DistanceBound> rest;
    rest.reserve(n - f);
    for (int j = 0, d = 0; j < n; ++j) {
      if (d < f && drop[d] == j) { ++d; continue; }
      rest.push_back(finite[j]);
    }
    out.emplace_back(rest);
    int i = f - 1;
    while (i >= 0 && drop[i] == n - f + i) --i;
    if (i < 0) break;
    ++drop[i];
    for (int j = i + 1; j < f; ++j) drop[j] = drop[j - 1] + 1;
  }
  return out;
}

Verdict DecideVerdict(absl::Span<const DistanceBound> bounds, const LicensedArea& allowed,
                      const AreaIndex* prohibited, const VerdictOptions& options) {
  Verdict v;
  v.robustness = options.robustness;
  for (const DistanceBound& b : bounds) v.bounds_used += b.radius.radians() < M_PI;
  if (v.bounds_used < options.robustness + options.min_bounds) {
    v.reason = absl::StrCat(v.bounds_used, " usable bound(s); f = ", options.robustness,
                            " needs at least ", options.robustness + options.min_bounds);
    return v;
  }
  auto subregions = RobustSubregions(bounds, options.robustness);
  if (!subregions.ok()) {
    v.reason = std::string(subregions.status().message());
    return v;
  }
  bool all_inside = true, all_outside = true, any_nonempty = false;
  for (const SoundRegion& region : *subregions) {
    if (region.is_empty()) continue;
    any_nonempty = true;
    const Relation r = RelateToArea(region, allowed);
    if (r != Relation::kInside) all_inside = false;
    if (r != Relation::kOutside) all_outside = false;
  }
  // Prohibited regions matter only for a region that would otherwise be compliant.
  bool prohibited_clear = true;
  if (any_nonempty && all_inside && prohibited != nullptr) {
    for (const SoundRegion& region : *subregions) {
      if (!region.is_empty() && prohibited->Relate(region) != Relation::kOutside) {
        prohibited_clear = false;
        break;
      }
    }
  }
  if (!any_nonempty) {
    v.reason = absl::StrCat("measurements are inconsistent even after dropping ",
                            options.robustness, " landmark(s): no point satisfies them");
    return v;
  }
  if (all_outside) {
    v.status = VerdictStatus::kViolation;
    v.reason = "the sound region lies entirely outside the licensed area";
  } else if (all_inside && prohibited_clear) {
    v.status = VerdictStatus::kCompliant;
    v.reason = "the sound region lies inside the licensed area";
  } else if (all_inside) {
    v.reason = "the sound region is inside the licensed area but meets a prohibited region";
  } else {
    v.reason = "the sound region is not contained in the licensed area";
  }
  return v;
}

}  // namespace lightcone::geo
