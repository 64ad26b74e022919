// A latency dataset: hosts (some with a known position) and measured minimum round-trip times
// between them. This is what `lightcone locate` reads (hosts.csv + rtts.csv, formats in
// ../shared/data/README.md) and what the estimators calibrate from.
//
// Loading rules (every rejection is InvalidArgument "file:line: problem"):
//  - hosts.csv `id,lat,lon,country,city`: ids non-empty and unique; lat in [-90, 90], lon in
//    [-180, 180], finite. A host whose lat AND lon are both empty has no position (a target);
//    exactly one of them empty is an error. `city`, when it is the last column, is free text
//    and may hold unquoted commas (the real RIPE file has "Ashburn, VA, US").
//  - rtts.csv `landmark,target,rtt_ms`: rtt_ms finite and >= 0. The landmark must be a host
//    with a position (a landmark's position is what a measurement is about). A target id that
//    is not in hosts.csv is added as a host without position: "targets are the ids in
//    rtts.csv that have no position". A landmark may not measure itself.
//  - A (landmark, target) pair given more than once keeps the smallest RTT: every row is a
//    real measurement and the minimum is the physically tightest one (rtts.csv already holds
//    minima over a window). The number of merged rows is counted (duplicate_rows_merged()).
//  - An empty file, or a header without data rows, is an error.
//
// Dataset is a copyable value; const methods are thread-safe.
#ifndef LIGHTCONE_GEO_DATASET_H_
#define LIGHTCONE_GEO_DATASET_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "s2/s2latlng.h"

namespace lightcone::geo {

struct Host {
  std::string id;
  std::optional<S2LatLng> position;  // Unset for a target whose position is unknown.
  std::string country;               // ISO 3166-1 alpha-2, may be empty.
  std::string city;
};

// One measured minimum RTT: host `landmark` pinged host `target` (indices into hosts()).
struct RttSample {
  int landmark = 0;
  int target = 0;
  double rtt_ms = 0;
};

class Dataset {
 public:
  // Reads and validates both files (rules above).
  static absl::StatusOr<Dataset> Load(const std::string& hosts_csv, const std::string& rtts_csv);
  // Same, from text in memory; the paths are used in messages only.
  static absl::StatusOr<Dataset> Parse(const std::string& hosts_text, const std::string& hosts_path,
                                       const std::string& rtts_text, const std::string& rtts_path);
  // Builds a dataset from values already validated by the caller (tests, synthetic data).
  // REQUIRES: unique host ids, sample indices in range, every landmark has a position.
  static Dataset FromParts(std::vector<Host> hosts, std::vector<RttSample> samples);

  const std::vector<Host>& hosts() const { return hosts_; }
  // Sorted by (target, landmark); one sample per pair.
  const std::vector<RttSample>& samples() const { return samples_; }
  std::optional<int> IndexOf(const std::string& id) const;

  // Hosts with a position / without one (targets), in host order.
  std::vector<int> PositionedHosts() const;
  std::vector<int> UnpositionedHosts() const;

  // Samples whose target is `target`, i.e. the observations that locate it.
  std::vector<RttSample> SamplesForTarget(int target) const;

  int duplicate_rows_merged() const { return duplicate_rows_merged_; }

 private:
  void Index();

  std::vector<Host> hosts_;
  std::vector<RttSample> samples_;
  absl::flat_hash_map<std::string, int> index_;
  std::vector<int> target_begin_;  // samples_ range per target: [begin[t], begin[t+1]).
  int duplicate_rows_merged_ = 0;
};

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_DATASET_H_
