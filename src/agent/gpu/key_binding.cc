#include "agent/gpu/key_binding.h"

#include <sodium.h>

namespace lightcone::agent {
namespace {

void UpdateWithLength(crypto_hash_sha256_state* state, const uint8_t* data, size_t size) {
  const uint32_t n = static_cast<uint32_t>(size);
  const uint8_t prefix[4] = {static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8),
                             static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 24)};
  crypto_hash_sha256_update(state, prefix, sizeof(prefix));
  crypto_hash_sha256_update(state, data, size);
}

}  // namespace

std::array<uint8_t, kKeyBindingNonceBytes> KeyBindingNonce(
    std::span<const uint8_t> session_public_key, std::span<const uint8_t> server_nonce) {
  static_assert(crypto_hash_sha256_BYTES == kKeyBindingNonceBytes);
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  UpdateWithLength(&state, reinterpret_cast<const uint8_t*>(kKeyBindingDomainTag.data()),
                   kKeyBindingDomainTag.size());
  UpdateWithLength(&state, session_public_key.data(), session_public_key.size());
  UpdateWithLength(&state, server_nonce.data(), server_nonce.size());
  std::array<uint8_t, kKeyBindingNonceBytes> out;
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

}  // namespace lightcone::agent
