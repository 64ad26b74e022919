// The key-binding nonce of assurance level L1 (DESIGN.md §5): the 32-byte nonce the agent
// passes to the GPU's attestation report so that the report vouches for one session key
// and one server challenge.
//
//   nonce = SHA-256( u32le(len(tag)) || tag
//                 || u32le(len(session_public_key)) || session_public_key
//                 || u32le(len(server_nonce)) || server_nonce )
//
// with tag = kKeyBindingDomainTag. Length prefixes make the encoding unambiguous; the
// domain tag keeps the hash from colliding with any other use of the same inputs. The
// verifier (server or auditor) recomputes it from the key and nonce it saw and compares it
// with the nonce inside the signed report.
#ifndef LIGHTCONE_AGENT_GPU_KEY_BINDING_H_
#define LIGHTCONE_AGENT_GPU_KEY_BINDING_H_

#include <array>
#include <cstdint>
#include <span>

#include "absl/strings/string_view.h"

namespace lightcone::agent {

inline constexpr absl::string_view kKeyBindingDomainTag = "lightcone/v1/gpu-key-binding";
inline constexpr size_t kKeyBindingNonceBytes = 32;

// Returns the nonce binding `session_public_key` to `server_nonce`. Thread-safe.
std::array<uint8_t, kKeyBindingNonceBytes> KeyBindingNonce(
    std::span<const uint8_t> session_public_key, std::span<const uint8_t> server_nonce);

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_GPU_KEY_BINDING_H_
