#include "netem/relay.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/net_timestamps.h"
#include "core/status_macros.h"
#include "netem/clock.h"

namespace lightcone::netem {
namespace {

// Datagrams read per socket per readiness event before moving on, so that one busy socket
// cannot starve the others.
constexpr int kMaxReadsPerEvent = 64;
constexpr int kMaxEpollEvents = 128;
// How often the receive thread looks for idle mappings.
constexpr int kSweepIntervalMs = 500;
// Minimum spacing of the extra sweeps a full mapping table triggers.
constexpr int64_t kForcedSweepIntervalNs = 100'000'000;

std::string Errno(const char* what) { return absl::StrCat(what, ": ", std::strerror(errno)); }

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Opens a non-blocking UDP socket with kernel receive timestamps enabled.
absl::StatusOr<int> OpenUdpSocket(int family, int buffer_bytes) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(Errno("socket"));
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) != 0) {
    std::string error = Errno("setsockopt(SO_TIMESTAMPNS)");
    close(fd);
    return absl::UnavailableError(error);
  }
  // Best effort: the kernel clamps these to its maxima.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
  return fd;
}

}  // namespace

struct Relay::Endpoint {
  enum class Kind { kListen, kUpstream, kWake };
  Kind kind;
  Link* link = nullptr;
  Mapping* mapping = nullptr;
};

struct Relay::Mapping : std::enable_shared_from_this<Relay::Mapping> {
  Endpoint endpoint;
  Link* link = nullptr;
  SocketAddress client;
  int fd = -1;                 // connected to the link's forward address
  int64_t last_active_ns = 0;  // receive thread only
  ~Mapping() { CloseFd(fd); }
};

struct Relay::Link {
  LinkSpec spec;
  SocketAddress listen;
  SocketAddress forward;
  int fd = -1;
  Endpoint endpoint;
  absl::flat_hash_map<SocketAddress, std::shared_ptr<Mapping>> mappings;  // receive thread
  // Upstream socket failures (e.g. out of descriptors) are logged once per link, then only
  // counted (dropped_mapping_limit), so a flood cannot flood the log. Receive thread only.
  bool warned_upstream_failure = false;
  // When the mapping cap is hit, idle mappings of this link are swept at most this often, so
  // a flood of new sources costs a hash lookup per datagram, not a sweep.
  int64_t last_forced_sweep_ns = 0;
  std::atomic<uint64_t> received{0}, forwarded{0}, replies_received{0}, returned{0},
      dropped_loss{0}, dropped_queue_full{0}, dropped_oversize{0}, dropped_mapping_limit{0},
      send_errors{0}, queued_past_due{0}, mappings_created{0}, mappings_expired{0};
  ~Link() { CloseFd(fd); }
};

struct Relay::Datagram {
  // Holds the mapping (and so its socket) open until the datagram has been sent.
  std::shared_ptr<Mapping> mapping;
  bool to_client = false;  // false: client -> forward address; true: reply -> client
  std::unique_ptr<uint8_t[]> bytes;
  size_t size = 0;
  size_t size_bytes() const { return size; }
};

