#include "server/fleet/region_view.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "geo/sound_region.h"
#include "geo/units.h"
#include "s2/s1chord_angle.h"
#include "s2/s2latlng.h"

namespace lightcone::server::fleet {
namespace {

using Json = nlohmann::json;

// Arcs whose ends are closer than this (radians) are joined into one polyline.
constexpr double kJoinToleranceRadians = 1e-6;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

double Round(double x, double scale) { return std::round(x * scale) / scale; }

Json LatLon(const S2Point& p) {
  const S2LatLng ll(p);
  return Json::array({Round(ll.lat().degrees(), 1e5), Round(ll.lng().degrees(), 1e5)});
}

// The boundary as closed polylines: arcs sampled, then chained end to start.
Json Boundary(const geo::SoundRegion& region, double segment_km) {
  const auto& arcs = region.boundary();
  std::vector<bool> used(arcs.size(), false);
  Json loops = Json::array();
  auto arc_points = [&](size_t a, Json& out, bool skip_first) {
    const geo::BoundaryArc& arc = arcs[a];
    const double circle_radius = region.bounds()[arc.bound].radius.radians();
    const double length_km = arc.length * std::sin(circle_radius) * geo::kEarthRadiusKm;
    const int n = std::clamp(static_cast<int>(std::ceil(length_km / std::max(segment_km, 0.1))),
                             kMinPointsPerArc, kMaxPointsPerArc);
    for (int i = skip_first ? 1 : 0; i <= n; ++i) {
      out.push_back(LatLon(region.PointOnArc(arc, static_cast<double>(i) / n)));
    }
  };
  for (size_t start = 0; start < arcs.size(); ++start) {
    if (used[start]) continue;
    Json loop = Json::array();
    size_t cur = start;
    used[cur] = true;
    arc_points(cur, loop, false);
    for (;;) {
      const S2Point end = region.PointOnArc(arcs[cur], 1.0);
      size_t next = arcs.size();
      for (size_t k = 0; k < arcs.size(); ++k) {
        if (used[k]) continue;
        if (S1Angle(end, region.PointOnArc(arcs[k], 0.0)).radians() < kJoinToleranceRadians) {
          next = k;
          break;
        }
      }
      if (next == arcs.size()) break;
      used[next] = true;
      arc_points(next, loop, true);
      cur = next;
    }
    loops.push_back(std::move(loop));
  }
  return loops;
}

}  // namespace

absl::StatusOr<Json> RegionViewJson(Store& store, int64_t device_id, absl::Time now,
                                    const RegionViewOptions& options) {
  LC_ASSIGN_OR_RETURN(Device device, store.GetDevice(device_id));
  LC_ASSIGN_OR_RETURN(std::vector<Landmark> landmarks, store.ListLandmarks());
  // As the verdict loop: a GPU that changed host is shown from measurements made after the
  // latest move only.
  absl::Time since = now - options.verdict.window;
  PageRequest page;
  page.limit = kMaxPageSize;
  for (;;) {
    LC_ASSIGN_OR_RETURN(Page<DeviceEvent> events, store.ListDeviceEvents(device_id, page));
    for (const DeviceEvent& e : events.items) {
      if (e.kind == "host_changed" && e.time > since) since = e.time;
    }
    if (events.next_after_id == 0) break;
    page.after_id = events.next_after_id;
  }
  LC_ASSIGN_OR_RETURN(std::vector<MinRtt> rtts, store.MinRtts(device_id, since));
  std::optional<Licence> licence;
  if (device.licence_id != 0) {
    absl::StatusOr<Licence> l = store.GetLicence(device.licence_id);
    if (l.ok()) {
      licence = *std::move(l);
    } else if (!absl::IsNotFound(l.status())) {
      return l.status();
    }
  }
  VerdictEngine engine(options.verdict, landmarks);

  Json out;
  out["device_id"] = device_id;
  out["time"] = Rfc3339(now);
  out["window_s"] = absl::ToInt64Seconds(options.verdict.window);
  Json caps = Json::array();
  for (const MinRtt& r : rtts) {
    const Landmark* l = engine.FindLandmark(r.landmark_id);
    if (l == nullptr) continue;
    const double rtt_ms = static_cast<double>(r.min_rtt_ns) / 1e6;
    const double radius_km =
        std::max(0.0, rtt_ms - std::min(options.verdict.rtt_floor_ms, rtt_ms)) *
        geo::kVacuumKmPerRttMs;
    caps.push_back({{"landmark_id", l->id},
                    {"name", l->name},
                    {"latitude_deg", l->latitude_deg},
                    {"longitude_deg", l->longitude_deg},
                    {"min_rtt_ms", rtt_ms},
                    {"radius_km", Round(radius_km, 1e3)},
                    {"count", r.count},
                    {"last_time", Rfc3339(r.last_time)},
                    {"used", engine.IsUsable(l->id)}});
  }
  out["caps"] = std::move(caps);

  const std::vector<geo::DistanceBound> bounds = engine.Bounds(rtts, now);
  const geo::SoundRegion region(bounds);
  Json region_json = {{"empty", region.is_empty()}, {"full", region.is_full()},
                      {"area_km2", nullptr},        {"radius_km", nullptr},
                      {"boundary", Json::array()}};
  if (!region.is_empty() && !region.is_full()) {
    region_json["area_km2"] = std::round(region.AreaKm2());
    region_json["radius_km"] = Round(geo::AngleToKm(region.GetCapBound().GetRadius()), 10);
    region_json["boundary"] = Boundary(region, options.segment_km);
  }
  out["region"] = std::move(region_json);

  // The estimate exactly as the verdict loop computes it (licence does not matter for it).
  DeviceInput in;
  in.device = &device;
  in.rtts = rtts;
  const Decision d = engine.Decide(in, now);
  if (d.has_estimate) {
    auto summary = Json::parse(d.verdict.region_summary_json, nullptr, false);
    out["estimate"] = {{"latitude_deg", d.verdict.estimate_latitude_deg},
                       {"longitude_deg", d.verdict.estimate_longitude_deg},
                       {"uncertainty_km", d.verdict.estimate_radius_km},
                       {"method", summary.is_object() ? summary.value("estimate_method", "") : ""}};
  } else {
    out["estimate"] = nullptr;
  }

  Json sites = Json::array();
  Json countries = Json::array();
  Json prohibited = Json::array();
  if (licence.has_value()) {
    for (const AllowedSite& s : licence->allowed_sites) {
      sites.push_back({{"name", s.name},
                       {"latitude_deg", s.latitude_deg},
                       {"longitude_deg", s.longitude_deg},
                       {"radius_km", s.radius_km}});
    }
    for (const std::string& c : licence->allowed_countries) countries.push_back(c);
    for (const std::string& c : licence->prohibited_regions) prohibited.push_back(c);
    out["licence_id"] = licence->id;
  }
  out["licensed_area"] = {{"sites", sites}, {"countries", countries}};
  out["prohibited_regions"] = prohibited;
  return out;
}

}  // namespace lightcone::server::fleet
