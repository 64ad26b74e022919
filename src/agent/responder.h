// The agent's challenge responder: one dedicated thread that receives challenges, looks up
// the device, signs and sends the reply. Nothing else happens on that path: no logging, no
// allocation (all buffers are allocated at construction), no locks.
//
// A datagram is answered only when its source is within its rate limit, it decodes as a
// challenge, and its device is one this agent serves. Everything else is dropped and
// counted in ResponderStats; unknown devices get no reply. Replies are never larger than
// challenges (wire::kReplyBytes <= wire::kChallengeBytes), so the responder cannot amplify.
//
// Thread safety: stats() may be called from any thread while the responder runs.
#ifndef LIGHTCONE_AGENT_RESPONDER_H_
#define LIGHTCONE_AGENT_RESPONDER_H_

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "agent/keys.h"
#include "agent/responder_rate_limit.h"
#include "core/wire.h"

namespace lightcone::agent {

// A snapshot of the responder's counters.
struct ResponderStats {
  uint64_t received = 0;          // datagrams read from the socket
  uint64_t answered = 0;          // replies handed to the kernel
  uint64_t rate_limited = 0;      // dropped before decoding: source over its rate
  uint64_t unknown_device = 0;    // valid challenge for a device this agent does not serve
  uint64_t send_errors = 0;       // sendto refused a reply
  uint64_t busy_polled = 0;       // of `received`, read by a busy poll (Options::busy_poll_us)
  // Decode rejections indexed by wire::DecodeError (index 0, kOk, stays zero). A datagram
  // of another message type (a reply or hello sent to the agent) counts as kUnexpectedType.
  std::array<uint64_t, wire::kNumDecodeErrors> rejected{};

  uint64_t rejected_total() const;
};

// Receive-to-send latencies for benchmarks (kernel receive timestamp to the return of the
// reply's sendto): a preallocated ring the responder thread writes and the reader drains
// after Stop().
struct LatencyRecorder {
  explicit LatencyRecorder(size_t capacity) : samples_ns(capacity) {}
  std::vector<int64_t> samples_ns;
  std::atomic<size_t> count{0};  // total recorded; the ring keeps the last capacity
};

class Responder {
 public:
  static constexpr size_t kDefaultBatch = 32;  // datagrams per recvmmsg
  static constexpr int kStopPollMs = 200;  // how quickly Stop() is noticed
  static constexpr size_t kReceiveBufferBytes = 1 << 20;  // SO_RCVBUF request
  static constexpr int64_t kMaxBusyPollUs = 1'000'000;    // Options::busy_poll_us cap

  struct Options {
    double rate_per_source_per_second = kDefaultRatePerSourcePerSecond;
    double burst_per_source = kDefaultBurstPerSource;
    size_t rate_limiter_slots = SourceRateLimiter::kDefaultSlots;
    size_t batch = kDefaultBatch;  // datagrams per recvmmsg
    // After each datagram, keep polling the socket without sleeping for this long (0: block
    // in the kernel between datagrams). Polling removes the thread's wake-up from the reply
    // time (tens of µs on a busy machine) at the cost of a spinning core while challenges
    // keep coming; at most kMaxBusyPollUs.
    int64_t busy_poll_us = 0;
    // Benchmarks only: when set, each reply's time from the kernel receive timestamp to the
    // return of its sendto is recorded here.
    LatencyRecorder* latency = nullptr;
  };

  // `fd` is a bound UDP socket; the responder does not own it. `keys` must outlive it.
  Responder(int fd, const DeviceKeyStore* keys, Options options);
  ~Responder();  // stops the thread
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  // Starts the responder thread. Errors: kFailedPrecondition if already started,
  // kUnavailable when the socket cannot be configured.
  absl::Status Start();
  // Stops and joins the thread (within about kStopPollMs). Idempotent.
  void Stop();

  ResponderStats stats() const;

  // Processes one datagram from `source` received at `now_ns` (monotonic, for the rate
  // limit). Writes the reply to `reply_out` and returns true when one must be sent.
  // Allocation-free. Called by the thread; public for tests and benchmarks, which must not
  // call it while the thread runs.
  bool Handle(std::span<const uint8_t> datagram, const sockaddr_storage& source, int64_t now_ns,
              std::span<uint8_t, wire::kReplyBytes> reply_out);

 private:
  struct Counters {
    std::atomic<uint64_t> received{0};
    std::atomic<uint64_t> answered{0};
    std::atomic<uint64_t> rate_limited{0};
    std::atomic<uint64_t> unknown_device{0};
    std::atomic<uint64_t> send_errors{0};
    std::atomic<uint64_t> busy_polled{0};
    std::array<std::atomic<uint64_t>, wire::kNumDecodeErrors> rejected{};
  };
  // Single writer (the responder thread): a relaxed load+store is enough and avoids a
  // locked instruction per packet.
  static void Bump(std::atomic<uint64_t>& c, uint64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  void Run();

  int fd_;
  const DeviceKeyStore* keys_;
  Options options_;
  SourceRateLimiter limiter_;
  Counters counters_;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  // Per-batch buffers, allocated once.
  struct Slot;
  std::vector<Slot> slots_;
};

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_RESPONDER_H_