Relay::Relay(RelayOptions options)
    : options_(options),
      queue_(std::make_unique<DelayQueue<Datagram>>(DelayQueueOptions{
          .max_items = options.max_queued_datagrams,
          .max_bytes = options.max_queued_bytes,
          .spin_window = options.spin_window,
          .realtime_priority = options.realtime_priority})) {
  // One spare byte detects datagrams larger than the limit (MSG_TRUNC).
  receive_buffer_.resize(options_.max_datagram_bytes + 1);
  const uint64_t seed = options_.seed != 0
                            ? options_.seed
                            : (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  sampler_ = std::make_unique<DelaySampler>(seed);
}

Relay::~Relay() { Stop(); }

absl::StatusOr<SocketAddress> Relay::AddLink(const LinkSpec& spec) {
  if (started_) return absl::FailedPreconditionError("netem: AddLink after Start");
  LC_RETURN_IF_ERROR(ValidateLinkSpec(spec));
  if (links_.size() >= options_.max_links) {
    return absl::ResourceExhaustedError(
        absl::StrCat("netem: at most ", options_.max_links, " links (max_links)"));
  }
  auto link = std::make_unique<Link>();
  link->spec = spec;
  if (link->spec.name.empty()) link->spec.name = absl::StrCat("link", links_.size());
  const std::string where = absl::StrCat("netem link '", link->spec.name, "'");
  auto listen = SocketAddress::Parse(spec.listen);
  if (!listen.ok()) {
    return absl::Status(listen.status().code(),
                        absl::StrCat(where, " listen: ", listen.status().message()));
  }
  auto forward = SocketAddress::Parse(spec.forward);
  if (!forward.ok()) {
    return absl::Status(forward.status().code(),
                        absl::StrCat(where, " forward: ", forward.status().message()));
  }
  link->forward = *forward;
  auto fd = OpenUdpSocket(listen->family(), options_.socket_buffer_bytes);
  if (!fd.ok()) return absl::UnavailableError(absl::StrCat(where, ": ", fd.status().message()));
  link->fd = *fd;
  if (bind(link->fd, listen->sockaddr_ptr(), listen->length()) != 0) {
    return absl::UnavailableError(
        absl::StrCat(where, ": bind ", listen->ToString(), ": ", std::strerror(errno)));
  }
  SocketAddress bound;
  socklen_t length = sizeof(sockaddr_storage);
  if (getsockname(link->fd, bound.mutable_sockaddr_ptr(), &length) != 0) {
    return absl::UnavailableError(absl::StrCat(where, ": ", Errno("getsockname")));
  }
  bound.set_length(length);
  link->listen = bound;
  link->endpoint = Endpoint{Endpoint::Kind::kListen, link.get(), nullptr};
  links_.push_back(std::move(link));
  return bound;
}

absl::Status Relay::Start() {
  if (started_) return absl::FailedPreconditionError("netem: relay already started");
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::UnavailableError(Errno("netem: epoll_create1"));
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::UnavailableError(Errno("netem: eventfd"));
  static Endpoint wake_endpoint{Endpoint::Kind::kWake, nullptr, nullptr};
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = &wake_endpoint;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) {
    return absl::UnavailableError(Errno("netem: epoll_ctl(wake)"));
  }
  for (auto& link : links_) {
    event.data.ptr = &link->endpoint;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, link->fd, &event) != 0) {
      return absl::UnavailableError(Errno("netem: epoll_ctl(listen)"));
    }
  }
  started_ = true;
  queue_->Start([this](Datagram& datagram, int64_t) { Send(datagram); });
  receive_thread_ = std::thread([this] { ReceiveLoop(); });
  queue_->WaitStarted();
  if (options_.realtime_priority > 0 && !queue_->realtime_active()) {
    Logger("netem")->warn("could not switch the timing thread to SCHED_FIFO (needs "
                          "CAP_SYS_NICE); running with normal scheduling");
  }
  Logger("netem")->info("relaying {} link(s)", links_.size());
  return absl::OkStatus();
}

void Relay::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  }
  if (receive_thread_.joinable()) receive_thread_.join();
  queue_->Stop();
  for (auto& link : links_) link->mappings.clear();
  CloseFd(wake_fd_);
  CloseFd(epoll_fd_);
}

const LinkSpec& Relay::link_spec(size_t index) const { return links_[index]->spec; }
const SocketAddress& Relay::listen_address(size_t index) const { return links_[index]->listen; }
const SocketAddress& Relay::forward_address(size_t index) const {
  return links_[index]->forward;
}

LinkCounters Relay::counters(size_t index) const {
  const Link& link = *links_[index];
  LinkCounters c;
  c.received = link.received.load();
  c.forwarded = link.forwarded.load();
  c.replies_received = link.replies_received.load();
  c.returned = link.returned.load();
  c.dropped_loss = link.dropped_loss.load();
  c.dropped_queue_full = link.dropped_queue_full.load();
  c.dropped_oversize = link.dropped_oversize.load();
  c.dropped_mapping_limit = link.dropped_mapping_limit.load();
  c.send_errors = link.send_errors.load();
  c.queued_past_due = link.queued_past_due.load();
  c.mappings_created = link.mappings_created.load();
  c.mappings_expired = link.mappings_expired.load();
  return c;
}

LatenessStats Relay::Lateness() const { return queue_->Lateness(); }
int64_t Relay::timing_thread_cpu_ns() const { return queue_->thread_cpu_ns(); }
bool Relay::realtime_active() const { return queue_->realtime_active(); }
size_t Relay::queued_datagrams() const { return queue_->Size(); }

int64_t Relay::receive_thread_cpu_ns() const {
  std::lock_guard<std::mutex> lock(receive_cpu_mu_);
  if (!receive_cpu_clock_valid_) return receive_final_cpu_ns_;
  timespec ts;
  if (clock_gettime(receive_cpu_clock_, &ts) != 0) return receive_final_cpu_ns_;
  return TimespecToNs(ts);
}

