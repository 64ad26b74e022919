// Agent-initiated sessions: for hosts that accept no inbound traffic, the agent opens a UDP
// flow to each configured landmark from the responder's own socket and keeps it alive with
// hello datagrams (one per device per landmark every keepalive interval). The landmark sends
// its challenges back on that flow; the responder thread answers them as usual and the
// landmark still times them.
//
// Thread safety: Start()/Stop() from one thread; the keepalive thread only sends.
#ifndef LIGHTCONE_AGENT_RESPONDER_SESSIONS_H_
#define LIGHTCONE_AGENT_RESPONDER_SESSIONS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "agent/config.h"
#include "core/wire.h"
#include "core/wire_address.h"

namespace lightcone::agent {

class LandmarkSessions {
 public:
  struct Options {
    std::chrono::milliseconds keepalive_interval = kDefaultKeepaliveInterval;
  };

  // `fd` is the responder's socket (not owned).
  LandmarkSessions(int fd, Options options);
  ~LandmarkSessions();

  // Resolves the landmarks and starts the keepalive thread (a first hello goes out at once).
  // Errors: kInvalidArgument/kNotFound for an address that does not resolve.
  absl::Status Start(const std::vector<LandmarkPeerConfig>& landmarks,
                     const std::vector<wire::Id>& devices);
  void Stop();

  uint64_t hellos_sent() const { return hellos_sent_.load(std::memory_order_relaxed); }
  uint64_t send_errors() const { return send_errors_.load(std::memory_order_relaxed); }

 private:
  struct Peer {
    wire::Id landmark_id{};
    wire::Endpoint endpoint;
  };
  void Run();
  void SendAll();

  int fd_;
  Options options_;
  std::vector<Peer> peers_;
  std::vector<wire::Id> devices_;
  std::atomic<uint64_t> hellos_sent_{0};
  std::atomic<uint64_t> send_errors_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_RESPONDER_SESSIONS_H_
