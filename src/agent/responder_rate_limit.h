// Per-source token buckets for the responder, in a fixed-size table allocated once.
//
// A source is an IP address (the port is ignored, so one host cannot mint fresh buckets by
// changing ports). Each bucket refills at rate_per_second up to burst. The table holds
// `slots` sources; a new source evicts the least recently seen one in its probe window
// (kProbeWindow slots), starting with a full bucket. Allocation-free after construction;
// not thread-safe (owned by the responder thread).
#ifndef LIGHTCONE_AGENT_RESPONDER_RATE_LIMIT_H_
#define LIGHTCONE_AGENT_RESPONDER_RATE_LIMIT_H_

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lightcone::agent {

class SourceRateLimiter {
 public:
  static constexpr size_t kDefaultSlots = 4096;
  static constexpr size_t kProbeWindow = 8;

  struct Options {
    double rate_per_second = 200.0;
    double burst = 400.0;
    size_t slots = kDefaultSlots;  // rounded up to a power of two
  };

  explicit SourceRateLimiter(Options options);

  // True when one datagram from `source` may be processed at `now_ns` (monotonic), and
  // takes a token for it.
  bool Allow(const sockaddr_storage& source, int64_t now_ns);

 private:
  struct Bucket {
    std::array<uint8_t, 16> address{};
    bool used = false;
    double tokens = 0;
    int64_t last_ns = 0;
  };

  Options options_;
  size_t mask_;
  std::vector<Bucket> buckets_;
};

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_RESPONDER_RATE_LIMIT_H_
