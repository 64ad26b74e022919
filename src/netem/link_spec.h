// LinkSpec: the description of one emulated path ("link") — where the relay listens, where
// it forwards, and the one-way delay, jitter and loss applied in each direction. Plain value
// type. ParseLinkFlag reads the `--link` flag syntax of `lightcone netem`:
//
//   LISTEN_HOST:PORT=FORWARD_HOST:PORT,delay_ms=D[,return_delay_ms=R][,jitter_ms=J]
//       [,jitter=uniform|normal][,loss=P][,name=NAME]
//
// delay_ms applies each way unless return_delay_ms is given (asymmetric path). Jitter and
// loss apply independently to each direction.
#ifndef LIGHTCONE_NETEM_LINK_SPEC_H_
#define LIGHTCONE_NETEM_LINK_SPEC_H_

#include <chrono>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightcone::netem {

// The largest one-way delay or jitter a link accepts (a day-long delay is a typo).
inline constexpr double kMaxLinkDelayMs = 60'000.0;

enum class JitterDistribution {
  // Delay drawn uniformly from [delay - jitter, delay + jitter], clamped at zero.
  kUniform,
  // Delay drawn from a normal distribution (mean delay, standard deviation jitter),
  // clamped at zero.
  kNormal,
};

// "uniform" or "normal".
absl::StatusOr<JitterDistribution> ParseJitterDistribution(absl::string_view text);
const char* JitterDistributionName(JitterDistribution distribution);

struct LinkSpec {
  // Shown in logs and the printed link lines; defaults to "link<index>" when empty.
  std::string name;
  // "HOST:PORT"; port 0 lets the kernel choose (the relay reports the bound port).
  std::string listen;
  // "HOST:PORT" of the real destination.
  std::string forward;
  // One-way delay client -> forward address.
  std::chrono::nanoseconds delay{0};
  // One-way delay forward address -> client; equal to `delay` when unset.
  std::optional<std::chrono::nanoseconds> return_delay;
  // Spread of the delay (see JitterDistribution); zero means a fixed delay.
  std::chrono::nanoseconds jitter{0};
  JitterDistribution jitter_distribution = JitterDistribution::kUniform;
  // Probability in [0, 1] that a datagram is dropped, drawn per datagram and direction.
  double loss = 0.0;

  std::chrono::nanoseconds effective_return_delay() const {
    return return_delay.value_or(delay);
  }
};

// Checks ranges: delays and jitter in [0, kMaxLinkDelayMs], loss in [0, 1], listen and
// forward non-empty. InvalidArgument naming the link and the field otherwise.
absl::Status ValidateLinkSpec(const LinkSpec& spec);

// Parses one `--link` flag value (syntax above) and validates it. InvalidArgument with a
// message naming the offending part.
absl::StatusOr<LinkSpec> ParseLinkFlag(absl::string_view text);

// Converts milliseconds (as written in flags and config) to nanoseconds, rejecting
// negative, non-finite or too large values with InvalidArgument naming `field`.
absl::StatusOr<std::chrono::nanoseconds> MillisecondsToDuration(double ms,
                                                                absl::string_view field);

}  // namespace lightcone::netem

#endif  // LIGHTCONE_NETEM_LINK_SPEC_H_
