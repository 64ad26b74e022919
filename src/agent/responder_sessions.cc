#include "agent/responder_sessions.h"

#include <sys/socket.h>

namespace lightcone::agent {

LandmarkSessions::LandmarkSessions(int fd, Options options) : fd_(fd), options_(options) {}

LandmarkSessions::~LandmarkSessions() { Stop(); }

absl::Status LandmarkSessions::Start(const std::vector<LandmarkPeerConfig>& landmarks,
                                     const std::vector<wire::Id>& devices) {
  for (const LandmarkPeerConfig& l : landmarks) {
    auto endpoint = wire::ResolveEndpoint(l.address);
    if (!endpoint.ok()) return endpoint.status();
    peers_.push_back({l.id, *endpoint});
  }
  devices_ = devices;
  if (peers_.empty()) return absl::OkStatus();
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void LandmarkSessions::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LandmarkSessions::SendAll() {
  for (const Peer& p : peers_) {
    for (const wire::Id& d : devices_) {
      uint8_t bytes[wire::kHelloBytes];
      wire::EncodeHello({p.landmark_id, d}, bytes);
      ssize_t rc = sendto(fd_, bytes, sizeof(bytes), 0,
                          reinterpret_cast<const sockaddr*>(&p.endpoint.address),
                          p.endpoint.length);
      if (rc == static_cast<ssize_t>(sizeof(bytes))) {
        hellos_sent_.fetch_add(1, std::memory_order_relaxed);
      } else {
        send_errors_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
}

void LandmarkSessions::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    SendAll();
    lock.lock();
    cv_.wait_for(lock, options_.keepalive_interval, [this] { return stop_; });
  }
}

}  // namespace lightcone::agent
