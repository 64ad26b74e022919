#include "geo/locate.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "geo/landmark_sanity.h"
#include "geo/sound_region.h"
#include "geo/units.h"
#include "geo/verdict.h"

namespace lightcone::geo {
namespace {

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

// Proven outside `area` with f-robustness: every robust sub-region is outside. `region` is
// the sound region of `bounds`, already built: with f = 0 it is the only sub-region.
bool ProvenOutside(absl::Span<const DistanceBound> bounds, const SoundRegion& region,
                   const AreaIndex& area, int f) {
  if (f == 0) return !region.is_empty() && area.Relate(region) == Relation::kOutside;
  auto subs = RobustSubregions(bounds, f);
  if (!subs.ok()) return false;
  bool any = false;
  for (const SoundRegion& s : *subs) {
    if (s.is_empty()) continue;
    any = true;
    if (area.Relate(s) != Relation::kOutside) return false;
  }
  return any;
}

}  // namespace

absl::StatusOr<LocateReport> RunLocate(const Dataset& dataset, const Estimator& estimator,
                                       const AreaIndex* prove_outside,
                                       const LocateOptions& options) {
  LocateReport report;
  report.method = EstimateMethodName(options.method);
  const auto& hosts = dataset.hosts();
  const std::vector<int> targets =
      options.leave_one_out ? dataset.PositionedHosts() : dataset.UnpositionedHosts();
  const std::vector<LightSpeedViolation> violations =
      FindLightSpeedViolations(dataset, LandmarkSanityOptions{});
  report.summary.flagged_landmarks = estimator.sanity().flagged;

  std::vector<double> errors, radii;
  int outside_eligible = 0, outside_proven = 0, with_truth = 0;
  for (int t : targets) {
    const std::vector<RttSample> samples = dataset.SamplesForTarget(t);
    if (options.leave_one_out && samples.empty()) {
      // A host nobody measured cannot be located; it is counted, not reported as a target.
      ++report.summary.skipped_unmeasured;
      continue;
    }
    TargetResult r;
    r.id = hosts[t].id;
    r.true_country = hosts[t].country;
    std::optional<S2Point> truth;
    if (options.leave_one_out && hosts[t].position) truth = hosts[t].position->ToPoint();

    // Landmarks whose declared positions are impossible are left out of the proof. In
    // leave-one-out, the attribution ignores the target's own pairs (its position is unknown).
    const LandmarkSanityResult sanity = AttributeViolations(
        dataset, violations, truth ? std::optional<int>(t) : std::nullopt);
    std::vector<DistanceBound> bounds;
    std::vector<Observation> observations;
    for (const RttSample& s : samples) {
      if (s.landmark == t || sanity.is_flagged[s.landmark]) continue;
      bounds.push_back(BoundFromRtt(hosts[s.landmark].position->ToPoint(), s.rtt_ms, s.landmark));
      observations.push_back({s.landmark, s.rtt_ms});
    }
    r.landmarks_used = static_cast<int>(bounds.size());
    const SoundRegion region(bounds);
    r.sound.empty = region.is_empty();
    r.sound.area_km2 = region.AreaKm2();

    auto estimate = estimator.Locate(observations, options.method,
                                     truth ? std::optional<int>(t) : std::nullopt);
    if (estimate.ok()) {
      // The estimate never claims more than the proof allows: it is moved into the region,
      // and its uncertainty never exceeds the provable radius around it.
      if (!region.is_empty()) {
        const S2Point p = region.ClosestPoint(estimate->position.ToPoint());
        estimate->position = S2LatLng(p);
        estimate->uncertainty_km = std::min(estimate->uncertainty_km,
                                            AngleToKm(region.MaxDistanceFrom(p)));
      }
      r.estimate = *estimate;
    } else {
      r.estimate_error = std::string(estimate.status().message());
    }

    if (!region.is_empty()) {
      if (truth) {
        r.sound.radius_km = AngleToKm(region.MaxDistanceFrom(*truth));
      } else if (r.estimate) {
        r.sound.radius_km = AngleToKm(region.MaxDistanceFrom(r.estimate->position.ToPoint()));
      }
    }
    if (truth) {
      ++with_truth;
      r.sound.consistent = region.Contains(*truth);
      if (!*r.sound.consistent) ++report.summary.sound_violations;
      if (r.estimate) {
        r.error_km = AngleToKm(S1Angle(*truth, r.estimate->position.ToPoint()));
        errors.push_back(*r.error_km);
      }
      if (!region.is_empty()) radii.push_back(r.sound.radius_km);
    }
    if (prove_outside != nullptr) {
      r.sound.proven_outside = ProvenOutside(bounds, region, *prove_outside, options.robustness);
      const auto& codes = options.prove_outside_codes;
      if (!r.true_country.empty() &&
          std::find(codes.begin(), codes.end(), r.true_country) == codes.end()) {
        ++outside_eligible;
        outside_proven += *r.sound.proven_outside;
      }
    }
    report.targets.push_back(std::move(r));
  }

  LocateSummary& s = report.summary;
  s.targets = static_cast<int>(report.targets.size());
  if (!errors.empty()) {
    s.median_error_km = Quantile(errors, 0.5);
    s.p80_error_km = Quantile(errors, 0.8);
    s.p90_error_km = Quantile(errors, 0.9);
    auto frac_within = [&](double km) {
      return static_cast<double>(std::count_if(errors.begin(), errors.end(),
                                               [km](double e) { return e <= km; })) /
             errors.size();
    };
    s.within_40km = frac_within(40);
    s.within_500km = frac_within(500);
  }
  if (!radii.empty()) s.median_radius_km = Quantile(radii, 0.5);
  if (outside_eligible > 0) {
    s.proven_outside_fraction = static_cast<double>(outside_proven) / outside_eligible;
  }
  (void)with_truth;
  return report;
}

namespace {

template <typename T>
nlohmann::json Opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json ToJson(const LocateReport& report) {
  nlohmann::json targets = nlohmann::json::array();
  for (const TargetResult& r : report.targets) {
    nlohmann::json t = {{"id", r.id}, {"landmarks_used", r.landmarks_used}};
    if (r.estimate) {
      t["estimate"] = {{"lat", r.estimate->position.lat().degrees()},
                       {"lon", r.estimate->position.lng().degrees()},
                       {"uncertainty_km", r.estimate->uncertainty_km}};
    } else {
      t["estimate"] = nullptr;
      t["estimate_error"] = r.estimate_error;
    }
    t["error_km"] = Opt(r.error_km);
    t["sound"] = {{"empty", r.sound.empty},
                  {"radius_km", r.sound.empty ? nlohmann::json(nullptr) : nlohmann::json(r.sound.radius_km)},
                  {"area_km2", r.sound.area_km2},
                  {"proven_outside", Opt(r.sound.proven_outside)},
                  {"consistent", Opt(r.sound.consistent)}};
    targets.push_back(std::move(t));
  }
  const LocateSummary& s = report.summary;
  nlohmann::json flagged = nlohmann::json::array();
  for (const FlaggedLandmark& f : s.flagged_landmarks) {
    flagged.push_back({{"id", f.id}, {"reason", f.reason}});
  }
  return {{"method", report.method},
          {"targets", std::move(targets)},
          {"summary",
           {{"targets", s.targets},
            {"median_error_km", Opt(s.median_error_km)},
            {"p80_error_km", Opt(s.p80_error_km)},
            {"p90_error_km", Opt(s.p90_error_km)},
            {"within_40km", Opt(s.within_40km)},
            {"within_500km", Opt(s.within_500km)},
            {"sound_violations", s.sound_violations},
            {"median_radius_km", Opt(s.median_radius_km)},
            {"proven_outside_fraction", Opt(s.proven_outside_fraction)},
            {"skipped_unmeasured", s.skipped_unmeasured},
            {"flagged_landmarks", std::move(flagged)}}}};
}

std::string FormatSummaryTable(const LocateReport& report) {
  const LocateSummary& s = report.summary;
  auto km = [](const std::optional<double>& v) {
    return v ? absl::StrFormat("%.1f km", *v) : std::string("-");
  };
  auto pct = [](const std::optional<double>& v) {
    return v ? absl::StrFormat("%.1f%%", 100 * *v) : std::string("-");
  };
  std::string out;
  absl::StrAppendFormat(&out, "method %s, %d targets", report.method, s.targets);
  if (s.skipped_unmeasured > 0) {
    absl::StrAppendFormat(&out, " (%d hosts with no measurements skipped)", s.skipped_unmeasured);
  }
  out += "\n";
  absl::StrAppendFormat(&out, "  %-28s %s\n", "median error", km(s.median_error_km));
  absl::StrAppendFormat(&out, "  %-28s %s\n", "p80 error", km(s.p80_error_km));
  absl::StrAppendFormat(&out, "  %-28s %s\n", "p90 error", km(s.p90_error_km));
  absl::StrAppendFormat(&out, "  %-28s %s\n", "within 40 km", pct(s.within_40km));
  absl::StrAppendFormat(&out, "  %-28s %s\n", "within 500 km", pct(s.within_500km));
  absl::StrAppendFormat(&out, "  %-28s %d\n", "sound violations", s.sound_violations);
  absl::StrAppendFormat(&out, "  %-28s %s\n", "median provable radius", km(s.median_radius_km));
  absl::StrAppendFormat(&out, "  %-28s %s\n", "proven outside", pct(s.proven_outside_fraction));
  absl::StrAppendFormat(&out, "  %-28s %d\n", "flagged landmarks", s.flagged_landmarks.size());
  for (const FlaggedLandmark& f : s.flagged_landmarks) {
    absl::StrAppendFormat(&out, "    %s: %s\n", f.id, f.reason);
  }
  return out;
}

}  // namespace lightcone::geo
