#include "server/fleet/verdict_engine.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "geo/calibration.h"
#include "geo/units.h"
#include "geo/verdict.h"
#include "nlohmann/json.hpp"
#include "s2/s2latlng.h"

namespace lightcone::server::fleet {
namespace {

using geo::DistanceBound;
using geo::Relation;
using geo::SoundRegion;

// One-way km per ms of round trip at 2/3 c: the CBG baseline.
constexpr double kFiberKmPerRttMs = 1.0 / geo::kTwoThirdsCRttMsPerKm;
// Scales of the fiber caps tried, in order, before giving up on them (1.5 = vacuum).
constexpr double kEstimateScales[] = {1.0, 1.25, 1.5};

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string Km(double km) { return absl::StrFormat("%.0f km", km); }

struct EstimateOut {
  bool ok = false;
  S2Point position;
  double uncertainty_km = 0;
  std::string method;
};

// CBG-like estimate inside `sound` (see header). `bounds` are the vacuum bounds.
EstimateOut EstimateInside(absl::Span<const DistanceBound> bounds, const SoundRegion& sound) {
  EstimateOut out;
  if (bounds.empty()) return out;
  auto try_bounds = [&](absl::Span<const DistanceBound> use, const SoundRegion& container,
                        const char* method) {
    for (double scale : kEstimateScales) {
      std::vector<DistanceBound> fiber;
      fiber.reserve(use.size());
      for (const DistanceBound& b : use) {
        // Vacuum radius * (2/3) * scale, i.e. fiber radius scaled.
        fiber.push_back(DistanceBound{b.center, b.radius * (scale * 2.0 / 3.0), b.landmark});
      }
      SoundRegion region(fiber);
      if (region.is_empty() || region.is_full()) continue;
      S2Point c = region.GetCapBound().center();
      if (!container.Contains(c)) c = container.ClosestPoint(c);
      // `region` lies inside `container` (its caps are the container's, shrunk or equal),
      // so this radius never exceeds the container's extent from c.
      const double r_km = geo::AngleToKm(region.MaxDistanceFrom(c));
      out.ok = true;
      out.position = c;
      out.uncertainty_km = std::max(r_km, 0.001);
      out.method = method;
      return true;
    }
    return false;
  };
  if (!sound.is_empty()) {
    try_bounds(bounds, sound, "cbg_2/3c");
    return out;
  }
  // Inconsistent: drop one landmark, lowest RTT (smallest radius) first.
  std::vector<int> order(bounds.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return bounds[a].radius < bounds[b].radius; });
  for (int drop : order) {
    std::vector<DistanceBound> rest;
    for (size_t i = 0; i < bounds.size(); ++i) {
      if (static_cast<int>(i) != drop) rest.push_back(bounds[i]);
    }
    SoundRegion without(rest);
    if (without.is_empty() || without.is_full()) continue;
    if (try_bounds(rest, without, "cbg_2/3c_one_landmark_dropped")) return out;
  }
  return out;
}

}  // namespace

namespace {

std::optional<absl::Time> TimeField(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, it->get<std::string>(), &t, &err)) return std::nullopt;
  return t;
}

}  // namespace

