#include "demo/summary.h"

#include <map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/crypto.h"
#include "core/status_macros.h"

namespace lightcone::demo {
namespace {

using server::Alert;
using server::Device;
using server::Store;

absl::StatusOr<std::vector<Device>> AllDevices(Store& store) {
  std::vector<Device> out;
  server::DeviceFilter f;
  f.page.limit = server::kMaxPageSize;
  while (true) {
    LC_ASSIGN_OR_RETURN(server::Page<Device> page, store.ListDevices(f));
    for (Device& d : page.items) out.push_back(std::move(d));
    if (page.next_after_id == 0) break;
    f.page.after_id = page.next_after_id;
  }
  return out;
}

absl::StatusOr<std::vector<Alert>> AllAlerts(Store& store) {
  std::vector<Alert> out;
  server::AlertFilter f;
  f.page.limit = server::kMaxPageSize;
  while (true) {
    LC_ASSIGN_OR_RETURN(server::Page<Alert> page, store.ListAlerts(f));
    for (Alert& a : page.items) out.push_back(std::move(a));
    if (page.next_after_id == 0) break;
    f.page.after_id = page.next_after_id;
  }
  return out;
}

}  // namespace

absl::StatusOr<nlohmann::json> BuildSummary(Store& store, const World& world,
                                            const SummaryOptions& options) {
  const Scenario& s = world.scenario();
  LC_ASSIGN_OR_RETURN(std::vector<Device> devices, AllDevices(store));
  LC_ASSIGN_OR_RETURN(std::vector<Alert> alerts, AllAlerts(store));
  LC_ASSIGN_OR_RETURN(std::vector<server::Landmark> landmarks, store.ListLandmarks());
  absl::flat_hash_map<std::string, int64_t> device_by_uuid;
  absl::flat_hash_map<int64_t, std::string> uuid_by_device;
  for (const Device& d : devices) {
    device_by_uuid[d.uuid] = d.id;
    uuid_by_device[d.id] = d.uuid;
  }
  // Device ids of each group's identities.
  std::vector<absl::flat_hash_set<int64_t>> group_devices(s.groups.size());
  absl::flat_hash_set<int64_t> diverted;
  for (const WorldHost& h : world.hosts()) {
    for (int id : h.identities) {
      auto it = device_by_uuid.find(world.identities()[id].uuid);
      if (it == device_by_uuid.end()) continue;
      group_devices[h.group_index].insert(it->second);
      if (!h.group->identities_from.empty()) diverted.insert(it->second);
    }
  }
  auto landmark_matches = [&](const Alert& a, const std::string& name) {
    if (absl::StrContains(a.subject, name) || absl::StrContains(a.evidence_json, name)) {
      return true;
    }
    for (const server::Landmark& l : landmarks) {
      if (l.name != name) continue;
      if (!l.wire_id.empty() && absl::StrContains(a.evidence_json, l.wire_id)) return true;
      nlohmann::json ev = nlohmann::json::parse(a.evidence_json, nullptr, false);
      if (ev.is_object() && ev.contains("landmark_id") && ev["landmark_id"].is_number_integer() &&
          ev["landmark_id"].get<int64_t>() == l.id) {
        return true;
      }
    }
    return false;
  };
  // An alert about several devices (device_id 0) names them in its evidence.
  auto group_matches = [&](const Alert& a, int group) {
    if (a.device_id != 0) return group_devices[group].contains(a.device_id);
    nlohmann::json ev = nlohmann::json::parse(a.evidence_json, nullptr, false);
    for (int64_t id : group_devices[group]) {
      const std::string& uuid = uuid_by_device[id];
      if (absl::StrContains(a.evidence_json, uuid)) return true;
    }
    if (ev.is_object()) {
      for (const char* key : {"device_ids", "devices"}) {
        if (!ev.contains(key) || !ev[key].is_array()) continue;
        for (const auto& x : ev[key]) {
          if (x.is_number_integer() && group_devices[group].contains(x.get<int64_t>())) return true;
        }
      }
    }
    return false;
  };
  std::vector<bool> alert_expected(alerts.size(), false);
  nlohmann::json expected = nlohmann::json::array();
  bool passed = true;
  for (size_t st = 0; st < s.steps.size(); ++st) {
    for (const ExpectedAlert& e : s.steps[st].expect) {
      nlohmann::json ids = nlohmann::json::array();
      int group = e.group.empty() ? -1 : world.GroupIndex(e.group);
      for (size_t i = 0; i < alerts.size(); ++i) {
        const Alert& a = alerts[i];
        if (a.type != e.type) continue;
        bool match = group >= 0 ? group_matches(a, group) : landmark_matches(a, e.landmark);
        if (!match) continue;
        ids.push_back(a.id);
        alert_expected[i] = true;
      }
      nlohmann::json item = {{"step", st}, {"type", e.type}, {"met", !ids.empty()},
                             {"alerts", ids.size()}};
      if (group >= 0) item["group"] = e.group; else item["landmark"] = e.landmark;
      if (ids.empty()) passed = false;
      expected.push_back(item);
    }
  }
  nlohmann::json unexpected = nlohmann::json::array();
  std::map<std::string, int64_t> by_type;
  for (size_t i = 0; i < alerts.size(); ++i) {
    const Alert& a = alerts[i];
    ++by_type[a.type];
    if (alert_expected[i]) continue;
    passed = false;
    nlohmann::json u = {{"id", a.id}, {"type", a.type}, {"subject", a.subject}};
    if (auto it = uuid_by_device.find(a.device_id); it != uuid_by_device.end()) {
      u["device_uuid"] = it->second;
    }
    unexpected.push_back(u);
  }
  // Verdict counts (latest per device).
  LC_ASSIGN_OR_RETURN(std::vector<server::Verdict> latest, store.LatestVerdicts(std::nullopt));
  std::map<std::string, int64_t> counts = {{"compliant", 0}, {"violation", 0}, {"unproven", 0}};
  for (const server::Verdict& v : latest) ++counts[server::VerdictStatusName(v.status)];
  counts["none"] = static_cast<int64_t>(devices.size() - latest.size());
  // Diverted devices: never compliant after diversion.
  int64_t compliant_now = 0, ever_compliant = 0;
  absl::flat_hash_map<int64_t, server::VerdictStatus> latest_by_device;
  for (const server::Verdict& v : latest) latest_by_device[v.device_id] = v.status;
  for (int64_t id : diverted) {
    auto it = latest_by_device.find(id);
    if (it != latest_by_device.end() && it->second == server::VerdictStatus::kCompliant) {
      ++compliant_now;
    }
    server::PageRequest page;
    page.limit = server::kMaxPageSize;
    bool ever = false;
    while (true) {
      LC_ASSIGN_OR_RETURN(server::Page<server::Verdict> vs, store.ListVerdicts(id, page));
      for (const server::Verdict& v : vs.items) {
        if (v.time >= options.diverted_since && v.status == server::VerdictStatus::kCompliant) {
          ever = true;
        }
      }
      if (vs.next_after_id == 0) break;
      page.after_id = vs.next_after_id;
    }
    if (ever) ++ever_compliant;
  }
  if (ever_compliant > 0) passed = false;
  return nlohmann::json{
      {"scenario", s.name},
      {"passed", passed},
      {"devices", devices.size()},
      {"expected", expected},
      {"unexpected", unexpected},
      {"raised_by_type", by_type},
      {"verdicts", counts},
      {"diverted", {{"devices", diverted.size()},
                    {"compliant_now", compliant_now},
                    {"ever_compliant_after_diversion", ever_compliant}}}};
}

}  // namespace lightcone::demo
