// Relay: the user-space UDP delay emulator behind `lightcone netem`. Each link listens on
// one UDP port; a datagram a client sends there is forwarded to the link's real address
// after the link's one-way delay (plus jitter, minus loss), and replies from the real
// address travel back to that client after the return delay. Several clients may share a
// link: each gets its own upstream socket (a NAT-like mapping) so replies find their way
// back; idle mappings expire.
//
// Delays count from the kernel's receive timestamp (SO_TIMESTAMPNS) of the datagram, so time
// the relay's own receive thread spends waiting to be scheduled does not add to the delay.
// Two threads: a receive thread (epoll over every socket) and the DelayQueue timing thread,
// which sends every datagram at its due time (see delay_queue.h for the sleep-then-spin).
//
// Every limit is in RelayOptions; datagrams beyond a limit are dropped and counted per link.
//
// Thread safety: AddLink before Start, from one thread. Counters, Lateness and the CPU
// figures may be read from any thread at any time. Stop (or the destructor) joins both
// threads; a stopped relay cannot be restarted.
#ifndef LIGHTCONE_NETEM_RELAY_H_
#define LIGHTCONE_NETEM_RELAY_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "netem/delay_queue.h"
#include "netem/delay_sampler.h"
#include "netem/link_spec.h"
#include "netem/socket_address.h"

namespace lightcone::netem {

inline constexpr size_t kDefaultMaxLinks = 4096;
// The largest UDP payload over IPv4; bigger datagrams are dropped and counted.
inline constexpr size_t kDefaultMaxDatagramBytes = 65'507;
inline constexpr size_t kDefaultMaxMappingsPerLink = 1024;
inline constexpr std::chrono::nanoseconds kDefaultMappingIdleTimeout = std::chrono::seconds(60);
// Requested SO_RCVBUF/SO_SNDBUF of every socket (the kernel caps it at net.core.rmem_max).
inline constexpr int kDefaultSocketBufferBytes = 1 << 20;

struct RelayOptions {
  size_t max_links = kDefaultMaxLinks;
  size_t max_datagram_bytes = kDefaultMaxDatagramBytes;
  // Across all links: datagrams waiting for their due time, and their payload bytes.
  size_t max_queued_datagrams = kDefaultMaxQueuedItems;
  size_t max_queued_bytes = kDefaultMaxQueuedBytes;
  // Distinct clients one link tracks at once; new clients beyond it are dropped and counted.
  size_t max_mappings_per_link = kDefaultMaxMappingsPerLink;
  // A client mapping with no traffic either way for this long is closed.
  std::chrono::nanoseconds mapping_idle_timeout = kDefaultMappingIdleTimeout;
  // See DelayQueueOptions::spin_window.
  std::chrono::nanoseconds spin_window = kDefaultSpinWindow;
  // See DelayQueueOptions::realtime_priority (0: normal scheduling).
  int realtime_priority = 0;
  int socket_buffer_bytes = kDefaultSocketBufferBytes;
  // Seed of the jitter/loss generator; 0 picks a random seed.
  uint64_t seed = 0;
};

// Per-link counters (a snapshot).
struct LinkCounters {
  uint64_t received = 0;             // datagrams from clients
  uint64_t forwarded = 0;            // sent on to the forward address
  uint64_t replies_received = 0;     // datagrams from the forward address
  uint64_t returned = 0;             // replies sent back to clients
  uint64_t dropped_loss = 0;         // dropped by the loss probability (either direction)
  uint64_t dropped_queue_full = 0;   // dropped by max_queued_datagrams / max_queued_bytes
  uint64_t dropped_oversize = 0;     // larger than max_datagram_bytes
  uint64_t dropped_mapping_limit = 0;  // new client beyond max_mappings_per_link
  uint64_t send_errors = 0;          // sendto failed (e.g. nothing listening upstream)
  // Queued when already past due: the receive thread picked the datagram up later than its
  // delay (an overloaded machine); such a datagram leaves at once, late.
  uint64_t queued_past_due = 0;
  uint64_t mappings_created = 0;
  uint64_t mappings_expired = 0;
};

class Relay {
 public:
  explicit Relay(RelayOptions options = {});
  ~Relay();

  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Validates `spec`, resolves its addresses and binds its listen socket. Returns the bound
  // listen address (with the kernel-chosen port when the spec asked for port 0).
  // InvalidArgument for a bad spec, ResourceExhausted beyond max_links, NotFound for an
  // unresolvable host, Unavailable when the socket cannot be bound.
  // REQUIRES: Start has not been called.
  absl::StatusOr<SocketAddress> AddLink(const LinkSpec& spec);

  // Starts the receive and timing threads. FailedPrecondition when already started.
  absl::Status Start();

  // Stops both threads and closes every socket. Idempotent.
  void Stop();

  size_t link_count() const { return links_.size(); }
  // REQUIRES: index < link_count().
  const LinkSpec& link_spec(size_t index) const;
  const SocketAddress& listen_address(size_t index) const;
  const SocketAddress& forward_address(size_t index) const;
  LinkCounters counters(size_t index) const;

  // Lateness of sends against due times as seen by the timing thread (send call start -
  // due time); the wire adds the kernel's own send path on top.
  LatenessStats Lateness() const;
  // CPU time used so far by the timing thread and by the receive thread.
  int64_t timing_thread_cpu_ns() const;
  int64_t receive_thread_cpu_ns() const;
  // True when the timing thread got SCHED_FIFO (RelayOptions::realtime_priority).
  // REQUIRES: Start returned OK.
  bool realtime_active() const;
  // Datagrams waiting for their due time right now.
  size_t queued_datagrams() const;

 private:
  struct Link;
  struct Mapping;
  struct Endpoint;
  struct Datagram;

  void ReceiveLoop();
  void DrainListenSocket(Link& link);
  void DrainUpstreamSocket(Mapping& mapping);
  // Applies the link's loss and delay (`base_delay` plus jitter) to the `size` bytes just read
  // into receive_buffer_ (arrived at `arrival_ns`, monotonic) and queues them for `mapping`,
  // toward the client when `to_client`, else toward the forward address.
  void DelayAndQueue(Link& link, std::shared_ptr<Mapping> mapping, bool to_client,
                     std::chrono::nanoseconds base_delay, size_t size, int64_t arrival_ns);
  void ExpireIdleMappings(int64_t now_ns);
  void ExpireIdleMappings(Link& link, int64_t now_ns);
  void Send(Datagram& datagram);
  std::shared_ptr<Mapping> FindOrCreateMapping(Link& link, const SocketAddress& client,
                                               int64_t now_ns);

  RelayOptions options_;
  std::vector<std::unique_ptr<Link>> links_;
  std::unique_ptr<DelayQueue<Datagram>> queue_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread receive_thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;
  std::vector<uint8_t> receive_buffer_;
  std::unique_ptr<DelaySampler> sampler_;  // receive thread only
  mutable std::mutex receive_cpu_mu_;
  clockid_t receive_cpu_clock_{};        // guarded by receive_cpu_mu_
  bool receive_cpu_clock_valid_ = false;  // guarded by receive_cpu_mu_
  int64_t receive_final_cpu_ns_ = 0;      // guarded by receive_cpu_mu_
};

}  // namespace lightcone::netem

#endif  // LIGHTCONE_NETEM_RELAY_H_