std::optional<absl::Time> SummaryTime(const Verdict& verdict, const char* field) {
  auto j = nlohmann::json::parse(verdict.region_summary_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return TimeField(j, field);
}

SummaryTimes ParseSummaryTimes(const Verdict& verdict) {
  SummaryTimes out;
  auto j = nlohmann::json::parse(verdict.region_summary_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return out;
  out.status_since = TimeField(j, "status_since");
  out.last_compliant_at = TimeField(j, "last_compliant_at");
  return out;
}

VerdictEngine::VerdictEngine(const VerdictEngineOptions& options,
                             absl::Span<const Landmark> landmarks)
    : options_(options) {
  options_.robustness_f = std::max(0, options_.robustness_f);
  options_.min_landmarks = std::max(options_.min_landmarks, options_.robustness_f + 1);
  for (const Landmark& l : landmarks) {
    landmarks_[l.id] = l;
    if (l.status == LandmarkStatus::kActive) {
      points_[l.id] = S2LatLng::FromDegrees(l.latitude_deg, l.longitude_deg).ToPoint();
    }
  }
}

const Landmark* VerdictEngine::FindLandmark(int64_t id) const {
  auto it = landmarks_.find(id);
  return it == landmarks_.end() ? nullptr : &it->second;
}

std::vector<DistanceBound> VerdictEngine::Bounds(absl::Span<const MinRtt> rtts,
                                                 absl::Time now) const {
  std::vector<DistanceBound> bounds;
  bounds.reserve(rtts.size());
  const absl::Time since = now - options_.window;
  for (const MinRtt& r : rtts) {
    if (r.last_time < since || r.count <= 0) continue;
    auto it = points_.find(r.landmark_id);
    if (it == points_.end()) continue;
    const double rtt_ms = std::max(0.0, static_cast<double>(r.min_rtt_ns) / 1e6);
    // Rows come one per (device, landmark), but merge defensively: the smaller RTT wins.
    auto dup = std::find_if(bounds.begin(), bounds.end(), [&](const DistanceBound& b) {
      return b.landmark == static_cast<int>(r.landmark_id);
    });
    DistanceBound b = geo::BoundFromRtt(it->second, std::max(0.0, rtt_ms), static_cast<int>(r.landmark_id),
                                        std::min(options_.rtt_floor_ms, rtt_ms));
    if (dup != bounds.end()) {
      if (b.radius < dup->radius) *dup = b;
    } else {
      bounds.push_back(b);
    }
  }
  return bounds;
}

namespace {

// FNV-1a, 64 bit: stable across processes (absl::Hash is seeded per process).
class Fnv {
 public:
  void Add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 1099511628211ull;
  }
  template <typename T>
  void AddValue(const T& v) {
    Add(&v, sizeof(v));
  }
  void AddString(const std::string& s) {
    AddValue(s.size());
    Add(s.data(), s.size());
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 1469598103934665603ull;
};

}  // namespace

std::string VerdictEngine::Fingerprint(const DeviceInput& in,
                                       absl::Span<const DistanceBound> bounds,
                                       absl::Time now) const {
  Fnv h;
  h.AddValue(kFingerprintVersion);
  h.AddValue(options_.robustness_f);
  h.AddValue(options_.min_landmarks);
  h.AddValue(options_.rtt_floor_ms);
  h.AddValue(absl::ToInt64Nanoseconds(options_.window));
  for (const DistanceBound& b : bounds) {
    h.AddValue(b.landmark);
    h.AddValue(b.center.x());
    h.AddValue(b.center.y());
    h.AddValue(b.center.z());
    h.AddValue(b.radius.radians());
  }
  if (in.licence != nullptr) {
    const Licence& l = *in.licence;
    h.AddValue(l.id);
    h.AddString(l.reference);
    h.AddValue(now >= l.valid_from && now < l.valid_until);
    for (const AllowedSite& s : l.allowed_sites) {
      h.AddString(s.name);
      h.AddValue(s.latitude_deg);
      h.AddValue(s.longitude_deg);
      h.AddValue(s.radius_km);
    }
    h.AddValue(l.allowed_countries.size());
    for (const std::string& c : l.allowed_countries) h.AddString(c);
    h.AddValue(l.prohibited_regions.size());
    for (const std::string& c : l.prohibited_regions) h.AddString(c);
    h.AddValue(in.geometry != nullptr && in.geometry->status.ok());
  } else {
    h.AddValue(int64_t{-1});
  }
  return absl::StrFormat("%016x", h.value());
}

std::optional<Decision> VerdictEngine::Reuse(const DeviceInput& in, const std::string& fingerprint,
                                             absl::Time now) const {
  const Verdict& prev = *in.previous;
  auto j = nlohmann::json::parse(prev.region_summary_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto it = j.find("inputs");
  if (it == j.end() || !it->is_string() || it->get<std::string>() != fingerprint) {
    return std::nullopt;
  }
  Decision d;
  d.verdict = prev;
  d.verdict.id = 0;
  d.verdict.time = now;
  d.verdict.assurance = in.device->key.assurance;
  d.verdict.licence_id = in.licence != nullptr ? in.licence->id : 0;
  d.has_estimate = prev.estimate_radius_km > 0;
  d.region_inconsistent = j.value("inconsistent", false);
  d.status_since = TimeField(j, "status_since");
  if (!d.status_since.has_value()) d.status_since = prev.time;
  d.last_compliant_at =
      prev.status == VerdictStatus::kCompliant ? now : TimeField(j, "last_compliant_at");
  return d;
}

Decision VerdictEngine::Decide(const DeviceInput& in, absl::Time now) const {
  Decision d;
  Verdict& v = d.verdict;
  v.device_id = in.device->id;
  v.time = now;
  v.status = VerdictStatus::kUnproven;
  v.robustness_f = options_.robustness_f;
  v.assurance = in.device->key.assurance;
  v.licence_id = in.licence != nullptr ? in.licence->id : 0;

  for (const MinRtt& r : in.rtts) {
    if (!d.last_measurement.has_value() || r.last_time > *d.last_measurement) {
      d.last_measurement = r.last_time;
    }
  }

  nlohmann::json summary = {{"empty", false},        {"radius_km", nullptr},
                            {"area_km2", nullptr},   {"landmarks_used", 0},
                            {"robustness_f", options_.robustness_f},
                            {"inconsistent", false}, {"estimate_method", nullptr}};

  // Decide the status and reason.
  std::vector<DistanceBound> bounds;
  SoundRegion full_region;
  std::string fingerprint;
  auto finish = [&]() {
    // Estimate and region summary from the full (f = 0) region.
    if (!bounds.empty()) {
      const SoundRegion& full = full_region;
      summary["landmarks_used"] = static_cast<int>(bounds.size());
      summary["empty"] = full.is_empty();
      d.region_inconsistent = full.is_empty();
      summary["inconsistent"] = full.is_empty();
      if (!full.is_empty() && !full.is_full()) {
        summary["radius_km"] = std::round(geo::AngleToKm(full.GetCapBound().GetRadius()) * 10) / 10;
        summary["area_km2"] = std::round(full.AreaKm2());
      }
      EstimateOut e = EstimateInside(bounds, full);
      if (e.ok) {
        const S2LatLng ll(e.position);
        v.estimate_latitude_deg = ll.lat().degrees();
        v.estimate_longitude_deg = ll.lng().degrees();
        v.estimate_radius_km = e.uncertainty_km;
        d.has_estimate = true;
        summary["estimate_method"] = e.method;
      }
    }
    // Carried fields.
    std::optional<absl::Time> since;
    std::optional<absl::Time> compliant_at;
    if (in.previous != nullptr) {
      const SummaryTimes carried = ParseSummaryTimes(*in.previous);
      if (in.previous->status == v.status) {
        since = carried.status_since;
        if (!since.has_value()) since = in.previous->time;
      }
      compliant_at = carried.last_compliant_at;
      if (!compliant_at.has_value() && in.previous->status == VerdictStatus::kCompliant) {
        compliant_at = in.previous->time;
      }
    }
    if (!since.has_value()) since = now;
    d.status_since = since;
    summary["status_since"] = Rfc3339(*since);
    // A compliant verdict is its own proof time; others carry the last one.
    if (v.status == VerdictStatus::kCompliant) {
      d.last_compliant_at = now;
    } else {
      d.last_compliant_at = compliant_at;
      if (compliant_at.has_value()) summary["last_compliant_at"] = Rfc3339(*compliant_at);
    }
    summary["inputs"] = fingerprint;
    v.region_summary_json = summary.dump();
    return d;
  };

  bounds = Bounds(in.rtts, now);
  fingerprint = Fingerprint(in, bounds, now);
  if (in.previous != nullptr) {
    std::optional<Decision> reused = Reuse(in, fingerprint, now);
    if (reused.has_value()) {
      reused->last_measurement = d.last_measurement;
      return *std::move(reused);
    }
  }
  if (!bounds.empty()) full_region = SoundRegion(bounds);
  if (in.licence == nullptr) {
    v.reason = kUnlicensedReason;
    return finish();
  }
  const Licence& lic = *in.licence;
  if (now < lic.valid_from || now >= lic.valid_until) {
    v.reason = absl::StrCat("licence ", lic.reference, " is not valid at ", Rfc3339(now),
                            " (valid from ", Rfc3339(lic.valid_from), " until ",
                            Rfc3339(lic.valid_until), ")");
    return finish();
  }
  if (in.geometry == nullptr || !in.geometry->status.ok()) {
    v.reason = in.geometry == nullptr ? std::string("licence geometry missing")
                                      : std::string(in.geometry->status.message());
    return finish();
  }
  const std::string window = absl::FormatDuration(options_.window);
  if (bounds.empty()) {
    v.reason = absl::StrCat("no measurement by an active landmark in the last ", window);
    return finish();
  }
  const int n = static_cast<int>(bounds.size());
  if (n < options_.min_landmarks) {
    v.reason = absl::StrCat("only ", n, " landmark(s) measured this GPU in the last ", window,
                            "; at least ", options_.min_landmarks, " are needed (f = ",
                            options_.robustness_f, ")");
    return finish();
  }

  const LicenceGeometry& g = *in.geometry;
  auto subregions = geo::RobustSubregions(bounds, options_.robustness_f);
  if (!subregions.ok()) {
    v.reason = absl::StrCat("cannot evaluate the robust region: ", subregions.status().message());
    return finish();
  }
  std::vector<const SoundRegion*> regions;
  for (const SoundRegion& r : *subregions) {
    if (!r.is_empty()) regions.push_back(&r);
  }
  const std::string who = absl::StrCat(n, " landmarks, tolerating ", options_.robustness_f,
                                       " dishonest landmark(s)");
  if (regions.empty()) {
    v.reason = absl::StrCat("measurements are physically inconsistent even after dropping ",
                            options_.robustness_f,
                            " landmark(s): a landmark's position or RTTs are wrong (", n,
                            " landmarks)");
    return finish();
  }
  bool all_inside = true, all_outside = true;
  for (const SoundRegion* r : regions) {
    const Relation rel = geo::RelateToArea(*r, g.allowed);
    if (rel != Relation::kInside) all_inside = false;
    if (rel != Relation::kOutside) all_outside = false;
    if (!all_inside && !all_outside) break;  // Neither compliant nor violation by the area.
  }
  const std::string prohibited_names = absl::StrJoin(lic.prohibited_regions, ",");
  auto all_relate_prohibited = [&](Relation want) {
    if (g.prohibited == nullptr) return false;
    for (const SoundRegion* r : regions) {
      if (g.prohibited->Relate(*r) != want) return false;
    }
    return true;
  };
  if (all_inside) {
    if (g.prohibited == nullptr || all_relate_prohibited(Relation::kOutside)) {
      v.status = VerdictStatus::kCompliant;
      std::string where;
      for (size_t s = 0; s < g.allowed.sites.size() && where.empty(); ++s) {
        bool in_site = true;
        for (const SoundRegion* r : regions) {
          if (r->RelationTo(g.allowed.sites[s]) != Relation::kInside) {
            in_site = false;
            break;
          }
        }
        if (in_site) {
          where = absl::StrCat("site ", g.site_names[s], " (",
                               Km(geo::AngleToKm(g.allowed.sites[s].GetRadius())), ")");
        }
      }
      if (where.empty()) {
        where = absl::StrCat("the licensed area (", absl::StrJoin(lic.allowed_countries, ","),
                             g.allowed.sites.empty() ? "" : " and its sites", ")");
      }
      v.reason = absl::StrCat("proven inside ", where, " under licence ", lic.reference,
                              " by ", who);
    } else {
      v.reason = absl::StrCat("the sound region is inside the licensed area but reaches "
                              "prohibited region(s) ",
                              prohibited_names, "; closer landmarks are needed (", who, ")");
    }
    return finish();
  }
  if (all_outside) {
    v.status = VerdictStatus::kViolation;
    double nearest_km = -1;
    std::string nearest_site;
    for (size_t s = 0; s < g.allowed.sites.size(); ++s) {
      for (const SoundRegion* r : regions) {
        const double km = geo::AngleToKm(r->MinDistanceFrom(g.allowed.sites[s].center())) -
                          geo::AngleToKm(g.allowed.sites[s].GetRadius());
        if (nearest_km < 0 || km < nearest_km) {
          nearest_km = std::max(0.0, km);
          nearest_site = g.site_names[s];
        }
      }
    }
    v.reason = absl::StrCat("the GPU's key answered from outside the licensed area of licence ",
                            lic.reference, " (", who, ")");
    if (nearest_km >= 0) {
      absl::StrAppend(&v.reason, "; the closest point it can be is ", Km(nearest_km),
                      " beyond site ", nearest_site);
    }
    return finish();
  }
  // Inside a prohibited region: the full (f = 0) region is the smallest of all; when it is
  // not inside, no robust sub-region is, so the costly per-sub-region test is skipped.
  if (g.prohibited != nullptr && !full_region.is_empty() &&
      g.prohibited->Relate(full_region) == Relation::kInside &&
      all_relate_prohibited(Relation::kInside)) {
    v.status = VerdictStatus::kViolation;
    v.reason = absl::StrCat("the GPU's key answered from inside prohibited region(s) ",
                            prohibited_names, " (licence ", lic.reference, ", ", who, ")");
    return finish();
  }
  double radius_km = 0;
  for (const SoundRegion* r : regions) {
    radius_km = std::max(radius_km, geo::AngleToKm(r->GetCapBound().GetRadius()));
  }
  v.reason = absl::StrCat("the sound region (radius up to ", Km(radius_km),
                          ") is not contained in the licensed area of licence ", lic.reference,
                          ": more or closer landmarks are needed (", who, ")");
  return finish();
}

}  // namespace lightcone::server::fleet
