#include "landmark/prober.h"

#include <linux/net_tstamp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/net_timestamps.h"
#include "core/clock.h"

namespace lightcone::landmark {

const char* RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kWrongLandmark: return "wrong_landmark";
    case RejectReason::kUnknownSequence: return "unknown_sequence";
    case RejectReason::kLate: return "late";
    case RejectReason::kReplay: return "replay";
    case RejectReason::kWrongDevice: return "wrong_device";
    case RejectReason::kWrongNonce: return "wrong_nonce";
    case RejectReason::kOtherDeviceKey: return "other_device_key";
    case RejectReason::kUnknownKey: return "unknown_key";
    case RejectReason::kBadSignature: return "bad_signature";
  }
  return "unknown";
}

uint64_t ProberStats::rejected_total() const {
  uint64_t total = 0;
  for (uint64_t r : rejected) total += r;
  for (uint64_t r : decode_rejected) total += r;
  return total;
}

Prober::Prober(Options options, std::vector<ProbeTarget> targets)
    : options_(std::move(options)),
      targets_(std::move(targets)),
      probes_(kProbeTableSize),
      tx_sequences_(kProbeTableSize, 0) {}

Prober::~Prober() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<std::unique_ptr<Prober>> Prober::Create(Options options,
                                                       std::vector<ProbeTarget> targets) {
  if (options.timeout <= std::chrono::nanoseconds::zero()) {
    return absl::InvalidArgumentError("prober: timeout must be positive");
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].public_keys.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "prober: target ", wire::FormatId(targets[i].device_id), " has no public key"));
    }
  }
  std::unique_ptr<Prober> p(new Prober(std::move(options), std::move(targets)));
  if (absl::Status s = p->Setup(); !s.ok()) return s;
  return p;
}

absl::Status Prober::SetTargets(std::vector<ProbeTarget> targets) {
  for (const ProbeTarget& t : targets) {
    if (t.public_keys.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("prober: target ", wire::FormatId(t.device_id), " has no public key"));
    }
  }
  for (ProbeTarget& t : targets) {
    if (!t.agent_initiated || t.endpoint.has_value()) continue;
    for (const ProbeTarget& old : targets_) {
      if (old.agent_initiated && old.device_id == t.device_id) t.endpoint = old.endpoint;
    }
  }
  for (uint64_t seq = oldest_open_; seq < next_sequence_; ++seq) {
    ProbeSlot& slot = probes_[seq % kProbeTableSize];
    if (slot.sequence != seq || slot.state != State::kOutstanding) continue;
    const wire::Id& device = targets_[slot.target].device_id;
    bool kept = false;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (targets[i].device_id == device) {
        slot.target = i;
        kept = true;
        break;
      }
    }
    if (!kept) {
      slot.state = State::kExpired;
      --outstanding_;
      ++stats_.timeouts;
    }
  }
  targets_ = std::move(targets);
  return absl::OkStatus();
}