void Relay::ReceiveLoop() {
  {
    std::lock_guard<std::mutex> lock(receive_cpu_mu_);
    receive_cpu_clock_valid_ = pthread_getcpuclockid(pthread_self(), &receive_cpu_clock_) == 0;
  }
  if (options_.realtime_priority > 0) {
    // A receive thread that wakes late hands the timing thread datagrams already past due,
    // so it gets the same scheduling class (best effort; the timing thread reports).
    sched_param param{};
    param.sched_priority = std::clamp(options_.realtime_priority, 1, 99);
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
  }
  epoll_event events[kMaxEpollEvents];
  int64_t next_sweep_ns = MonotonicNowNs() + int64_t{kSweepIntervalMs} * 1'000'000;
  while (!stopping_.load(std::memory_order_relaxed)) {
    int n = epoll_wait(epoll_fd_, events, kMaxEpollEvents, kSweepIntervalMs);
    if (n < 0 && errno != EINTR) {
      Logger("netem")->error("epoll_wait failed: {}", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      auto* endpoint = static_cast<Endpoint*>(events[i].data.ptr);
      switch (endpoint->kind) {
        case Endpoint::Kind::kWake:
          break;
        case Endpoint::Kind::kListen:
          DrainListenSocket(*endpoint->link);
          break;
        case Endpoint::Kind::kUpstream:
          DrainUpstreamSocket(*endpoint->mapping);
          break;
      }
    }
    const int64_t now_ns = MonotonicNowNs();
    if (now_ns >= next_sweep_ns) {
      ExpireIdleMappings(now_ns);
      next_sweep_ns = now_ns + int64_t{kSweepIntervalMs} * 1'000'000;
    }
  }
  std::lock_guard<std::mutex> lock(receive_cpu_mu_);
  receive_final_cpu_ns_ = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  receive_cpu_clock_valid_ = false;
}

namespace {

// One datagram read with its kernel arrival time (CLOCK_MONOTONIC ns).
struct Received {
  ssize_t size = -1;  // -1: nothing more to read
  bool truncated = false;
  int64_t arrival_ns = 0;
};

Received ReceiveOne(int fd, uint8_t* buffer, size_t capacity, SocketAddress* from) {
  Received result;
  iovec iov{buffer, capacity};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  if (from != nullptr) {
    msg.msg_name = from->mutable_sockaddr_ptr();
    msg.msg_namelen = sizeof(sockaddr_storage);
  }
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0) {
    // EAGAIN: drained. ECONNREFUSED on a connected upstream socket reports an ICMP error
    // for an earlier send; it is not a datagram, so report "nothing" but keep draining.
    result.size = (errno == ECONNREFUSED) ? -2 : -1;
    return result;
  }
  if (from != nullptr) from->set_length(msg.msg_namelen);
  result.size = n;
  result.truncated = (msg.msg_flags & MSG_TRUNC) != 0 || static_cast<size_t>(n) >= capacity;
  result.arrival_ns = 0;
  if (int64_t rx_ns = net::ReceiveTimestampNs(msg); rx_ns != 0) {
    result.arrival_ns = RealtimeToMonotonicNs(rx_ns);
  }
  // No kernel timestamp (should not happen with SO_TIMESTAMPNS): now is the best bound.
  if (result.arrival_ns == 0) result.arrival_ns = MonotonicNowNs();
  return result;
}

}  // namespace

std::shared_ptr<Relay::Mapping> Relay::FindOrCreateMapping(Link& link,
                                                           const SocketAddress& client,
                                                           int64_t now_ns) {
  auto it = link.mappings.find(client);
  if (it != link.mappings.end()) return it->second;
  if (link.mappings.size() >= options_.max_mappings_per_link) {
    if (now_ns - link.last_forced_sweep_ns >= kForcedSweepIntervalNs) {
      link.last_forced_sweep_ns = now_ns;
      ExpireIdleMappings(link, now_ns);
    }
    if (link.mappings.size() >= options_.max_mappings_per_link) return nullptr;
  }
  auto fd = OpenUdpSocket(link.forward.family(), options_.socket_buffer_bytes);
  if (!fd.ok()) {
    if (!std::exchange(link.warned_upstream_failure, true)) {
      Logger("netem")->warn("link '{}': cannot open upstream socket: {}", link.spec.name,
                            fd.status().ToString());
    }
    return nullptr;
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->fd = *fd;
  mapping->link = &link;
  mapping->client = client;
  mapping->endpoint = Endpoint{Endpoint::Kind::kUpstream, &link, mapping.get()};
  if (connect(mapping->fd, link.forward.sockaddr_ptr(), link.forward.length()) != 0) {
    if (!std::exchange(link.warned_upstream_failure, true)) {
      Logger("netem")->warn("link '{}': connect {}: {}", link.spec.name, link.forward.ToString(),
                            std::strerror(errno));
    }
    return nullptr;
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = &mapping->endpoint;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, mapping->fd, &event) != 0) {
    if (!std::exchange(link.warned_upstream_failure, true)) {
      Logger("netem")->warn("link '{}': epoll_ctl: {}", link.spec.name, std::strerror(errno));
    }
    return nullptr;
  }
  link.mappings_created.fetch_add(1, std::memory_order_relaxed);
  link.mappings.emplace(client, mapping);
  return mapping;
}

