// Test helpers: a UDP echo server on a thread and a small UDP client, both on loopback.
#ifndef LIGHTCONE_NETEM_UDP_TEST_UTIL_H_
#define LIGHTCONE_NETEM_UDP_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "netem/socket_address.h"

namespace lightcone::netem::testing {

inline int OpenLoopbackSocket(uint16_t port = 0) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline SocketAddress LocalAddress(int fd) {
  SocketAddress address;
  socklen_t length = sizeof(sockaddr_storage);
  getsockname(fd, address.mutable_sockaddr_ptr(), &length);
  address.set_length(length);
  return address;
}

// Echoes every datagram back to its sender and remembers when the last one arrived.
class EchoServer {
 public:
  // Listens on `port` of 127.0.0.1 (0: any free port).
  explicit EchoServer(uint16_t port = 0) : fd_(OpenLoopbackSocket(port)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~EchoServer() {
    stop_.store(true);
    thread_.join();
    close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  std::string address() const { return LocalAddress(fd_).ToString(); }
  int received() const { return received_.load(); }
  // steady_clock time (ns) of the most recent arrival.
  int64_t last_arrival_ns() const { return last_arrival_ns_.load(); }

 private:
  void Run() {
    char buffer[65536];
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      sockaddr_storage from{};
      socklen_t from_length = sizeof(from);
      ssize_t n = recvfrom(fd_, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&from),
                           &from_length);
      if (n < 0) continue;
      last_arrival_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
      received_.fetch_add(1);
      sendto(fd_, buffer, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from),
             from_length);
    }
  }

  int fd_;
  std::atomic<bool> stop_{false};
  std::atomic<int> received_{0};
  std::atomic<int64_t> last_arrival_ns_{0};
  std::thread thread_;
};

// A client socket that sends to one address and waits for replies.
class UdpClient {
 public:
  explicit UdpClient(const SocketAddress& to) : fd_(OpenLoopbackSocket()), to_(to) {}
  ~UdpClient() { close(fd_); }

  bool Send(const std::string& payload) {
    return sendto(fd_, payload.data(), payload.size(), 0, to_.sockaddr_ptr(), to_.length()) ==
           static_cast<ssize_t>(payload.size());
  }

  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buffer[65536];
    ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<size_t>(n));
  }

 private:
  int fd_;
  SocketAddress to_;
};

inline int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace lightcone::netem::testing

#endif  // LIGHTCONE_NETEM_UDP_TEST_UTIL_H_
