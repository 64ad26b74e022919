#include "demo/scenario.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/toml_util.h"

namespace lightcone::demo {
namespace {

using toml_util::ConfigError;

// Reads typed keys of one table, remembering the first error and rejecting unknown keys.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string where, absl::string_view origin)
      : table_(table), where_(std::move(where)), origin_(origin) {}

  std::string String(const char* key, bool required, std::string def = "") {
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (n == nullptr) {
      if (required) Fail(key, "is required");
      return def;
    }
    if (auto v = n->value<std::string>(); v && n->is_string()) return *v;
    Fail(key, "must be a string");
    return def;
  }
  double Number(const char* key, bool required, double def, double lo, double hi) {
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (n == nullptr) {
      if (required) Fail(key, "is required");
      return def;
    }
    std::optional<double> v = n->value<double>();
    if (!v || !(n->is_integer() || n->is_floating_point()) || !std::isfinite(*v)) {
      Fail(key, "must be a number");
      return def;
    }
    if (*v < lo || *v > hi) Fail(key, absl::StrCat("must be in [", lo, ", ", hi, "]"));
    return *v;
  }
  std::optional<double> OptionalNumber(const char* key, double lo, double hi) {
    if (table_.get(key) == nullptr) {
      seen_.insert(key);
      return std::nullopt;
    }
    return Number(key, true, 0, lo, hi);
  }
  std::vector<std::string> Strings(const char* key) {
    seen_.insert(key);
    std::vector<std::string> out;
    const toml::node* n = table_.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      Fail(key, "must be an array of strings");
      return out;
    }
    for (const toml::node& e : *a) {
      if (!e.is_string()) {
        Fail(key, "must be an array of strings");
        return {};
      }
      out.push_back(*e.value<std::string>());
    }
    return out;
  }
  const toml::array* Tables(const char* key) {
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (n == nullptr) return nullptr;
    const toml::array* a = n->as_array();
    if (a == nullptr || !a->is_array_of_tables()) {
      Fail(key, "must be an array of tables");
      return nullptr;
    }
    return a;
  }
  void MarkSeen(const char* key) { seen_.insert(key); }
  void Fail(absl::string_view key, absl::string_view why) {
    if (status_.ok()) status_ = ConfigError(origin_, absl::StrCat(where_, ".", key, ": ", why));
  }
  absl::Status Finish() {
    for (const auto& [k, v] : table_) {
      if (!seen_.contains(std::string(k.str()))) Fail(std::string(k.str()), "unknown key");
    }
    return status_;
  }

 private:
  const toml::table& table_;
  std::string where_;
  std::string origin_;
  std::set<std::string> seen_;
  absl::Status status_;
};

absl::StatusOr<StepAction> ParseAction(const std::string& name) {
  if (name == "start") return StepAction::kStart;
  if (name == "go_dark") return StepAction::kGoDark;
  if (name == "add_delay") return StepAction::kAddDelay;
  if (name == "landmark_lies") return StepAction::kLandmarkLies;
  return absl::InvalidArgumentError("must be start, go_dark, add_delay or landmark_lies");
}

template <typename T, typename F>
const T* FindBy(const std::vector<T>& v, absl::string_view name, F field) {
  for (const T& x : v) {
    if (field(x) == name) return &x;
  }
  return nullptr;
}

// Iterates the tables of array `key`, calling fn(reader, index).
template <typename Fn>
absl::Status ForEachTable(TableReader& top, const char* key, absl::string_view origin, Fn fn) {
  const toml::array* tables = top.Tables(key);
  if (tables == nullptr) return absl::OkStatus();
  int i = 0;
  for (const toml::node& n : *tables) {
    TableReader r(*n.as_table(), absl::StrCat(key, "[", i, "]"), origin);
    fn(r, i);
    LC_RETURN_IF_ERROR(r.Finish());
    ++i;
  }
  return absl::OkStatus();
}

