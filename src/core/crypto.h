// Ed25519 signing keys held in locked memory, signature checks, key ids and hex helpers
// (libsodium). Private keys never leave sodium_malloc'd, mlock'd pages and are wiped when
// their SigningKey is destroyed.
#ifndef LIGHTCONE_CORE_CRYPTO_H_
#define LIGHTCONE_CORE_CRYPTO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightcone::crypto {

inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSeedBytes = 32;
inline constexpr size_t kSecretKeyBytes = 64;
inline constexpr size_t kSignatureBytes = 64;

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;
// A short public name for a key: the first 8 bytes (big-endian) of
// BLAKE2b-256("lightcone/key-id/v1" || public key). Not secret, not a security boundary:
// the signature check against the full public key is.
using KeyId = uint64_t;

// Initializes libsodium once; every other function here calls it. Thread-safe.
absl::Status InitSodium();

KeyId ComputeKeyId(const PublicKey& public_key);

// Fills `out` from the operating system's CSPRNG.
void RandomBytes(std::span<uint8_t> out);

// True when `signature` is a valid Ed25519 signature of `message` by `public_key`.
bool VerifySignature(const PublicKey& public_key, std::span<const uint8_t> message,
                     const Signature& signature);

// An Ed25519 key pair whose secret half lives in sodium_malloc'd memory (guard pages,
// mlock'd, read-only after creation, zeroed on free). Move-only. Sign() is thread-safe,
// allocation-free and may be called concurrently from several threads.
class SigningKey {
 public:
  // A fresh key pair from the CSPRNG.
  static absl::StatusOr<SigningKey> Generate();
  // The key pair derived from a 32-byte seed (used for the landmark's stored key).
  static absl::StatusOr<SigningKey> FromSeed(std::span<const uint8_t, kSeedBytes> seed);

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  const PublicKey& public_key() const { return public_key_; }
  KeyId key_id() const { return key_id_; }

  // Writes the detached signature of `message` to `*signature`.
  // REQUIRES: this key was not moved from.
  void Sign(std::span<const uint8_t> message, Signature* signature) const;

 private:
  SigningKey() = default;
  void Free();

  uint8_t* secret_ = nullptr;  // kSecretKeyBytes in sodium_malloc memory
  PublicKey public_key_{};
  KeyId key_id_ = 0;
};

// Lower-case hex of `bytes`.
std::string HexEncode(std::span<const uint8_t> bytes);
// Decodes exactly out.size() bytes of hex (either case) into `out`.
// Errors: kInvalidArgument on a wrong length or a non-hex character.
absl::Status HexDecode(absl::string_view hex, std::span<uint8_t> out);

absl::StatusOr<PublicKey> ParsePublicKey(absl::string_view hex);
std::string FormatKeyId(KeyId key_id);  // 16 hex digits
absl::StatusOr<KeyId> ParseKeyId(absl::string_view hex);

}  // namespace lightcone::crypto

#endif  // LIGHTCONE_CORE_CRYPTO_H_
