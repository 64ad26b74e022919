// The region view of one GPU for the dashboard (docs/api.md "Region",
// GET /api/v1/devices/{id}/region): the caps of its recent minimum RTTs, the boundary of the
// sound region as lat/lon polylines sampled from the exact arcs (for drawing only: proofs
// use the arcs themselves), the current estimate, and its licence's allowed and prohibited
// areas.
//
// Shape:
//   {"device_id": 9, "time": "...", "window_s": 86400,
//    "caps": [{"landmark_id", "name", "latitude_deg", "longitude_deg", "min_rtt_ms",
//              "radius_km", "count", "last_time", "used"}],   // used=false: flagged/retired
//    "region": {"empty": bool, "full": bool, "area_km2", "radius_km",
//               "boundary": [[[lat, lon], ...], ...]},        // closed loops, first = last
//    "estimate": {"latitude_deg", "longitude_deg", "uncertainty_km", "method"} | null,
//    "licensed_area": {"sites": [{"name", "latitude_deg", "longitude_deg", "radius_km"}],
//                      "countries": ["SG"]},
//    "prohibited_regions": ["CN", "HK", "MO"]}
// An unlicensed GPU has empty licensed_area lists and no prohibited regions.
#ifndef LIGHTCONE_SERVER_FLEET_REGION_VIEW_H_
#define LIGHTCONE_SERVER_FLEET_REGION_VIEW_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/fleet/verdict_engine.h"
#include "server/store/store.h"

namespace lightcone::server::fleet {

// Most points drawn per boundary arc, and the fewest.
inline constexpr int kMaxPointsPerArc = 256;
inline constexpr int kMinPointsPerArc = 8;

struct RegionViewOptions {
  // Window and RTT floor: use the FleetMonitor's, so the view matches the verdicts.
  VerdictEngineOptions verdict;
  // Distance between drawn points along an arc (clamped by k{Min,Max}PointsPerArc).
  double segment_km = 10;
};

// NotFound when the device does not exist; other errors are the store's.
absl::StatusOr<nlohmann::json> RegionViewJson(Store& store, int64_t device_id, absl::Time now,
                                              const RegionViewOptions& options = {});

}  // namespace lightcone::server::fleet

#endif  // LIGHTCONE_SERVER_FLEET_REGION_VIEW_H_
