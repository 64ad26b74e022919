// `lightcone demo seed`: writes a whole world straight into a store, no processes: the
// scenario's organizations, API tokens, sites, licences, landmarks with their keys, hosts,
// devices with key bindings and NVLink topology, shipments, telemetry, and the episode's
// measurements (real Ed25519 reply and batch signatures, RTTs from the latency model), with
// FleetMonitor passes along the way so verdicts and alerts exist, then the summary.
//
// Time: the episode is laid out so that it ends at `options.now`; one scenario second is
// `time_scale` real seconds (default 600: the 420 s ghost-datacenter episode spans 70 hours,
// so the fleet's default detector thresholds - went dark after 1 h, unproven grace 6 h -
// apply unchanged). Landmarks probe every host from its `landmarks_per_host` nearest
// landmarks once per `probe_interval_s` scenario seconds; a FleetMonitor pass follows each
// probe round. The verdict window is `window_rounds` probe intervals, so a GPU's verdict
// follows what happened to it within about one round.
//
// Not thread-safe; run one seeder per store.
#ifndef LIGHTCONE_DEMO_SEEDER_H_
#define LIGHTCONE_DEMO_SEEDER_H_

#include <map>
#include <vector>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "demo/world.h"
#include "nlohmann/json.hpp"
#include "server/store/store.h"

namespace lightcone::demo {

struct SeedOptions {
  absl::Time now = absl::Now();
  double time_scale = 600;
  double probe_interval_s = 60;
  int landmarks_per_host = 5;
  double window_rounds = 1.2;
  int threads = 2;         // Signing threads and verdict threads.
  bool run_fleet = true;   // FleetMonitor passes (off: measurements only).
};

struct SeedToken {
  std::string secret;
  std::string role;
  int64_t organization_id = 0;
  int64_t landmark_id = 0;
  std::string name;
};

struct SeedResult {
  // "admin", "auditor", "operator", "agent", "landmark" (first organization / landmark) and
  // "operator_<org>", "agent_<org>" for each further organization.
  std::map<std::string, SeedToken> tokens;
  int64_t landmarks = 0;
  int64_t hosts = 0;
  int64_t devices = 0;
  int64_t measurements = 0;
  int64_t fleet_passes = 0;
  absl::Time episode_start;
  absl::Time diverted_since = absl::InfiniteFuture();
  nlohmann::json summary;  // BuildSummary's result (null when run_fleet is off).
};

// What SeedDirectory created: store ids by scenario name, and the tokens.
struct SeedDirectoryResult {
  std::map<std::string, int64_t> organization_ids;
  std::map<std::string, int64_t> site_ids;
  std::map<std::string, int64_t> licence_ids;
  std::vector<int64_t> landmark_ids;  // Per world landmark.
  // As SeedResult::tokens, plus "landmark_<name>" for every landmark.
  std::map<std::string, SeedToken> tokens;
};

// Only the directory part of SeedStore: organizations, tokens (one per landmark too),
// sites, licences, landmarks and shipments, dated from `start`. For the live demo, whose
// hosts and devices enroll through the API.
absl::StatusOr<SeedDirectoryResult> SeedDirectory(server::Store& store, const World& world,
                                                  absl::Time start);

// {"admin": {"token", "role", "organization_id", "landmark_id", "name"}, ...}
nlohmann::json TokensJson(const std::map<std::string, SeedToken>& tokens);

// REQUIRES: `store` is empty (a fresh database).
absl::StatusOr<SeedResult> SeedStore(server::Store& store, const World& world,
                                     const SeedOptions& options);

// A fresh random token secret: "lc_" and 40 hex digits.
std::string NewTokenSecret();
// Hex SHA-256 of a token secret, as the store keeps it.
std::string TokenHash(const std::string& secret);

}  // namespace lightcone::demo

#endif  // LIGHTCONE_DEMO_SEEDER_H_
