#include "core/wire_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace lightcone::wire {

absl::StatusOr<Endpoint> ResolveEndpoint(absl::string_view host_port) {
  size_t colon = host_port.rfind(':');
  if (colon == absl::string_view::npos || colon == 0 || colon + 1 == host_port.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", host_port, "': want HOST:PORT"));
  }
  std::string host(host_port.substr(0, colon));
  absl::string_view port_text = host_port.substr(colon + 1);
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", host_port, "': port must be 0..65535"));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* result = nullptr;
  std::string port_str = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_str.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("address '", host_port, "': cannot resolve: ", gai_strerror(rc)));
  }
  Endpoint e;
  std::memcpy(&e.address, result->ai_addr, result->ai_addrlen);
  e.length = result->ai_addrlen;
  freeaddrinfo(result);
  return e;
}

std::string FormatEndpoint(const sockaddr* address, socklen_t length) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    auto* in = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return absl::StrCat(host, ":", ntohs(in->sin_port));
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return absl::StrCat("[", host, "]:", ntohs(in6->sin6_port));
  }
  return "?";
}

absl::StatusOr<int> BindUdpSocket(const Endpoint& local) {
  int fd = socket(local.address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&local.address), local.length) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("bind ", FormatEndpoint(local), ": ", std::strerror(err)));
  }
  return fd;
}

absl::StatusOr<Endpoint> LocalEndpoint(int fd) {
  Endpoint e;
  e.length = sizeof(e.address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&e.address), &e.length) != 0) {
    return absl::UnavailableError(absl::StrCat("getsockname: ", std::strerror(errno)));
  }
  return e;
}

}  // namespace lightcone::wire
