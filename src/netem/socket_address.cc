#include "netem/socket_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace lightcone::netem {

SocketAddress::SocketAddress(const sockaddr* addr, socklen_t len) {
  std::memset(&storage_, 0, sizeof(storage_));
  if (len > sizeof(storage_)) len = sizeof(storage_);
  std::memcpy(&storage_, addr, len);
  length_ = len;
}

absl::StatusOr<SocketAddress> SocketAddress::Parse(absl::string_view host_port) {
  std::string host;
  absl::string_view port_text;
  if (!host_port.empty() && host_port.front() == '[') {
    size_t close = host_port.find(']');
    if (close == absl::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("address '", host_port, "' is not [IPV6]:PORT"));
    }
    host = std::string(host_port.substr(1, close - 1));
    port_text = host_port.substr(close + 2);
  } else {
    size_t colon = host_port.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("address '", host_port, "' is not HOST:PORT"));
    }
    host = std::string(host_port.substr(0, colon));
    if (host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("address '", host_port, "': write IPv6 hosts as [ADDR]:PORT"));
    }
    port_text = host_port.substr(colon + 1);
  }
  uint32_t port = 0;
  if (port_text.empty() || !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", host_port, "': port '", port_text, "' is not 0..65535"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  std::string port_string = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_string.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    return absl::NotFoundError(absl::StrCat("address '", host_port, "': host '", host,
                                            "' does not resolve: ", gai_strerror(rc)));
  }
  SocketAddress address(result->ai_addr, result->ai_addrlen);
  freeaddrinfo(result);
  return address;
}

uint16_t SocketAddress::port() const {
  if (storage_.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (storage_.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {0};
  if (storage_.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
              sizeof(text));
    return absl::StrCat(text, ":", port());
  }
  if (storage_.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
              sizeof(text));
    return absl::StrCat("[", text, "]:", port());
  }
  return "(unspecified)";
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  return a.length_ == b.length_ && std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
}

}  // namespace lightcone::netem