void Relay::ExpireIdleMappings(int64_t now_ns) {
  for (auto& link : links_) ExpireIdleMappings(*link, now_ns);
}

void Relay::ExpireIdleMappings(Link& link, int64_t now_ns) {
  const int64_t idle_ns = options_.mapping_idle_timeout.count();
  for (auto it = link.mappings.begin(); it != link.mappings.end();) {
    auto current = it++;
    if (now_ns - current->second->last_active_ns < idle_ns) continue;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, current->second->fd, nullptr);
    link.mappings_expired.fetch_add(1, std::memory_order_relaxed);
    // The socket closes when the last queued datagram holding the mapping is sent.
    link.mappings.erase(current);
  }
}

void Relay::DrainListenSocket(Link& link) {
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    SocketAddress client;
    Received r = ReceiveOne(link.fd, receive_buffer_.data(), receive_buffer_.size(), &client);
    if (r.size == -1) return;
    if (r.size == -2) continue;
    link.received.fetch_add(1, std::memory_order_relaxed);
    if (r.truncated) {
      link.dropped_oversize.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    std::shared_ptr<Mapping> mapping = FindOrCreateMapping(link, client, r.arrival_ns);
    if (mapping == nullptr) {
      link.dropped_mapping_limit.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    mapping->last_active_ns = r.arrival_ns;
    DelayAndQueue(link, std::move(mapping), /*to_client=*/false, link.spec.delay,
                  static_cast<size_t>(r.size), r.arrival_ns);
  }
}

void Relay::DrainUpstreamSocket(Mapping& mapping) {
  Link& link = *mapping.link;
  std::shared_ptr<Mapping> owner = mapping.shared_from_this();
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    Received r = ReceiveOne(mapping.fd, receive_buffer_.data(), receive_buffer_.size(), nullptr);
    if (r.size == -1) return;
    if (r.size == -2) continue;
    link.replies_received.fetch_add(1, std::memory_order_relaxed);
    if (r.truncated) {
      link.dropped_oversize.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    mapping.last_active_ns = r.arrival_ns;
    DelayAndQueue(link, owner, /*to_client=*/true, link.spec.effective_return_delay(),
                  static_cast<size_t>(r.size), r.arrival_ns);
  }
}

void Relay::DelayAndQueue(Link& link, std::shared_ptr<Mapping> mapping, bool to_client,
                          std::chrono::nanoseconds base_delay, size_t size, int64_t arrival_ns) {
  DelaySampler& sampler = *sampler_;
  if (sampler.Drop(link.spec.loss)) {
    link.dropped_loss.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int64_t delay_ns =
      sampler.Sample(base_delay, link.spec.jitter, link.spec.jitter_distribution).count();
  const int64_t due_ns = arrival_ns + delay_ns;
  Datagram datagram;
  datagram.mapping = std::move(mapping);
  datagram.to_client = to_client;
  datagram.size = size;
  datagram.bytes = std::make_unique<uint8_t[]>(datagram.size);
  std::memcpy(datagram.bytes.get(), receive_buffer_.data(), datagram.size);
  if (!queue_->Push(std::move(datagram), due_ns)) {
    link.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
  } else if (delay_ns > 0 && due_ns < MonotonicNowNs()) {
    link.queued_past_due.fetch_add(1, std::memory_order_relaxed);
  }
}

void Relay::Send(Datagram& datagram) {
  Mapping& mapping = *datagram.mapping;
  Link& link = *mapping.link;
  ssize_t n;
  if (datagram.to_client) {
    n = sendto(link.fd, datagram.bytes.get(), datagram.size, MSG_DONTWAIT,
               mapping.client.sockaddr_ptr(), mapping.client.length());
  } else {
    n = send(mapping.fd, datagram.bytes.get(), datagram.size, MSG_DONTWAIT);
    // A connected UDP socket reports an ICMP error for an earlier datagram (the target was
    // down) on the next send, which then sends nothing; the target may be back, so retry.
    if (n < 0 && errno == ECONNREFUSED) {
      n = send(mapping.fd, datagram.bytes.get(), datagram.size, MSG_DONTWAIT);
    }
  }
  if (n < 0) {
    link.send_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  (datagram.to_client ? link.returned : link.forwarded).fetch_add(1, std::memory_order_relaxed);
}

}  // namespace lightcone::netem
