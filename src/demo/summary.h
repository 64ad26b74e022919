// The episode's verdict on itself: which alerts the scenario expects (per step, about a group
// of GPUs or a landmark) against the alerts the store holds, plus verdict counts and whether
// any diverted GPU was ever compliant after it was diverted.
//
// Matching rules:
//  - an expected {type, group} is met by an alert of that type about any device whose
//    identity belongs to the group (a group that reuses identities shares them);
//  - an expected {type, landmark} is met by an alert of that type whose subject or evidence
//    names the landmark (by name, wire id or store id);
//  - a raised alert is "unexpected" unless it meets some expectation; an alert about a
//    device of a group with no expectation at all is an alert on an honest GPU.
// The summary passes when every expectation is met and nothing is unexpected.
#ifndef LIGHTCONE_DEMO_SUMMARY_H_
#define LIGHTCONE_DEMO_SUMMARY_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "demo/world.h"
#include "nlohmann/json.hpp"
#include "server/store/store.h"

namespace lightcone::demo {

struct SummaryOptions {
  // Verdicts of diverted devices at or after this time must never be compliant.
  absl::Time diverted_since = absl::InfiniteFuture();
};

// Builds the summary JSON:
// {"scenario", "passed", "expected": [{"step", "type", "group"|"landmark", "met",
//  "alert_ids"}], "unexpected": [{"id", "type", "device_uuid", "subject"}],
//  "raised_by_type": {...}, "verdicts": {"compliant", "violation", "unproven", "none"},
//  "diverted": {"devices", "compliant_after_diversion", "ever_compliant_after_diversion"}}
absl::StatusOr<nlohmann::json> BuildSummary(server::Store& store, const World& world,
                                            const SummaryOptions& options);

}  // namespace lightcone::demo

#endif  // LIGHTCONE_DEMO_SUMMARY_H_
