// NetemConfig: the TOML configuration of `lightcone netem --config FILE`. Example:
//
//   [relay]                      # optional; every key optional (RelayOptions defaults)
//   spin_us = 80
//   max_queued_datagrams = 65536
//   max_queued_bytes = 67108864
//   max_mappings_per_link = 1024
//   mapping_idle_timeout_s = 60
//   max_datagram_bytes = 65507
//   seed = 1
//   realtime_priority = 0        # 1..99: SCHED_FIFO relay threads (needs CAP_SYS_NICE)
//
//   [[link]]
//   name = "tokyo"               # optional
//   listen = "127.0.0.1:0"
//   forward = "127.0.0.1:9000"
//   delay_ms = 10.0              # each way
//   return_delay_ms = 12.0       # optional (defaults to delay_ms)
//   jitter_ms = 0.5              # optional
//   jitter = "uniform"           # optional: "uniform" | "normal"
//   loss = 0.0                   # optional, per direction
//
// Unknown keys are rejected so that a typo never silently changes an experiment.
#ifndef LIGHTCONE_NETEM_NETEM_CONFIG_H_
#define LIGHTCONE_NETEM_NETEM_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "netem/link_spec.h"
#include "netem/relay.h"

namespace lightcone::netem {

// Config files larger than this are rejected before parsing.
inline constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;

struct NetemConfig {
  RelayOptions relay;
  std::vector<LinkSpec> links;
};

// Parses TOML `text`; `source` (a file name) prefixes error messages. InvalidArgument with
// the location and reason for a syntax error, an unknown key, a wrong type or a bad value.
absl::StatusOr<NetemConfig> ParseNetemConfig(absl::string_view text, absl::string_view source);

// Reads and parses the file at `path`. NotFound when it cannot be read, InvalidArgument
// when it is too large or invalid.
absl::StatusOr<NetemConfig> LoadNetemConfig(const std::string& path);

}  // namespace lightcone::netem

#endif  // LIGHTCONE_NETEM_NETEM_CONFIG_H_
