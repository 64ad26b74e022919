// SocketAddress: an IPv4 or IPv6 UDP endpoint (address + port) held in a sockaddr_storage.
// Value type, cheap to copy, hashable (usable as a flat_hash_map key). Thread-compatible.
#ifndef LIGHTCONE_NETEM_SOCKET_ADDRESS_H_
#define LIGHTCONE_NETEM_SOCKET_ADDRESS_H_

#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightcone::netem {

class SocketAddress {
 public:
  // An empty (AF_UNSPEC) address.
  SocketAddress() { std::memset(&storage_, 0, sizeof(storage_)); }

  // Copies `len` bytes of `addr`. REQUIRES: len <= sizeof(sockaddr_storage).
  SocketAddress(const sockaddr* addr, socklen_t len);

  // Parses "HOST:PORT" ("127.0.0.1:9000", "[::1]:9000", "localhost:9000"). The host is
  // resolved with getaddrinfo (first UDP result). Port 0 is allowed (bind picks one).
  // InvalidArgument when the text is not HOST:PORT or the port is out of range;
  // NotFound when the host does not resolve.
  static absl::StatusOr<SocketAddress> Parse(absl::string_view host_port);

  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* mutable_sockaddr_ptr() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  void set_length(socklen_t length) { length_ = length; }

  // "127.0.0.1:9000" or "[::1]:9000"; "(unspecified)" for an empty address.
  std::string ToString() const;

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

  template <typename H>
  friend H AbslHashValue(H h, const SocketAddress& a) {
    return H::combine_contiguous(std::move(h), reinterpret_cast<const unsigned char*>(&a.storage_),
                                 a.length_);
  }

 private:
  sockaddr_storage storage_;
  socklen_t length_ = 0;
};

}  // namespace lightcone::netem

#endif  // LIGHTCONE_NETEM_SOCKET_ADDRESS_H_
