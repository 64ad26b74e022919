#include "geo/landmark_sanity.h"

#include <set>

#include "absl/strings/str_format.h"
#include "geo/units.h"
#include "s2/s1angle.h"

namespace lightcone::geo {

std::vector<LightSpeedViolation> FindLightSpeedViolations(const Dataset& dataset,
                                                          const LandmarkSanityOptions& options) {
  std::vector<LightSpeedViolation> out;
  const auto& hosts = dataset.hosts();
  for (const RttSample& s : dataset.samples()) {
    const auto& a = hosts[s.landmark].position;
    const auto& b = hosts[s.target].position;
    if (!a.has_value() || !b.has_value()) continue;
    const S1Angle distance = a->GetDistance(*b);
    const double min_rtt_ms = MinRttMsForDistance(distance);
    if (s.rtt_ms + options.tolerance_ms < min_rtt_ms) {
      out.push_back(LightSpeedViolation{s.landmark, s.target, s.rtt_ms, AngleToKm(distance),
                                        min_rtt_ms});
    }
  }
  return out;
}

LandmarkSanityResult AttributeViolations(const Dataset& dataset,
                                         absl::Span<const LightSpeedViolation> violations,
                                         std::optional<int> exclude_host) {
  const int n = static_cast<int>(dataset.hosts().size());
  LandmarkSanityResult result;
  result.is_flagged.assign(n, false);
  std::vector<const LightSpeedViolation*> open;
  for (const LightSpeedViolation& v : violations) {
    if (exclude_host.has_value() && (v.landmark == *exclude_host || v.target == *exclude_host)) {
      continue;
    }
    open.push_back(&v);
  }
  result.violations = static_cast<int>(open.size());

  while (!open.empty()) {
    std::vector<int> count(n, 0);
    std::vector<double> shortfall(n, 0);
    for (const LightSpeedViolation* v : open) {
      for (int h : {v->landmark, v->target}) {
        ++count[h];
        shortfall[h] += v->shortfall_ms();
      }
    }
    int worst = -1;
    for (int h = 0; h < n; ++h) {
      if (count[h] == 0) continue;
      if (worst < 0 || count[h] > count[worst] ||
          (count[h] == count[worst] && shortfall[h] > shortfall[worst])) {
        worst = h;
      }
    }
    // Explain the worst host's violations and describe them.
    std::vector<const LightSpeedViolation*> rest;
    std::set<int> partners;
    const LightSpeedViolation* biggest = nullptr;
    int attributed = 0;
    for (const LightSpeedViolation* v : open) {
      if (v->landmark != worst && v->target != worst) {
        rest.push_back(v);
        continue;
      }
      ++attributed;
      partners.insert(v->landmark == worst ? v->target : v->landmark);
      if (biggest == nullptr || v->shortfall_ms() > biggest->shortfall_ms()) biggest = v;
    }
    const int other = biggest->landmark == worst ? biggest->target : biggest->landmark;
    FlaggedLandmark flag;
    flag.host = worst;
    flag.id = dataset.hosts()[worst].id;
    flag.violations = attributed;
    flag.reason = absl::StrFormat(
        "%d RTT%s faster than light allows for the declared position (with %d host%s); worst: "
        "%.3f ms with %s at %.0f km needs >= %.3f ms",
        attributed, attributed == 1 ? "" : "s", static_cast<int>(partners.size()),
        partners.size() == 1 ? "" : "s", biggest->rtt_ms, dataset.hosts()[other].id,
        biggest->distance_km, biggest->min_rtt_ms);
    result.is_flagged[worst] = true;
    result.flagged.push_back(std::move(flag));
    open = std::move(rest);
  }
  return result;
}

LandmarkSanityResult CheckLandmarks(const Dataset& dataset, const LandmarkSanityOptions& options) {
  const std::vector<LightSpeedViolation> violations = FindLightSpeedViolations(dataset, options);
  return AttributeViolations(dataset, violations);
}

}  // namespace lightcone::geo
