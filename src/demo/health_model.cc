#include "demo/health_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "demo/latency_model.h"

namespace lightcone::demo {

server::Telemetry DemoTelemetry(uint64_t seed, const std::string& uuid, int64_t device_id,
                                absl::Time t, absl::Time episode_start,
                                absl::Duration episode) {
  const uint64_t gpu = StableHash(seed, absl::StrCat("health/", uuid));
  const uint64_t noise =
      StableHash(seed, absl::StrCat("health/", uuid, "/", absl::ToUnixSeconds(t)));
  const double phase = static_cast<double>(gpu % 1000) / 1000.0;
  const double day = absl::FDivDuration(t - absl::UnixEpoch(), absl::Hours(24));
  const double cycle = std::sin(2 * M_PI * (day + phase));  // -1..1, one period a day
  const double jitter = static_cast<double>(noise % 1000) / 1000.0 - 0.5;  // -0.5..0.5
  server::Telemetry tel;
  tel.device_id = device_id;
  tel.time = t;
  const double base_util = 55 + static_cast<double>(gpu % 30);
  tel.utilization_pct = std::clamp(base_util + 15 * cycle + 10 * jitter, 0.0, 100.0);
  tel.power_w = std::round(90 + 6 * tel.utilization_pct + 20 * jitter);
  const double temperature_c =
      38 + 0.35 * tel.utilization_pct + static_cast<double>((gpu >> 10) % 6) + 2 * jitter;
  tel.temperature_c = std::round(temperature_c * 10) / 10;
  tel.utilization_pct = std::round(tel.utilization_pct);
  // The event happens somewhere in the middle 80% of the episode.
  const absl::Time event_at =
      episode_start + episode * (0.1 + 0.8 * static_cast<double>((gpu >> 20) % 1000) / 1000.0);
  if (t >= event_at && StableHash(seed, absl::StrCat("xid/", uuid)) % kXidOneIn == 0) {
    tel.xid_count = 1;
    tel.last_xid = kDemoXid;
  }
  if (t >= event_at && StableHash(seed, absl::StrCat("ecc/", uuid)) % kEccOneIn == 0) {
    tel.ecc_uncorrected = 1;
  }
  return tel;
}

}  // namespace lightcone::demo
