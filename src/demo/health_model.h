// The health a demo GPU reports: what `lightcone demo seed` writes as telemetry history and
// what `lightcone demo` feeds the real agents through the fake NVML library, so that both
// worlds show the same kind of fleet on the dashboard's health charts.
#ifndef LIGHTCONE_DEMO_HEALTH_MODEL_H_
#define LIGHTCONE_DEMO_HEALTH_MODEL_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "server/store/store.h"

namespace lightcone::demo {

// One GPU in kXidOneIn hits an XID 79 (fallen off the bus) once in the episode, one in
// kEccOneIn an uncorrected ECC error (by StableHash of the uuid).
inline constexpr uint64_t kXidOneIn = 12;
inline constexpr uint64_t kEccOneIn = 16;
inline constexpr int64_t kDemoXid = 79;

// The health a demo GPU reports at `t`: a base load per GPU, a daily cycle, noise per report
// (per whole second of `t`), and its XID / ECC event (if it has one) from a fixed point of
// the episode [episode_start, episode_start + episode] on. Deterministic from the seed, the
// uuid and the time.
server::Telemetry DemoTelemetry(uint64_t seed, const std::string& uuid, int64_t device_id,
                                absl::Time t, absl::Time episode_start, absl::Duration episode);

}  // namespace lightcone::demo

#endif  // LIGHTCONE_DEMO_HEALTH_MODEL_H_
