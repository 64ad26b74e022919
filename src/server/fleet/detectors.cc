#include "server/fleet/detectors.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "geo/sound_region.h"
#include "geo/units.h"
#include "nlohmann/json.hpp"
#include "s2/s1angle.h"
#include "s2/s2latlng.h"

namespace lightcone::server::fleet {
namespace {

using Json = nlohmann::json;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string Hours(absl::Duration d) {
  return absl::StrFormat("%.1f h", absl::ToDoubleHours(d));
}

std::string DeviceName(const Device& d) {
  std::string name = d.uuid.empty() ? absl::StrCat("device ", d.id) : d.uuid;
  if (!d.serial.empty()) absl::StrAppend(&name, " (serial ", d.serial, ")");
  return name;
}

Finding MakeFinding(const char* type, std::string key, AlertSeverity severity, int64_t org,
                    int64_t device_id, std::string subject, Json evidence) {
  Finding f;
  f.key = std::move(key);
  f.alert.type = type;
  f.alert.severity = severity;
  f.alert.organization_id = org;
  f.alert.device_id = device_id;
  f.alert.subject = std::move(subject);
  evidence["dedup_key"] = f.key;
  f.alert.evidence_json = evidence.dump();
  return f;
}

bool IsDark(const DeviceState& d, absl::Time now, absl::Duration max_silence) {
  const absl::Time heard = d.last_heard.value_or(d.device->last_seen);
  return now - heard > max_silence && now - d.device->first_seen > max_silence;
}

const Licence* LicenceOf(const FleetSnapshot& s, const Device& d) {
  if (d.licence_id == 0) return nullptr;
  auto it = s.licences.find(d.licence_id);
  return it == s.licences.end() ? nullptr : it->second;
}

std::string HostName(const FleetSnapshot& s, int64_t host_id) {
  auto it = s.hosts.find(host_id);
  if (it == s.hosts.end()) return absl::StrCat("host ", host_id);
  return it->second->hostname;
}

bool EverCompliant(const DeviceState& d) {
  if (d.decision != nullptr) {
    return d.decision->verdict.status == VerdictStatus::kCompliant ||
           d.decision->last_compliant_at.has_value();
  }
  if (d.previous != nullptr) {
    return d.previous->status == VerdictStatus::kCompliant ||
           SummaryTime(*d.previous, "last_compliant_at").has_value();
  }
  return false;
}

// The verdict the detectors judge a device by: this pass's, else the stored one.
const Verdict* CurrentVerdict(const DeviceState& d) {
  if (d.decision != nullptr) return &d.decision->verdict;
  return d.previous;
}

}  // namespace

Alert CompleteAlert(const Finding& f) {
  Alert a = f.alert;
  if (f.evidence) {
    Json evidence = f.evidence();
    if (!evidence.is_object()) evidence = Json{{"value", evidence}};
    evidence["dedup_key"] = f.key;
    a.evidence_json = evidence.dump();
  }
  return a;
}

bool IsResolvableAlertType(const std::string& type) {
  static const std::set<std::string> kTypes = {kWentDark,         kLicenceOveruse,
                                               kUnlicensedGpu,    kShipmentUnproven,
                                               kBilledCountryMismatch, kVerdictViolation,
                                               kVerdictUnproven};
  return kTypes.contains(type);
}

std::vector<Finding> DetectWentDark(const FleetSnapshot& s, const WentDarkOptions& o) {
  std::vector<Finding> out;
  for (const DeviceState& d : s.devices) {
    const Device& dev = *d.device;
    if (dev.licence_id == 0 || !IsDark(d, s.now, o.max_silence)) continue;
    const absl::Time heard = d.last_heard.value_or(dev.last_seen);
    out.push_back(MakeFinding(
        kWentDark, absl::StrCat("device:", dev.id), AlertSeverity::kWarning,
        dev.organization_id, dev.id,
        absl::StrCat("GPU ", DeviceName(dev), " on ", HostName(s, dev.host_id),
                     " has not been heard from for ", Hours(s.now - heard), " (allowed ",
                     Hours(o.max_silence), ")"),
        Json{{"last_heard", Rfc3339(heard)},
             {"silent_for_s", absl::ToInt64Seconds(s.now - heard)},
             {"max_silence_s", absl::ToInt64Seconds(o.max_silence)},
             {"licence_id", dev.licence_id},
             {"host_id", dev.host_id}}));
  }
  return out;
}

std::vector<Finding> DetectCohortDark(const FleetSnapshot& s, const CohortDarkOptions& o) {
  // Group dark, young devices by site (or host).
  std::map<std::string, std::vector<std::pair<absl::Time, const Device*>>> groups;
  std::map<std::string, std::pair<int64_t, std::string>> group_info;  // org, name
  for (const DeviceState& d : s.devices) {
    if (!IsDark(d, s.now, o.max_silence)) continue;
    const Device& dev = *d.device;
    const absl::Time heard = d.last_heard.value_or(dev.last_seen);
    if (heard - dev.first_seen > o.max_age_when_dark) continue;
    auto host = s.hosts.find(dev.host_id);
    std::string key, name;
    if (host != s.hosts.end() && host->second->site_id != 0) {
      key = absl::StrCat("site:", host->second->site_id);
      auto site = s.sites.find(host->second->site_id);
      name = site != s.sites.end() ? absl::StrCat("site ", site->second->name)
                                   : absl::StrCat("site ", host->second->site_id);
    } else {
      key = absl::StrCat("host:", dev.host_id);
      name = absl::StrCat("host ", HostName(s, dev.host_id));
    }
    groups[key].push_back({heard, &dev});
    group_info[key] = {dev.organization_id, name};
  }
  std::vector<Finding> out;
  for (auto& [key, members] : groups) {
    if (static_cast<int>(members.size()) < o.min_devices) continue;
    std::sort(members.begin(), members.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    // Largest set within `interval` (sliding window).
    size_t best_begin = 0, best_end = 0;
    for (size_t b = 0, e = 0; b < members.size(); ++b) {
      while (e < members.size() && members[e].first - members[b].first <= o.interval) ++e;
      if (e - b > best_end - best_begin) best_begin = b, best_end = e;
    }
    const int count = static_cast<int>(best_end - best_begin);
    if (count < o.min_devices) continue;
    Json devices = Json::array();
    absl::Duration max_age = absl::ZeroDuration();
    for (size_t i = best_begin; i < best_end; ++i) {
      const Device& dev = *members[i].second;
      max_age = std::max(max_age, members[i].first - dev.first_seen);
      if (static_cast<int>(devices.size()) < kMaxEvidenceItems) {
        devices.push_back({{"device_id", dev.id}, {"uuid", dev.uuid}, {"serial", dev.serial},
                           {"first_seen", Rfc3339(dev.first_seen)},
                           {"last_heard", Rfc3339(members[i].first)}});
      }
    }
    const auto& [org, name] = group_info[key];
    const absl::Time first_dark = members[best_begin].first;
    out.push_back(MakeFinding(
        kCohortDark, absl::StrCat(key, ":since:", absl::ToUnixSeconds(first_dark)),
        AlertSeverity::kCritical, org, 0,
        absl::StrCat(count, " GPUs of ", name, " went dark within ",
                     Hours(members[best_end - 1].first - first_dark), ", at most ",
                     absl::StrFormat("%.1f", absl::ToDoubleHours(max_age) / 24),
                     " days after they were first seen (install-test-dismantle pattern)"),
        Json{{"group", key},
             {"count", count},
             {"interval_s", absl::ToInt64Seconds(o.interval)},
             {"first_dark", Rfc3339(first_dark)},
             {"last_dark", Rfc3339(members[best_end - 1].first)},
             {"first_dark_unix_s", absl::ToUnixSeconds(first_dark)},
             {"last_dark_unix_s", absl::ToUnixSeconds(members[best_end - 1].first)},
             {"max_age_when_dark_s", absl::ToInt64Seconds(max_age)},
             {"devices", devices}}));
  }
  return out;
}

std::optional<CohortSpan> ParseCohortSpan(const std::string& evidence_json) {
  Json e = Json::parse(evidence_json, nullptr, false);
  if (!e.is_object()) return std::nullopt;
  auto group = e.find("group");
  auto first = e.find("first_dark_unix_s");
  auto last = e.find("last_dark_unix_s");
  if (group == e.end() || !group->is_string() || first == e.end() ||
      !first->is_number_integer() || last == e.end() || !last->is_number_integer()) {
    return std::nullopt;
  }
  return CohortSpan{group->get<std::string>(), first->get<int64_t>(), last->get<int64_t>()};
}

bool SameCohort(const CohortSpan& a, const CohortSpan& b, absl::Duration interval) {
  const int64_t slack = absl::ToInt64Seconds(interval);
  return a.group == b.group && a.first_dark_unix_s <= b.last_dark_unix_s + slack &&
         b.first_dark_unix_s <= a.last_dark_unix_s + slack;
}

std::vector<Finding> DetectIdentityReappearance(const FleetSnapshot& s,
                                                const IdentityReappearanceOptions& o) {
  std::vector<Finding> out;
  absl::flat_hash_map<int64_t, const Device*> by_id;
  for (const DeviceState& d : s.devices) by_id[d.device->id] = d.device;
  // (a) The same UUID re-attached to another host / organization.
  for (const auto& [device_id, events] : s.host_changes) {
    auto dev_it = by_id.find(device_id);
    if (dev_it == by_id.end()) continue;
    const Device& dev = *dev_it->second;
    for (const DeviceEvent& e : events) {
      if (e.kind != "host_changed" || s.now - e.time > o.lookback) continue;
      Json details = Json::parse(e.details_json, nullptr, false);
      if (details.is_discarded() || !details.is_object()) details = Json::object();
      const int64_t from_host = details.value("from_host_id", int64_t{0});
      const int64_t from_org = details.value("from_organization_id", int64_t{0});
      const bool other_org = from_org != 0 && from_org != e.organization_id;
      std::string subject = absl::StrCat("GPU ", DeviceName(dev), " reappeared on ",
                                         HostName(s, e.host_id), " (was on ",
                                         HostName(s, from_host), ")");
      if (other_org) {
        absl::StrAppend(&subject, " in another organization (", from_org, " -> ",
                        e.organization_id, ")");
      }
      out.push_back(MakeFinding(
          kIdentityReappearance, absl::StrCat("event:", e.id),
          other_org ? AlertSeverity::kCritical : AlertSeverity::kWarning, e.organization_id,
          dev.id, std::move(subject),
          Json{{"event_id", e.id},
               {"time", Rfc3339(e.time)},
               {"identity", "uuid"},
               {"uuid", dev.uuid},
               {"serial", dev.serial},
               {"ueid", dev.ueid},
               {"details", details}}));
    }
  }
  // (b) One serial or ueid on several device records in different places.
  for (const char* field : {"serial", "ueid"}) {
    absl::flat_hash_map<std::string, std::vector<const Device*>> groups;
    for (const DeviceState& d : s.devices) {
      const std::string& value = std::string(field) == "serial" ? d.device->serial : d.device->ueid;
      if (!value.empty()) groups[value].push_back(d.device);
    }
    for (auto& [value, devs] : groups) {
      if (devs.size() < 2) continue;
      bool differ = false;
      for (const Device* x : devs) {
        differ |= x->host_id != devs[0]->host_id || x->organization_id != devs[0]->organization_id ||
                  x->licence_id != devs[0]->licence_id;
      }
      if (!differ) continue;
      std::sort(devs.begin(), devs.end(),
                [](const Device* a, const Device* b) { return a->first_seen < b->first_seen; });
      Json records = Json::array();
      std::vector<std::string> places;
      for (const Device* x : devs) {
        if (static_cast<int>(records.size()) >= kMaxEvidenceItems) break;
        records.push_back({{"device_id", x->id}, {"uuid", x->uuid}, {"host_id", x->host_id},
                           {"organization_id", x->organization_id},
                           {"licence_id", x->licence_id},
                           {"first_seen", Rfc3339(x->first_seen)}});
        places.push_back(HostName(s, x->host_id));
      }
      const Device& newest = *devs.back();
      out.push_back(MakeFinding(
          kIdentityReappearance, absl::StrCat(field, ":", value), AlertSeverity::kCritical,
          newest.organization_id, newest.id,
          absl::StrCat("GPU ", field, " ", value, " is reported by ", devs.size(),
                       " devices on different hosts, organizations or licences (",
                       absl::StrJoin(places, ", "), ")"),
          Json{{"identity", field}, {"value", value}, {"devices", records}}));
    }
  }
  return out;
}

std::vector<Finding> DetectTopologyChange(const FleetSnapshot& s, const TopologyChangeOptions& o) {
  std::vector<Finding> out;
  absl::flat_hash_map<int64_t, const Device*> by_id;
  for (const DeviceState& d : s.devices) by_id[d.device->id] = d.device;
  for (const auto& [device_id, pair] : s.topology_changes) {
    auto dev_it = by_id.find(device_id);
    if (dev_it == by_id.end() || s.now - pair.after.time > o.lookback) continue;
    if (pair.before.peer_uuids == pair.after.peer_uuids) continue;
    const Device& dev = *dev_it->second;
    std::vector<std::string> added, removed;
    std::set_difference(pair.after.peer_uuids.begin(), pair.after.peer_uuids.end(),
                        pair.before.peer_uuids.begin(), pair.before.peer_uuids.end(),
                        std::back_inserter(added));
    std::set_difference(pair.before.peer_uuids.begin(), pair.before.peer_uuids.end(),
                        pair.after.peer_uuids.begin(), pair.after.peer_uuids.end(),
                        std::back_inserter(removed));
    out.push_back(MakeFinding(
        kTopologyChange, absl::StrCat("device:", dev.id, ":snapshot:", pair.after.id),
        AlertSeverity::kWarning, dev.organization_id, dev.id,
        absl::StrCat("NVLink peers of GPU ", DeviceName(dev), " changed: ", added.size(),
                     " added, ", removed.size(), " removed (", pair.before.peer_uuids.size(),
                     " -> ", pair.after.peer_uuids.size(), " peers)"),
        Json{{"before", {{"snapshot_id", pair.before.id}, {"time", Rfc3339(pair.before.time)},
                         {"peers", pair.before.peer_uuids}}},
             {"after", {{"snapshot_id", pair.after.id}, {"time", Rfc3339(pair.after.time)},
                        {"peers", pair.after.peer_uuids}}},
             {"added", added},
             {"removed", removed}}));
  }
  return out;
}

std::vector<Finding> DetectImpossibleTravel(const FleetSnapshot& s,
                                            const ImpossibleTravelOptions& o) {
  std::vector<Finding> out;
  for (const DeviceState& d : s.devices) {
    if (d.decision == nullptr || !d.decision->has_estimate || d.previous == nullptr) continue;
    const Verdict& prev = *d.previous;
    const Verdict& cur = d.decision->verdict;
    if (prev.estimate_radius_km <= 0 || cur.time <= prev.time) continue;
    const double dist_km = geo::AngleToKm(S1Angle(
        S2LatLng::FromDegrees(prev.estimate_latitude_deg, prev.estimate_longitude_deg),
        S2LatLng::FromDegrees(cur.estimate_latitude_deg, cur.estimate_longitude_deg)));
    const double moved_km = dist_km - prev.estimate_radius_km - cur.estimate_radius_km;
    const double hours = absl::ToDoubleHours(cur.time - prev.time);
    const double allowed_km = o.max_speed_kmh * hours;
    if (moved_km <= std::max(allowed_km, o.min_distance_km)) continue;
    const Device& dev = *d.device;
    out.push_back(MakeFinding(
        kImpossibleTravel, absl::StrCat("device:", dev.id), AlertSeverity::kCritical,
        dev.organization_id, dev.id,
        absl::StrFormat("GPU %s moved at least %.0f km in %.1f h (%.0f km/h; a shipment "
                        "cannot exceed %.0f km/h)",
                        DeviceName(dev), moved_km, hours, moved_km / std::max(hours, 1e-9),
                        o.max_speed_kmh),
        Json{{"from", {{"latitude_deg", prev.estimate_latitude_deg},
                       {"longitude_deg", prev.estimate_longitude_deg},
                       {"uncertainty_km", prev.estimate_radius_km},
                       {"time", Rfc3339(prev.time)}}},
             {"to", {{"latitude_deg", cur.estimate_latitude_deg},
                     {"longitude_deg", cur.estimate_longitude_deg},
                     {"uncertainty_km", cur.estimate_radius_km},
                     {"time", Rfc3339(cur.time)}}},
             {"distance_km", dist_km},
             {"min_moved_km", moved_km},
             {"hours", hours},
             {"max_speed_kmh", o.max_speed_kmh}}));
  }
  return out;
}

std::vector<Finding> DetectLicenceOveruse(const FleetSnapshot& s, const LicenceOveruseOptions&) {
  std::map<int64_t, std::map<std::string, int64_t>> counts;
  for (const DeviceState& d : s.devices) {
    if (d.device->licence_id != 0) ++counts[d.device->licence_id][d.device->model];
  }
  std::vector<Finding> out;
  for (const auto& [licence_id, by_model] : counts) {
    auto it = s.licences.find(licence_id);
    if (it == s.licences.end()) continue;
    const Licence& lic = *it->second;
    if (lic.model_caps.empty()) continue;
    for (const auto& [model, count] : by_model) {
      int64_t cap = 0;
      for (const ModelCap& c : lic.model_caps) {
        if (c.model == model) cap = c.max_count;
      }
      if (count <= cap) continue;
      out.push_back(MakeFinding(
          kLicenceOveruse, absl::StrCat("licence:", licence_id, ":model:", model),
          AlertSeverity::kCritical, lic.organization_id, 0,
          cap == 0 ? absl::StrCat(count, " GPU(s) of model ", model, " under licence ",
                                  lic.reference, ", which does not allow that model")
                   : absl::StrCat(count, " GPUs of model ", model, " under licence ",
                                  lic.reference, ", which allows ", cap),
          Json{{"licence_id", licence_id},
               {"reference", lic.reference},
               {"model", model},
               {"in_use", count},
               {"max_count", cap}}));
    }
  }
  return out;
}

std::vector<Finding> DetectUnlicensedGpu(const FleetSnapshot& s, const UnlicensedGpuOptions& o) {
  std::vector<Finding> out;
  for (const DeviceState& d : s.devices) {
    const Device& dev = *d.device;
    if (dev.licence_id != 0 && s.licences.contains(dev.licence_id)) continue;
    if (s.now - dev.first_seen <= o.grace) continue;
    out.push_back(MakeFinding(
        kUnlicensedGpu, absl::StrCat("device:", dev.id), AlertSeverity::kWarning,
        dev.organization_id, dev.id,
        absl::StrCat("GPU ", DeviceName(dev), " (", dev.model, ") on ", HostName(s, dev.host_id),
                     " is under no licence ", Hours(s.now - dev.first_seen),
                     " after enrollment"),
        Json{{"model", dev.model},
             {"host_id", dev.host_id},
             {"first_seen", Rfc3339(dev.first_seen)},
             {"licence_id", dev.licence_id}}));
  }
  return out;
}

namespace {

// Devices by serial.
absl::flat_hash_map<std::string, std::vector<const DeviceState*>> BySerial(const FleetSnapshot& s) {
  absl::flat_hash_map<std::string, std::vector<const DeviceState*>> m;
  for (const DeviceState& d : s.devices) {
    if (!d.device->serial.empty()) m[d.device->serial].push_back(&d);
  }
  return m;
}

// The device of `serial` proven compliant under `licence_id`, if any.
const DeviceState* ProvenDevice(
    const absl::flat_hash_map<std::string, std::vector<const DeviceState*>>& by_serial,
    const std::string& serial, int64_t licence_id) {
  auto it = by_serial.find(serial);
  if (it == by_serial.end()) return nullptr;
  for (const DeviceState* d : it->second) {
    if (d->device->licence_id == licence_id && EverCompliant(*d)) return d;
  }
  return nullptr;
}

}  // namespace

std::vector<Finding> DetectShipmentUnproven(const FleetSnapshot& s, const ShipmentOptions& o) {
  const auto by_serial = BySerial(s);
  std::vector<Finding> out;
  for (const Shipment& sh : s.shipments) {
    if (s.now - sh.shipped_at <= o.max_days_to_prove) continue;
    std::vector<std::string> unproven, never_seen;
    for (const std::string& serial : sh.serials) {
      if (ProvenDevice(by_serial, serial, sh.licence_id) != nullptr) continue;
      unproven.push_back(serial);
      if (!by_serial.contains(serial)) never_seen.push_back(serial);
    }
    if (unproven.empty()) continue;
    const size_t n_unproven = unproven.size(), n_never = never_seen.size();
    if (unproven.size() > kMaxEvidenceItems) unproven.resize(kMaxEvidenceItems);
    if (never_seen.size() > kMaxEvidenceItems) never_seen.resize(kMaxEvidenceItems);
    out.push_back(MakeFinding(
        kShipmentUnproven, absl::StrCat("shipment:", sh.id), AlertSeverity::kWarning,
        sh.organization_id, 0,
        absl::StrCat(n_unproven, " of ", sh.serials.size(), " GPUs of shipment ", sh.reference,
                     " (billed to ", sh.billed_country, ", shipped ",
                     absl::StrFormat("%.0f", absl::ToDoubleHours(s.now - sh.shipped_at) / 24),
                     " days ago) were never proven at a licensed site; ", n_never,
                     " never enrolled"),
        Json{{"shipment_id", sh.id},
             {"reference", sh.reference},
             {"licence_id", sh.licence_id},
             {"billed_country", sh.billed_country},
             {"shipped_at", Rfc3339(sh.shipped_at)},
             {"shipped", sh.serials.size()},
             {"unproven", n_unproven},
             {"never_enrolled", n_never},
             {"unproven_serials", unproven},
             {"never_enrolled_serials", never_seen}}));
  }
  return out;
}

std::vector<Finding> DetectBilledCountryMismatch(const FleetSnapshot& s, const ShipmentOptions& o) {
  const auto by_serial = BySerial(s);
  // Per licence: shipped per billed country, verified per country.
  struct Counts {
    std::map<std::string, int64_t> billed;
    std::map<std::string, int64_t> verified_by_billed;  // Verified in the billed country.
    std::map<std::string, int64_t> verified;            // Any country.
    int64_t organization_id = 0;
  };
  std::map<int64_t, Counts> per_licence;
  for (const Shipment& sh : s.shipments) {
    if (s.now - sh.shipped_at <= o.max_days_to_prove) continue;
    Counts& c = per_licence[sh.licence_id];
    c.organization_id = sh.organization_id;
    for (const std::string& serial : sh.serials) {
      ++c.billed[sh.billed_country];
      const DeviceState* d = ProvenDevice(by_serial, serial, sh.licence_id);
      const Verdict* v = d != nullptr ? CurrentVerdict(*d) : nullptr;
      if (v == nullptr || v->status != VerdictStatus::kCompliant) continue;
      std::string country = "unknown";
      if (s.atlas != nullptr) {
        auto found = s.atlas->NearestCountry(
            S2LatLng::FromDegrees(v->estimate_latitude_deg, v->estimate_longitude_deg),
            geo::KmToAngle(geo::kCountryBorderMarginKm * 4));
        if (found.has_value()) country = *found;
      }
      ++c.verified[country];
      if (country == sh.billed_country) ++c.verified_by_billed[sh.billed_country];
    }
  }
  std::vector<Finding> out;
  for (const auto& [licence_id, c] : per_licence) {
    auto lic = s.licences.find(licence_id);
    const std::string reference =
        lic != s.licences.end() ? lic->second->reference : absl::StrCat(licence_id);
    for (const auto& [billed_country, billed] : c.billed) {
      auto vit = c.verified_by_billed.find(billed_country);
      const int64_t verified = vit == c.verified_by_billed.end() ? 0 : vit->second;
      if (static_cast<double>(verified) >= o.min_verified_fraction * static_cast<double>(billed)) {
        continue;
      }
      out.push_back(MakeFinding(
          kBilledCountryMismatch, absl::StrCat("licence:", licence_id, ":billed:", billed_country),
          AlertSeverity::kWarning, c.organization_id, 0,
          absl::StrCat("Licence ", reference, ": ", billed, " GPUs billed to ", billed_country,
                       " but only ", verified, " verified there"),
          Json{{"licence_id", licence_id},
               {"reference", reference},
               {"billed_country", billed_country},
               {"billed", c.billed},
               {"verified_in_billed_country", verified},
               {"verified_by_country", c.verified},
               {"min_verified_fraction", o.min_verified_fraction}}));
    }
  }
  return out;
}

std::vector<Finding> DetectVerdictAlerts(const FleetSnapshot& s, const VerdictAlertOptions& o) {
  std::vector<Finding> out;
  for (const DeviceState& d : s.devices) {
    if (d.decision == nullptr) continue;
    const Device& dev = *d.device;
    const Verdict& v = d.decision->verdict;
    const absl::Time since = d.decision->status_since.value_or(s.now);
    const Decision* decision = d.decision;
    // Built only for alerts that are created (see Finding::evidence).
    auto evidence = [decision, since, licence_id = dev.licence_id]() {
      const Verdict& verdict = decision->verdict;
      Json e = {{"verdict_status", VerdictStatusName(verdict.status)},
                {"reason", verdict.reason},
                {"since", Rfc3339(since)},
                {"licence_id", licence_id},
                {"robustness_f", verdict.robustness_f},
                {"region", Json::parse(verdict.region_summary_json, nullptr, false)}};
      if (decision->has_estimate) {
        e["estimate"] = {{"latitude_deg", verdict.estimate_latitude_deg},
                         {"longitude_deg", verdict.estimate_longitude_deg},
                         {"uncertainty_km", verdict.estimate_radius_km}};
      }
      return e;
    };
    Finding f;
    f.alert.organization_id = dev.organization_id;
    f.alert.device_id = dev.id;
    f.key = absl::StrCat("device:", dev.id);
    f.evidence = evidence;
    if (v.status == VerdictStatus::kViolation) {
      f.alert.type = kVerdictViolation;
      f.alert.severity = AlertSeverity::kCritical;
      f.alert.subject = absl::StrCat("GPU ", DeviceName(dev), ": ", v.reason);
      out.push_back(std::move(f));
    } else if (v.status == VerdictStatus::kUnproven && LicenceOf(s, dev) != nullptr &&
               s.now - since > o.unproven_grace) {
      f.alert.type = kVerdictUnproven;
      f.alert.severity = AlertSeverity::kWarning;
      f.alert.subject = absl::StrCat("GPU ", DeviceName(dev), " unproven for ",
                                     Hours(s.now - since), ": ", v.reason);
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::vector<Finding> DetectLandmarkInconsistent(const FleetSnapshot& s,
                                                const LandmarkInconsistentOptions& o) {
  if (s.engine == nullptr) return {};
  if (std::none_of(s.devices.begin(), s.devices.end(), [](const DeviceState& d) {
        return d.decision != nullptr && d.decision->region_inconsistent;
      })) {
    return {};
  }
  absl::flat_hash_map<int64_t, int64_t> measured, blamed;
  absl::flat_hash_map<int64_t, std::vector<int64_t>> blamed_devices;
  int examined = 0;
  for (const DeviceState& d : s.devices) {
    const std::vector<geo::DistanceBound> bounds = s.engine->Bounds(d.rtts, s.now);
    for (const geo::DistanceBound& b : bounds) ++measured[b.landmark];
    if (d.decision == nullptr || !d.decision->region_inconsistent || bounds.size() < 3) continue;
    if (examined >= o.max_devices_examined) continue;
    ++examined;
    int culprit = -1, candidates = 0;
    std::vector<geo::DistanceBound> rest;
    for (size_t drop = 0; drop < bounds.size() && candidates < 2; ++drop) {
      rest.clear();
      for (size_t i = 0; i < bounds.size(); ++i) {
        if (i != drop) rest.push_back(bounds[i]);
      }
      if (!geo::SoundRegion(rest).is_empty()) {
        ++candidates;
        culprit = bounds[drop].landmark;
      }
    }
    if (candidates != 1) continue;
    ++blamed[culprit];
    auto& list = blamed_devices[culprit];
    if (static_cast<int>(list.size()) < kMaxEvidenceItems) list.push_back(d.device->id);
  }
  std::vector<Finding> out;
  for (const auto& [landmark_id, count] : blamed) {
    const int64_t total = measured[landmark_id];
    if (count < o.min_devices || static_cast<double>(count) < o.min_fraction * total) continue;
    const Landmark* l = s.engine->FindLandmark(landmark_id);
    const std::string name = l != nullptr ? l->name : absl::StrCat("landmark ", landmark_id);
    out.push_back(MakeFinding(
        kLandmarkInconsistent, absl::StrCat("landmark:", landmark_id), AlertSeverity::kCritical,
        0, 0,
        absl::StrCat("Landmark ", name, " contradicts the other landmarks for ", count, " of ",
                     total, " GPUs it measured: its RTTs or its declared position are wrong",
                     o.flag_landmark ? " (flagged: verdicts ignore it)" : ""),
        Json{{"landmark_id", landmark_id},
             {"name", name},
             {"blamed_devices", count},
             {"measured_devices", total},
             {"device_ids", blamed_devices[landmark_id]},
             {"flagged", o.flag_landmark}}));
  }
  return out;
}

std::vector<Finding> RunDetectors(const FleetSnapshot& s, const DetectorOptions& o) {
  std::vector<Finding> out;
  auto add = [&](std::vector<Finding> f) {
    for (Finding& x : f) out.push_back(std::move(x));
  };
  add(DetectWentDark(s, o.went_dark));
  add(DetectCohortDark(s, o.cohort_dark));
  add(DetectIdentityReappearance(s, o.identity));
  add(DetectTopologyChange(s, o.topology));
  add(DetectImpossibleTravel(s, o.travel));
  add(DetectLicenceOveruse(s, o.overuse));
  add(DetectUnlicensedGpu(s, o.unlicensed));
  add(DetectShipmentUnproven(s, o.shipments));
  add(DetectBilledCountryMismatch(s, o.shipments));
  add(DetectVerdictAlerts(s, o.verdicts));
  add(DetectLandmarkInconsistent(s, o.landmarks));
  return out;
}

}  // namespace lightcone::server::fleet
