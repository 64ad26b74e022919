#include "agent/responder.h"

#include <linux/net_tstamp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/net_timestamps.h"
#include "core/clock.h"

namespace lightcone::agent {
namespace {

constexpr size_t kControlBytes = 64;

}  // namespace

struct Responder::Slot {
  // One spare byte so that an oversized datagram is seen as longer than the limit.
  std::array<uint8_t, wire::kMaxDatagramBytes + 1> in{};
  std::array<uint8_t, wire::kReplyBytes> out{};
  sockaddr_storage source{};
  alignas(cmsghdr) std::array<uint8_t, kControlBytes> control{};
  iovec in_iov{};
};

uint64_t ResponderStats::rejected_total() const {
  uint64_t total = 0;
  for (uint64_t r : rejected) total += r;
  return total;
}

Responder::Responder(int fd, const DeviceKeyStore* keys, Options options)
    : fd_(fd),
      keys_(keys),
      options_(options),
      limiter_({options.rate_per_source_per_second, options.burst_per_source,
                options.rate_limiter_slots}),
      slots_(options.batch == 0 ? 1 : options.batch) {}

Responder::~Responder() { Stop(); }

absl::Status Responder::Start() {
  if (thread_.joinable()) return absl::FailedPreconditionError("responder already started");
  timeval tv{0, kStopPollMs * 1000};
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    return absl::UnavailableError(absl::StrCat("responder: SO_RCVTIMEO: ", std::strerror(errno)));
  }
  // Room for bursts (best effort: the kernel caps it at net.core.rmem_max).
  int rcvbuf = static_cast<int>(kReceiveBufferBytes);
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (options_.latency != nullptr) {
    int on = 1;
    if (setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) != 0) {
      return absl::UnavailableError(
          absl::StrCat("responder: SO_TIMESTAMPNS: ", std::strerror(errno)));
    }
  }
  stop_.store(false);
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Responder::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

ResponderStats Responder::stats() const {
  ResponderStats s;
  s.received = counters_.received.load(std::memory_order_relaxed);
  s.answered = counters_.answered.load(std::memory_order_relaxed);
  s.rate_limited = counters_.rate_limited.load(std::memory_order_relaxed);
  s.unknown_device = counters_.unknown_device.load(std::memory_order_relaxed);
  s.send_errors = counters_.send_errors.load(std::memory_order_relaxed);
  s.busy_polled = counters_.busy_polled.load(std::memory_order_relaxed);
  for (size_t i = 0; i < wire::kNumDecodeErrors; ++i) {
    s.rejected[i] = counters_.rejected[i].load(std::memory_order_relaxed);
  }
  return s;
}

bool Responder::Handle(std::span<const uint8_t> datagram, const sockaddr_storage& source,
                       int64_t now_ns, std::span<uint8_t, wire::kReplyBytes> reply_out) {
  if (!limiter_.Allow(source, now_ns)) {
    Bump(counters_.rate_limited);
    return false;
  }
  wire::Challenge challenge;
  wire::DecodeError error = wire::DecodeChallenge(datagram, &challenge);
  if (error != wire::DecodeError::kOk) {
    Bump(counters_.rejected[static_cast<size_t>(error)]);
    return false;
  }
  int index = keys_->Find(challenge.device_id);
  if (index < 0) {
    Bump(counters_.unknown_device);
    return false;
  }
  wire::Reply reply;
  keys_->Sign(index, challenge, &reply);
  wire::EncodeReply(reply, reply_out);
  return true;
}

void Responder::Run() {
  const size_t n = slots_.size();
  std::vector<mmsghdr> in_msgs(n);
  for (size_t i = 0; i < n; ++i) {
    Slot& s = slots_[i];
    s.in_iov = {s.in.data(), s.in.size()};
  }
  const int64_t busy_poll_ns =
      std::clamp<int64_t>(options_.busy_poll_us, 0, kMaxBusyPollUs) * 1000;
  int64_t poll_until_ns = 0;  // busy-poll (MSG_DONTWAIT) while MonotonicNs() < this
  // From here on, no allocation: everything above is reused for every batch.
  while (!stop_.load(std::memory_order_relaxed)) {
    for (size_t i = 0; i < n; ++i) {
      Slot& s = slots_[i];
      msghdr& h = in_msgs[i].msg_hdr;
      h = {};
      h.msg_name = &s.source;
      h.msg_namelen = sizeof(s.source);
      h.msg_iov = &s.in_iov;
      h.msg_iovlen = 1;
      if (options_.latency != nullptr) {
        h.msg_control = s.control.data();
        h.msg_controllen = s.control.size();
      }
    }
    const bool polling = busy_poll_ns > 0 && MonotonicNs() < poll_until_ns;
    int got = recvmmsg(fd_, in_msgs.data(), n, MSG_WAITFORONE | (polling ? MSG_DONTWAIT : 0),
                       nullptr);
    // Nothing yet (EAGAIN while polling), timeout (stop check), EINTR, or a transient error.
    if (got <= 0) continue;
    Bump(counters_.received, got);
    if (polling) Bump(counters_.busy_polled, got);
    int64_t now_ns = MonotonicNs();
    poll_until_ns = now_ns + busy_poll_ns;
    // Each reply goes out as soon as it is signed (sendto per reply rather than one
    // sendmmsg per batch): batching the sends would make the first challenge of a batch wait
    // for every other signature.
    for (int i = 0; i < got; ++i) {
      Slot& s = slots_[i];
      size_t len = in_msgs[i].msg_len;
      if (in_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) len = s.in.size();  // oversized
      if (!Handle(std::span<const uint8_t>(s.in.data(), len), s.source, now_ns,
                  std::span<uint8_t, wire::kReplyBytes>(s.out))) {
        continue;
      }
      ssize_t rc;
      do {
        rc = sendto(fd_, s.out.data(), s.out.size(), 0, reinterpret_cast<const sockaddr*>(&s.source),
                    in_msgs[i].msg_hdr.msg_namelen);
      } while (rc < 0 && errno == EINTR);
      if (rc != static_cast<ssize_t>(s.out.size())) {
        Bump(counters_.send_errors);
        continue;
      }
      Bump(counters_.answered);
      if (options_.latency != nullptr) {
        int64_t rx_ns = net::ReceiveTimestampNs(in_msgs[i].msg_hdr);
        if (rx_ns == 0) continue;
        LatencyRecorder& rec = *options_.latency;
        size_t count = rec.count.load(std::memory_order_relaxed);
        rec.samples_ns[count % rec.samples_ns.size()] = RealtimeNs() - rx_ns;
        rec.count.store(count + 1, std::memory_order_release);
      }
    }
  }
}

}  // namespace lightcone::agent
