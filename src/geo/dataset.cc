#include "geo/dataset.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/csv.h"
#include "core/status_macros.h"

namespace lightcone::geo {
namespace {

const std::vector<std::string>& HostColumns() {
  static const auto* kColumns = new std::vector<std::string>{"id", "lat", "lon", "country", "city"};
  return *kColumns;
}
const std::vector<std::string>& RttColumns() {
  static const auto* kColumns = new std::vector<std::string>{"landmark", "target", "rtt_ms"};
  return *kColumns;
}

absl::Status Invalid(const CsvTable& table, const CsvRow& row, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(table.Where(row), problem));
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Real hosts.csv files carry unquoted commas in the free-text last column ("Ashburn, VA, US").
// CsvTable has no quoting, so when the header's last column is `city`, commas past the
// header's field count are turned into kCityComma here and back into commas after parsing.
constexpr char kCityComma = '\x1f';

std::string ProtectCityCommas(const std::string& text) {
  std::string out = text;
  size_t line_start = 0;
  size_t header_commas = std::string::npos;
  while (line_start < out.size()) {
    size_t line_end = out.find('\n', line_start);
    if (line_end == std::string::npos) line_end = out.size();
    size_t commas = 0;
    for (size_t i = line_start; i < line_end; ++i) {
      if (out[i] != ',') continue;
      ++commas;
      if (header_commas != std::string::npos && commas > header_commas) out[i] = kCityComma;
    }
    const bool blank = out.find_first_not_of(" \t\r", line_start) >= line_end;
    if (header_commas == std::string::npos && !blank) {
      std::string header = out.substr(line_start, line_end - line_start);
      while (!header.empty() && (header.back() == '\r' || header.back() == ' ')) header.pop_back();
      const bool city_last = header.size() >= 4 && header.compare(header.size() - 4, 4, "city") == 0;
      if (!city_last) return text;
      header_commas = commas;
    }
    line_start = line_end + 1;
  }
  return out;
}

std::string RestoreCityCommas(std::string city) {
  std::replace(city.begin(), city.end(), kCityComma, ',');
  return city;
}

}  // namespace

absl::StatusOr<Dataset> Dataset::Load(const std::string& hosts_csv, const std::string& rtts_csv) {
  LC_ASSIGN_OR_RETURN(std::string hosts_text, ReadText(hosts_csv));
  LC_ASSIGN_OR_RETURN(std::string rtts_text, ReadText(rtts_csv));
  return Parse(hosts_text, hosts_csv, rtts_text, rtts_csv);
}

absl::StatusOr<Dataset> Dataset::Parse(const std::string& hosts_text,
                                       const std::string& hosts_path,
                                       const std::string& rtts_text,
                                       const std::string& rtts_path) {
  LC_ASSIGN_OR_RETURN(CsvTable hosts, CsvTable::Parse(ProtectCityCommas(hosts_text), hosts_path,
                                                        HostColumns()));
  LC_ASSIGN_OR_RETURN(CsvTable rtts, CsvTable::Parse(rtts_text, rtts_path, RttColumns()));

  Dataset ds;
  for (const CsvRow& row : hosts.rows()) {
    Host host;
    host.id = hosts.Text(row, "id");
    host.country = hosts.Text(row, "country");
    host.city = RestoreCityCommas(hosts.Text(row, "city"));
    if (host.id.empty()) return Invalid(hosts, row, "empty host id");
    if (ds.index_.contains(host.id)) {
      return Invalid(hosts, row, absl::StrCat("duplicate host id '", host.id, "' (first on line ",
                                              hosts.rows()[ds.index_[host.id]].line, ")"));
    }
    const bool lat_empty = hosts.Text(row, "lat").empty();
    const bool lon_empty = hosts.Text(row, "lon").empty();
    if (lat_empty != lon_empty) {
      return Invalid(hosts, row, absl::StrCat("host '", host.id,
                                              "': lat and lon must both be set or both be empty"));
    }
    if (!lat_empty) {
      LC_ASSIGN_OR_RETURN(double lat, hosts.Double(row, "lat"));
      LC_ASSIGN_OR_RETURN(double lon, hosts.Double(row, "lon"));
      if (lat < -90 || lat > 90) {
        return Invalid(hosts, row, absl::StrCat("host '", host.id, "': latitude ", lat,
                                                " out of range [-90, 90]"));
      }
      if (lon < -180 || lon > 180) {
        return Invalid(hosts, row, absl::StrCat("host '", host.id, "': longitude ", lon,
                                                " out of range [-180, 180]"));
      }
      host.position = S2LatLng::FromDegrees(lat, lon);
    }
    ds.index_[host.id] = static_cast<int>(ds.hosts_.size());
    ds.hosts_.push_back(std::move(host));
  }

  // (landmark, target) -> index into samples, for merging duplicate rows.
  absl::flat_hash_map<std::pair<int, int>, size_t> pair_index;
  std::vector<RttSample> samples;
  for (const CsvRow& row : rtts.rows()) {
    const std::string& landmark_id = rtts.Text(row, "landmark");
    const std::string& target_id = rtts.Text(row, "target");
    if (landmark_id.empty()) return Invalid(rtts, row, "empty landmark id");
    if (target_id.empty()) return Invalid(rtts, row, "empty target id");
    auto lm = ds.index_.find(landmark_id);
    if (lm == ds.index_.end()) {
      return Invalid(rtts, row, absl::StrCat("unknown landmark '", landmark_id,
                                             "': a landmark must be a host in ", hosts_path,
                                             " with a position"));
    }
    if (!ds.hosts_[lm->second].position.has_value()) {
      return Invalid(rtts, row, absl::StrCat("landmark '", landmark_id, "' has no position in ",
                                             hosts_path, "; a landmark must have one"));
    }
    const int landmark = lm->second;  // Copied: inserting a new target below may rehash.
    if (landmark_id == target_id) {
      return Invalid(rtts, row, absl::StrCat("landmark '", landmark_id, "' measures itself"));
    }
    LC_ASSIGN_OR_RETURN(double rtt_ms, rtts.Double(row, "rtt_ms"));
    if (rtt_ms < 0) {
      return Invalid(rtts, row, absl::StrCat("negative rtt_ms ", rtt_ms));
    }
    auto tg = ds.index_.find(target_id);
    int target;
    if (tg == ds.index_.end()) {
      target = static_cast<int>(ds.hosts_.size());
      ds.index_[target_id] = target;
      ds.hosts_.push_back(Host{target_id, std::nullopt, "", ""});
    } else {
      target = tg->second;
    }
    const std::pair<int, int> key(landmark, target);
    auto [it, inserted] = pair_index.try_emplace(key, samples.size());
    if (inserted) {
      samples.push_back(RttSample{landmark, target, rtt_ms});
    } else {
      ++ds.duplicate_rows_merged_;
      samples[it->second].rtt_ms = std::min(samples[it->second].rtt_ms, rtt_ms);
    }
  }
  ds.samples_ = std::move(samples);
  ds.Index();
  return ds;
}

Dataset Dataset::FromParts(std::vector<Host> hosts, std::vector<RttSample> samples) {
  Dataset ds;
  ds.hosts_ = std::move(hosts);
  for (size_t i = 0; i < ds.hosts_.size(); ++i) ds.index_[ds.hosts_[i].id] = static_cast<int>(i);
  ds.samples_ = std::move(samples);
  ds.Index();
  return ds;
}

void Dataset::Index() {
  std::sort(samples_.begin(), samples_.end(), [](const RttSample& a, const RttSample& b) {
    return std::tie(a.target, a.landmark) < std::tie(b.target, b.landmark);
  });
  target_begin_.assign(hosts_.size() + 1, 0);
  for (const RttSample& s : samples_) ++target_begin_[s.target + 1];
  for (size_t i = 1; i < target_begin_.size(); ++i) target_begin_[i] += target_begin_[i - 1];
}

std::optional<int> Dataset::IndexOf(const std::string& id) const {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::vector<int> Dataset::PositionedHosts() const {
  std::vector<int> out;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    if (hosts_[i].position.has_value()) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<int> Dataset::UnpositionedHosts() const {
  std::vector<int> out;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    if (!hosts_[i].position.has_value()) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<RttSample> Dataset::SamplesForTarget(int target) const {
  if (target < 0 || target >= static_cast<int>(hosts_.size())) return {};
  return std::vector<RttSample>(samples_.begin() + target_begin_[target],
                                samples_.begin() + target_begin_[target + 1]);
}

}  // namespace lightcone::geo