absl::Status Prober::Setup() {
  auto local = wire::ResolveEndpoint(options_.listen);
  if (!local.ok()) return local.status();
  auto fd = wire::BindUdpSocket(*local);
  if (!fd.ok()) return fd.status();
  fd_ = *fd;
  auto bound = wire::LocalEndpoint(fd_);
  if (!bound.ok()) return bound.status();
  local_ = *bound;
  uint32_t flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
  if (options_.tx_timestamp == TxTimestamp::kKernel) {
    flags |= SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
  }
  if (setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0) {
    kernel_tx_ = options_.tx_timestamp == TxTimestamp::kKernel;
  } else {
    // Fall back to receive-only nanosecond timestamps.
    int on = 1;
    if (setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) != 0) {
      return absl::UnavailableError(
          absl::StrCat("prober: no kernel receive timestamps: ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

absl::Status Prober::Probe(size_t target) {
  if (target >= targets_.size()) return absl::InvalidArgumentError("prober: no such target");
  const ProbeTarget& t = targets_[target];
  if (!t.endpoint.has_value()) {
    ++stats_.no_address;
    return absl::FailedPreconditionError(absl::StrCat(
        "prober: target ", wire::FormatId(t.device_id), " has no address yet (no hello)"));
  }
  uint64_t sequence = next_sequence_++;
  ProbeSlot& slot = probes_[sequence % kProbeTableSize];
  if (slot.state == State::kOutstanding) {
    // The table wrapped while a probe was still open (more than kProbeTableSize in flight):
    // that old probe is expired now.
    ++stats_.timeouts;
    --outstanding_;
  }
  slot = ProbeSlot{};
  slot.sequence = sequence;
  slot.target = target;
  crypto::RandomBytes(slot.nonce);
  wire::Challenge challenge{options_.landmark_id, t.device_id, slot.nonce, sequence};
  uint8_t bytes[wire::kChallengeBytes];
  wire::EncodeChallenge(challenge, bytes);
  if (kernel_tx_) tx_sequences_[tx_counter_ % kProbeTableSize] = sequence;
  slot.sent_user_ns = RealtimeNs();
  ssize_t rc = sendto(fd_, bytes, sizeof(bytes), 0,
                      reinterpret_cast<const sockaddr*>(&t.endpoint->address), t.endpoint->length);
  if (rc != static_cast<ssize_t>(sizeof(bytes))) {
    int err = errno;
    slot.state = State::kExpired;
    ++stats_.send_errors;
    return absl::UnavailableError(absl::StrCat("prober: sendto ", wire::FormatEndpoint(*t.endpoint),
                                               ": ", std::strerror(err)));
  }
  if (kernel_tx_) ++tx_counter_;
  slot.state = State::kOutstanding;
  slot.deadline_ns = slot.sent_user_ns + options_.timeout.count();
  ++outstanding_;
  ++stats_.sent;
  if (kernel_tx_) DrainErrorQueue();  // on loopback the timestamp is already queued
  return absl::OkStatus();
}

void Prober::DrainErrorQueue() {
  while (std::optional<net::TxTimestampReport> report = net::ReadTxTimestamp(fd_)) {
    if (!report->id.has_value() || report->tx_ns == 0) continue;
    uint64_t sequence = tx_sequences_[*report->id % kProbeTableSize];
    ProbeSlot& slot = probes_[sequence % kProbeTableSize];
    if (slot.sequence == sequence && slot.sent_kernel_ns == 0) slot.sent_kernel_ns = report->tx_ns;
  }
}

void Prober::Poll(std::chrono::nanoseconds max_wait,
                  const std::function<void(const ProbeResult&)>& on_result) {
  if (max_wait < std::chrono::nanoseconds::zero()) max_wait = std::chrono::nanoseconds::zero();
  pollfd p{fd_, POLLIN, 0};
  timespec wait{static_cast<time_t>(max_wait.count() / 1'000'000'000),
                static_cast<long>(max_wait.count() % 1'000'000'000)};
  if (ppoll(&p, 1, &wait, nullptr) > 0) {
    if (kernel_tx_) DrainErrorQueue();
    for (;;) {
      alignas(cmsghdr) uint8_t control[net::kTimestampControlBytes];
      uint8_t data[wire::kMaxDatagramBytes + 1];
      iovec iov{data, sizeof(data)};
      sockaddr_storage source{};
      msghdr msg{};
      msg.msg_name = &source;
      msg.msg_namelen = sizeof(source);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
      if (n < 0) break;
      int64_t rx_ns = net::ReceiveTimestampNs(msg);
      bool rx_kernel = rx_ns != 0;
      if (!rx_kernel) rx_ns = RealtimeNs();
      size_t len = (msg.msg_flags & MSG_TRUNC) ? sizeof(data) : static_cast<size_t>(n);
      HandleDatagram(std::span<const uint8_t>(data, len), source, msg.msg_namelen, rx_ns,
                     rx_kernel, on_result);
    }
  }
  ExpireUntil(RealtimeNs());
}

void Prober::HandleDatagram(std::span<const uint8_t> datagram, const sockaddr_storage& source,
                            socklen_t source_length, int64_t rx_ns, bool rx_kernel,
                            const std::function<void(const ProbeResult&)>& on_result) {
  wire::MessageType type;
  wire::DecodeError e = wire::PeekType(datagram, &type);
  if (e == wire::DecodeError::kOk && type == wire::MessageType::kHello) {
    wire::Hello hello;
    e = wire::DecodeHello(datagram, &hello);
    if (e != wire::DecodeError::kOk) {
      ++stats_.decode_rejected[static_cast<size_t>(e)];
      return;
    }
    ++stats_.hellos;
    if (hello.landmark_id != options_.landmark_id) {
      ++stats_.hellos_rejected;
      return;
    }
    for (ProbeTarget& t : targets_) {
      if (t.agent_initiated && t.device_id == hello.device_id) {
        wire::Endpoint endpoint;
        std::memcpy(&endpoint.address, &source, sizeof(source));
        endpoint.length = source_length;
        t.endpoint = endpoint;
        return;
      }
    }
    ++stats_.hellos_rejected;
    return;
  }
  wire::Reply reply;
  e = wire::DecodeReply(datagram, &reply);
  if (e != wire::DecodeError::kOk) {
    ++stats_.decode_rejected[static_cast<size_t>(e)];
    return;
  }
  if (reply.landmark_id != options_.landmark_id) return Reject(RejectReason::kWrongLandmark);
  if (reply.sequence >= next_sequence_ || reply.sequence == 0) {
    return Reject(RejectReason::kUnknownSequence);
  }
  ProbeSlot& slot = probes_[reply.sequence % kProbeTableSize];
  if (slot.sequence != reply.sequence) return Reject(RejectReason::kLate);  // long evicted
  if (slot.state == State::kAnswered) return Reject(RejectReason::kReplay);
  if (slot.state != State::kOutstanding) return Reject(RejectReason::kLate);
  const ProbeTarget& target = targets_[slot.target];
  if (reply.device_id != target.device_id) return Reject(RejectReason::kWrongDevice);
  if (reply.nonce != slot.nonce) return Reject(RejectReason::kWrongNonce);
  const crypto::PublicKey* key = nullptr;
  for (const crypto::PublicKey& k : target.public_keys) {
    if (crypto::ComputeKeyId(k) == reply.key_id) key = &k;
  }
  if (key == nullptr) {
    for (const ProbeTarget& other : targets_) {
      for (const crypto::PublicKey& k : other.public_keys) {
        if (crypto::ComputeKeyId(k) == reply.key_id) return Reject(RejectReason::kOtherDeviceKey);
      }
    }
    return Reject(RejectReason::kUnknownKey);
  }
  if (!wire::VerifyReply(reply, *key)) return Reject(RejectReason::kBadSignature);
  if (rx_ns > slot.deadline_ns) {
    slot.state = State::kExpired;
    --outstanding_;
    ++stats_.timeouts;
    return Reject(RejectReason::kLate);
  }
  int64_t sent_ns = slot.sent_user_ns;
  if (slot.sent_kernel_ns != 0) {
    sent_ns = slot.sent_kernel_ns;
    ++stats_.tx_kernel_timestamps;
  } else {
    ++stats_.tx_user_timestamps;
  }
  if (!rx_kernel) ++stats_.rx_user_timestamps;
  slot.state = State::kAnswered;
  --outstanding_;
  ++stats_.accepted;
  ProbeResult result;
  result.target = slot.target;
  result.sequence = reply.sequence;
  result.sent_unix_ns = sent_ns;
  result.rtt_ns = rx_ns - sent_ns;
  result.reply = reply;
  if (on_result) on_result(result);
}

void Prober::ExpireUntil(int64_t now_ns) {
  while (oldest_open_ < next_sequence_) {
    ProbeSlot& slot = probes_[oldest_open_ % kProbeTableSize];
    if (slot.sequence == oldest_open_ && slot.state == State::kOutstanding) {
      if (slot.deadline_ns > now_ns) break;
      slot.state = State::kExpired;
      --outstanding_;
      ++stats_.timeouts;
    }
    ++oldest_open_;
  }
}

}  // namespace lightcone::landmark
