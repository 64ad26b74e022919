// UDP endpoints for the wire protocol: "HOST:PORT" parsing and resolution, formatting, and
// bound sockets. IPv4 and IPv6 ("[::1]:7447").
#ifndef LIGHTCONE_CORE_WIRE_ADDRESS_H_
#define LIGHTCONE_CORE_WIRE_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightcone::wire {

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
};

// Resolves "HOST:PORT" (HOST a name, an IPv4 address or a bracketed IPv6 address) to the
// first UDP address. Errors: kInvalidArgument for a malformed text, kNotFound when the name
// does not resolve.
absl::StatusOr<Endpoint> ResolveEndpoint(absl::string_view host_port);

// "1.2.3.4:5" or "[::1]:5".
std::string FormatEndpoint(const sockaddr* address, socklen_t length);
inline std::string FormatEndpoint(const Endpoint& e) {
  return FormatEndpoint(reinterpret_cast<const sockaddr*>(&e.address), e.length);
}

// A UDP socket bound to `local` (port 0 picks a free port). Returns the descriptor, which
// the caller owns. Errors: kUnavailable with the errno text.
absl::StatusOr<int> BindUdpSocket(const Endpoint& local);

// The address a socket is bound to (to read back port 0).
absl::StatusOr<Endpoint> LocalEndpoint(int fd);

}  // namespace lightcone::wire

#endif  // LIGHTCONE_CORE_WIRE_ADDRESS_H_
