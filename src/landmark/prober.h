// The landmark's prober: sends challenges to targets over one UDP socket, times the round
// trip with kernel timestamps, and accepts a reply only when every check passes.
//
// Timing. Receive times are the kernel's software receive timestamps (SO_TIMESTAMPING,
// SOF_TIMESTAMPING_RX_SOFTWARE). Send times are, by default, the kernel's software transmit
// timestamps read back from the socket error queue (SOF_TIMESTAMPING_TX_SOFTWARE), taken
// when the datagram is handed to the device; when one is missing the user-space clock read
// just before sendto() is used instead (earlier, so the RTT can only be overestimated,
// which keeps the bound sound). Both are CLOCK_REALTIME.
//
// Checks, in order (each failure counted under its RejectReason):
//   decodes as a reply (wire::DecodeError), names this landmark, names a sequence this
//   prober issued that is still outstanding (else replay / late / unknown sequence),
//   names the probed device, carries the probe's nonce, carries the key id of one of the
//   target's public keys (else: another target's key, or an unknown key), and has a valid
//   Ed25519 signature. A nonce is accepted once: an accepted probe is closed.
//
// Thread safety: none; one thread drives a Prober.
#ifndef LIGHTCONE_LANDMARK_PROBER_H_
#define LIGHTCONE_LANDMARK_PROBER_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "core/wire_address.h"

namespace lightcone::landmark {

struct ProbeTarget {
  wire::Id device_id{};
  // Unset for an agent-initiated target until its first hello arrives.
  std::optional<wire::Endpoint> endpoint;
  std::vector<crypto::PublicKey> public_keys;
  // True for a target that has no configured address: only such targets take their address
  // from hellos (a hello can never redirect a directly probed target).
  bool agent_initiated = false;
};

enum class RejectReason : uint8_t {
  kWrongLandmark = 0,  // signed for another landmark
  kUnknownSequence,    // a sequence this prober never issued
  kLate,               // after the probe's timeout
  kReplay,             // for a probe already answered (the nonce was accepted once)
  kWrongDevice,        // names another device than the one probed
  kWrongNonce,         // not the probe's nonce
  kOtherDeviceKey,     // key id of another target's key
  kUnknownKey,         // key id of no known key
  kBadSignature,       // signature does not verify
};
inline constexpr size_t kNumRejectReasons = 9;
const char* RejectReasonName(RejectReason reason);

struct ProberStats {
  uint64_t sent = 0;
  uint64_t send_errors = 0;
  uint64_t accepted = 0;
  uint64_t timeouts = 0;          // probes with no accepted reply by their deadline
  uint64_t no_address = 0;        // due probes skipped: agent-initiated target not heard yet
  uint64_t hellos = 0;
  uint64_t hellos_rejected = 0;   // wrong landmark, unknown device, or a direct target
  uint64_t tx_kernel_timestamps = 0;
  uint64_t tx_user_timestamps = 0;  // accepted replies timed from the user-space send clock
  uint64_t rx_user_timestamps = 0;  // accepted replies with no kernel receive timestamp
  std::array<uint64_t, wire::kNumDecodeErrors> decode_rejected{};
  std::array<uint64_t, kNumRejectReasons> rejected{};

  uint64_t rejected_total() const;
};

struct ProbeResult {
  size_t target = 0;
  uint64_t sequence = 0;
  int64_t sent_unix_ns = 0;
  int64_t rtt_ns = 0;
  wire::Reply reply;
};

class Prober {
 public:
  static constexpr size_t kProbeTableSize = 1 << 16;  // outstanding + recently closed probes
  static constexpr std::chrono::milliseconds kDefaultTimeout{1000};

  enum class TxTimestamp { kKernel, kUserspace };

  struct Options {
    wire::Id landmark_id{};
    std::string listen = "0.0.0.0:0";
    std::chrono::nanoseconds timeout = kDefaultTimeout;
    TxTimestamp tx_timestamp = TxTimestamp::kKernel;
  };

  // Binds the socket and enables timestamping. Errors: kInvalidArgument for bad options or
  // targets, kUnavailable when the socket cannot be set up.
  static absl::StatusOr<std::unique_ptr<Prober>> Create(Options options,
                                                        std::vector<ProbeTarget> targets);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Sends one fresh challenge to `target`. Errors: kFailedPrecondition when the target has
  // no address yet, kUnavailable when sendto fails.
  absl::Status Probe(size_t target);

  // Waits up to `max_wait` for datagrams, processes everything available, expires probes
  // past their timeout, and calls `on_result` for each accepted reply.
  void Poll(std::chrono::nanoseconds max_wait,
            const std::function<void(const ProbeResult&)>& on_result);

  // Replaces the target set (the fleet server changed it). An agent-initiated target that
  // stays (same device) keeps the address its hellos taught; a probe in flight to a device
  // that stays is still accepted under the new target's keys; probes in flight to a device
  // that left are closed (counted as timeouts). Errors: kInvalidArgument for a target without
  // a public key (nothing is changed then).
  absl::Status SetTargets(std::vector<ProbeTarget> targets);

  // Probes sent and neither answered nor expired.
  size_t outstanding() const { return outstanding_; }
  const ProberStats& stats() const { return stats_; }
  const std::vector<ProbeTarget>& targets() const { return targets_; }
  wire::Endpoint local_endpoint() const { return local_; }
  bool kernel_tx_timestamps() const { return kernel_tx_; }

 private:
  enum class State : uint8_t { kFree, kOutstanding, kAnswered, kExpired };
  struct ProbeSlot {
    uint64_t sequence = 0;
    size_t target = 0;
    wire::Nonce nonce{};
    State state = State::kFree;
    int64_t sent_user_ns = 0;
    int64_t sent_kernel_ns = 0;
    int64_t deadline_ns = 0;  // realtime
  };

  Prober(Options options, std::vector<ProbeTarget> targets);
  absl::Status Setup();
  void DrainErrorQueue();
  void HandleDatagram(std::span<const uint8_t> datagram, const sockaddr_storage& source,
                      socklen_t source_length, int64_t rx_ns, bool rx_kernel,
                      const std::function<void(const ProbeResult&)>& on_result);
  void ExpireUntil(int64_t now_ns);
  void Reject(RejectReason r) { ++stats_.rejected[static_cast<size_t>(r)]; }

  Options options_;
  std::vector<ProbeTarget> targets_;
  int fd_ = -1;
  wire::Endpoint local_;
  bool kernel_tx_ = false;
  uint64_t next_sequence_ = 1;
  uint64_t oldest_open_ = 1;  // probes below this are closed or expired
  uint32_t tx_counter_ = 0;   // SOF_TIMESTAMPING_OPT_ID numbering of sent datagrams
  size_t outstanding_ = 0;
  std::vector<ProbeSlot> probes_;          // indexed by sequence % kProbeTableSize
  std::vector<uint64_t> tx_sequences_;  // OPT_ID % kProbeTableSize -> sequence
  ProberStats stats_;
};

}  // namespace lightcone::landmark

#endif  // LIGHTCONE_LANDMARK_PROBER_H_