absl::Status Validate(const Scenario& s, absl::string_view origin) {
  auto err = [&](const std::string& what) { return ConfigError(origin, what); };
  std::set<std::string> names;
  for (size_t i = 0; i < s.landmarks.size(); ++i) {
    if (!names.insert("landmark/" + s.landmarks[i].name).second) {
      return err(absl::StrCat("landmark[", i, "].name: duplicate '", s.landmarks[i].name, "'"));
    }
  }
  if (s.landmarks.size() < 3) return err("landmark: at least 3 landmarks are needed");
  auto has_org = [&](const std::string& o) {
    return std::find(s.organizations.begin(), s.organizations.end(), o) != s.organizations.end();
  };
  for (size_t i = 0; i < s.sites.size(); ++i) {
    if (!has_org(s.sites[i].organization)) {
      return err(absl::StrCat("site[", i, "].organization: unknown '", s.sites[i].organization, "'"));
    }
  }
  for (size_t i = 0; i < s.licences.size(); ++i) {
    const ScenarioLicence& l = s.licences[i];
    if (!has_org(l.organization)) {
      return err(absl::StrCat("licence[", i, "].organization: unknown '", l.organization, "'"));
    }
    for (const std::string& site : l.allowed_sites) {
      if (s.FindSite(site) == nullptr) {
        return err(absl::StrCat("licence[", i, "].allowed_sites: unknown site '", site, "'"));
      }
    }
  }
  int gpus = 0;
  for (size_t i = 0; i < s.groups.size(); ++i) {
    const ScenarioHostGroup& g = s.groups[i];
    std::string where = absl::StrCat("group[", i, "]");
    if (!names.insert("group/" + g.name).second) {
      return err(absl::StrCat(where, ".name: duplicate '", g.name, "'"));
    }
    if (!has_org(g.organization)) {
      return err(absl::StrCat(where, ".organization: unknown '", g.organization, "'"));
    }
    if (!g.site.empty() && s.FindSite(g.site) == nullptr) {
      return err(absl::StrCat(where, ".site: unknown '", g.site, "'"));
    }
    if (!g.licence.empty() && s.FindLicence(g.licence) == nullptr) {
      return err(absl::StrCat(where, ".licence: unknown '", g.licence, "'"));
    }
    if (!g.identities_from.empty()) {
      const ScenarioHostGroup* src = s.FindGroup(g.identities_from);
      if (src == nullptr || src == &g || !src->identities_from.empty() ||
          src - s.groups.data() > static_cast<ptrdiff_t>(i)) {
        return err(absl::StrCat(where, ".identities_from: '", g.identities_from,
                                "' must be an earlier group with its own identities"));
      }
      if (src->hosts * src->gpus_per_host < g.hosts * g.gpus_per_host) {
        return err(absl::StrCat(where, ": more GPUs than '", g.identities_from, "' has identities"));
      }
    } else {
      gpus += g.hosts * g.gpus_per_host;
    }
    if (g.relay_latitude_deg.has_value() != g.relay_longitude_deg.has_value()) {
      return err(absl::StrCat(where, ": relay_latitude_deg and relay_longitude_deg go together"));
    }
  }
  if (gpus > kMaxScenarioGpus) return err(absl::StrCat("more than ", kMaxScenarioGpus, " GPUs"));
  for (size_t i = 0; i < s.shipments.size(); ++i) {
    for (const std::string& g : s.shipments[i].groups) {
      if (s.FindGroup(g) == nullptr) {
        return err(absl::StrCat("shipment[", i, "].groups: unknown group '", g, "'"));
      }
    }
    if (s.FindLicence(s.shipments[i].licence) == nullptr) {
      return err(absl::StrCat("shipment[", i, "].licence: unknown '", s.shipments[i].licence, "'"));
    }
  }
  double last = 0;
  for (size_t i = 0; i < s.steps.size(); ++i) {
    const ScenarioStep& st = s.steps[i];
    std::string where = absl::StrCat("step[", i, "]");
    if (st.at_s < last) return err(absl::StrCat(where, ".at_s: steps must be in time order"));
    if (st.at_s > s.duration_s) return err(absl::StrCat(where, ".at_s: after the episode's end"));
    last = st.at_s;
    for (const std::string& g : st.groups) {
      if (s.FindGroup(g) == nullptr) {
        return err(absl::StrCat(where, ".groups: unknown group '", g, "'"));
      }
    }
    if (st.action == StepAction::kLandmarkLies) {
      if (s.FindLandmark(st.landmark) == nullptr) {
        return err(absl::StrCat(where, ".landmark: unknown '", st.landmark, "'"));
      }
    } else if (st.groups.empty()) {
      return err(absl::StrCat(where, ".groups: at least one group"));
    }
    for (size_t j = 0; j < st.expect.size(); ++j) {
      const ExpectedAlert& e = st.expect[j];
      std::string w = absl::StrCat(where, ".expect[", j, "]");
      if (e.group.empty() == e.landmark.empty()) {
        return err(absl::StrCat(w, ": exactly one of group and landmark"));
      }
      if (!e.group.empty() && s.FindGroup(e.group) == nullptr) {
        return err(absl::StrCat(w, ".group: unknown '", e.group, "'"));
      }
      if (!e.landmark.empty() && s.FindLandmark(e.landmark) == nullptr) {
        return err(absl::StrCat(w, ".landmark: unknown '", e.landmark, "'"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char* StepActionName(StepAction action) {
  switch (action) {
    case StepAction::kStart: return "start";
    case StepAction::kGoDark: return "go_dark";
    case StepAction::kAddDelay: return "add_delay";
    case StepAction::kLandmarkLies: return "landmark_lies";
  }
  return "?";
}

const ScenarioHostGroup* Scenario::FindGroup(absl::string_view name) const {
  return FindBy(groups, name, [](const ScenarioHostGroup& g) { return g.name; });
}
const ScenarioSite* Scenario::FindSite(absl::string_view name) const {
  return FindBy(sites, name, [](const ScenarioSite& x) { return x.name; });
}
const ScenarioLandmark* Scenario::FindLandmark(absl::string_view name) const {
  return FindBy(landmarks, name, [](const ScenarioLandmark& x) { return x.name; });
}
const ScenarioLicence* Scenario::FindLicence(absl::string_view reference) const {
  return FindBy(licences, reference, [](const ScenarioLicence& x) { return x.reference; });
}

int Scenario::TotalGpus() const {
  int n = 0;
  for (const ScenarioHostGroup& g : groups) {
    if (g.identities_from.empty()) n += g.hosts * g.gpus_per_host;
  }
  return n;
}

std::string HostName(const ScenarioHostGroup& group, int host_index) {
  return absl::StrCat(group.name, "-", host_index);
}

const ScenarioHostGroup& IdentityGroup(const Scenario& scenario, const ScenarioHostGroup& group) {
  if (group.identities_from.empty()) return group;
  return *scenario.FindGroup(group.identities_from);
}

absl::StatusOr<Scenario> ParseScenario(absl::string_view toml_text, absl::string_view origin) {
  LC_ASSIGN_OR_RETURN(toml::table root, toml_util::ParseTable(toml_text, origin));
  Scenario s;
  TableReader top(root, "scenario", origin);
  // [world]
  if (const toml::node* w = root.get("world"); w != nullptr && w->is_table()) {
    TableReader r(*w->as_table(), "world", origin);
    s.name = r.String("name", true);
    s.description = r.String("description", false);
    s.seed = static_cast<uint64_t>(r.Number("seed", false, 1, 0, 9e15));
    s.duration_s = r.Number("duration_s", false, 600, 1, kMaxScenarioSeconds);
    LC_RETURN_IF_ERROR(r.Finish());
  } else {
    return ConfigError(origin, "[world] table is required");
  }
  top.MarkSeen("world");
  LC_RETURN_IF_ERROR(ForEachTable(top, "landmark", origin, [&](TableReader& r, int) {
    ScenarioLandmark l;
    l.name = r.String("name", true);
    l.anchor = r.String("anchor", false);
    l.latitude_deg = r.Number("latitude_deg", true, 0, -90, 90);
    l.longitude_deg = r.Number("longitude_deg", true, 0, -180, 180);
    l.country = r.String("country", true);
    l.overhead_ms = r.OptionalNumber("overhead_ms", 0, 1000);
    s.landmarks.push_back(l);
  }));
  LC_RETURN_IF_ERROR(ForEachTable(top, "organization", origin, [&](TableReader& r, int) {
    s.organizations.push_back(r.String("name", true));
  }));
  LC_RETURN_IF_ERROR(ForEachTable(top, "site", origin, [&](TableReader& r, int) {
    ScenarioSite x;
    x.name = r.String("name", true);
    x.organization = r.String("organization", true);
    x.latitude_deg = r.Number("latitude_deg", true, 0, -90, 90);
    x.longitude_deg = r.Number("longitude_deg", true, 0, -180, 180);
    x.radius_km = r.Number("radius_km", false, 50, 0.1, 20000);
    x.country = r.String("country", true);
    s.sites.push_back(x);
  }));
  LC_RETURN_IF_ERROR(ForEachTable(top, "licence", origin, [&](TableReader& r, int i) {
    ScenarioLicence l;
    l.reference = r.String("reference", true);
    l.organization = r.String("organization", true);
    l.holder = r.String("holder", false, l.organization);
    l.end_user = r.String("end_user", false, l.organization);
    l.allowed_sites = r.Strings("allowed_sites");
    l.allowed_countries = r.Strings("allowed_countries");
    l.prohibited_regions = r.Strings("prohibited_regions");
    l.valid_days = r.Number("valid_days", false, 365, 1, 36500);
    if (const toml::array* caps = r.Tables("model_caps")) {
      int j = 0;
      for (const toml::node& n : *caps) {
        TableReader c(*n.as_table(), absl::StrCat("licence[", i, "].model_caps[", j++, "]"),
                      origin);
        ScenarioModelCap cap;
        cap.model = c.String("model", true);
        cap.max_count = static_cast<int>(c.Number("max_count", true, 0, 0, 1e7));
        if (absl::Status st = c.Finish(); !st.ok()) r.Fail("model_caps", st.message());
        l.model_caps.push_back(cap);
      }
    }
    s.licences.push_back(l);
  }));
  LC_RETURN_IF_ERROR(ForEachTable(top, "group", origin, [&](TableReader& r, int) {
    ScenarioHostGroup g;
    g.name = r.String("name", true);
    g.organization = r.String("organization", true);
    g.site = r.String("site", false);
    g.licence = r.String("licence", false);
    g.model = r.String("model", false, g.model);
    g.hosts = static_cast<int>(r.Number("hosts", false, 1, 1, kMaxScenarioGpus));
    g.gpus_per_host = static_cast<int>(r.Number("gpus_per_host", false, 8, 1, kMaxGpusPerHost));
    std::optional<double> lat = r.OptionalNumber("latitude_deg", -90, 90);
    std::optional<double> lon = r.OptionalNumber("longitude_deg", -180, 180);
    if (lat.has_value() != lon.has_value()) r.Fail("latitude_deg", "goes with longitude_deg");
    if (!lat) {
      const ScenarioSite* site = s.FindSite(g.site);
      if (site == nullptr) {
        r.Fail("latitude_deg", "is required when the group has no known site");
      } else {
        lat = site->latitude_deg;
        lon = site->longitude_deg;
      }
    }
    g.latitude_deg = lat.value_or(0);
    g.longitude_deg = lon.value_or(0);
    g.relay_latitude_deg = r.OptionalNumber("relay_latitude_deg", -90, 90);
    g.relay_longitude_deg = r.OptionalNumber("relay_longitude_deg", -180, 180);
    g.identities_from = r.String("identities_from", false);
    g.overhead_ms = r.OptionalNumber("overhead_ms", 0, 1000);
    s.groups.push_back(g);
  }));
  LC_RETURN_IF_ERROR(ForEachTable(top, "shipment", origin, [&](TableReader& r, int) {
    ScenarioShipment x;
    x.reference = r.String("reference", true);
    x.organization = r.String("organization", true);
    x.licence = r.String("licence", true);
    x.consignee = r.String("consignee", false);
    x.billed_country = r.String("billed_country", true);
    x.groups = r.Strings("groups");
    s.shipments.push_back(x);
  }));
  LC_RETURN_IF_ERROR(ForEachTable(top, "step", origin, [&](TableReader& r, int i) {
    ScenarioStep st;
    st.at_s = r.Number("at_s", true, 0, 0, kMaxScenarioSeconds);
    absl::StatusOr<StepAction> action = ParseAction(r.String("action", true));
    if (!action.ok()) {
      r.Fail("action", action.status().message());
    } else {
      st.action = *action;
    }
    st.description = r.String("description", false);
    st.groups = r.Strings("groups");
    st.landmark = r.String("landmark", false);
    st.delay_ms = r.Number("delay_ms", st.action == StepAction::kAddDelay, 0, 0, 60000);
    st.rtt_factor = r.Number("rtt_factor", st.action == StepAction::kLandmarkLies, 1, 0, 1);
    if (const toml::array* ex = r.Tables("expect")) {
      int j = 0;
      for (const toml::node& n : *ex) {
        TableReader e(*n.as_table(), absl::StrCat("step[", i, "].expect[", j++, "]"), origin);
        ExpectedAlert a;
        a.type = e.String("type", true);
        a.group = e.String("group", false);
        a.landmark = e.String("landmark", false);
        if (absl::Status stt = e.Finish(); !stt.ok()) r.Fail("expect", stt.message());
        st.expect.push_back(a);
      }
    }
    s.steps.push_back(st);
  }));
  LC_RETURN_IF_ERROR(top.Finish());
  LC_RETURN_IF_ERROR(Validate(s, origin));
  return s;
}

absl::StatusOr<Scenario> LoadScenario(const std::string& path) {
  LC_ASSIGN_OR_RETURN(std::string text, toml_util::ReadConfigFile(path, "demo scenario"));
  return ParseScenario(text, path);
}

absl::Status ScaleScenario(int gpus, Scenario* scenario) {
  if (gpus < 1 || gpus > kMaxScenarioGpus) {
    return absl::InvalidArgumentError(
        absl::StrCat("--gpus ", gpus, ": must be in [1, ", kMaxScenarioGpus, "]"));
  }
  int total = scenario->TotalGpus();
  if (total == 0) return absl::OkStatus();
  double factor = static_cast<double>(gpus) / total;
  for (ScenarioHostGroup& g : scenario->groups) {
    if (!g.identities_from.empty()) continue;
    g.hosts = std::max(1, static_cast<int>(std::lround(g.hosts * factor)));
  }
  // Licence caps follow the fleet, so a scaled world is not over its caps.
  for (ScenarioLicence& l : scenario->licences) {
    for (ScenarioModelCap& cap : l.model_caps) {
      cap.max_count = static_cast<int>(std::ceil(cap.max_count * std::max(1.0, factor) * 1.05));
    }
  }
  // Reappearing groups keep their share of the source group's hosts.
  for (ScenarioHostGroup& g : scenario->groups) {
    if (g.identities_from.empty()) continue;
    const ScenarioHostGroup* src = scenario->FindGroup(g.identities_from);
    int max_hosts = src->hosts * src->gpus_per_host / g.gpus_per_host;
    g.hosts = std::clamp(static_cast<int>(std::lround(g.hosts * factor)), 1,
                         std::max(1, max_hosts));
  }
  return absl::OkStatus();
}

}  // namespace lightcone::demo
