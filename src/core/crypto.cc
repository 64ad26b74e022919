#include "core/crypto.h"

#include <sodium.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lightcone::crypto {
namespace {

constexpr char kKeyIdDomainTag[] = "lightcone/key-id/v1";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::Status InitSodium() {
  static const int result = sodium_init();
  if (result < 0) return absl::InternalError("libsodium: sodium_init failed");
  return absl::OkStatus();
}

KeyId ComputeKeyId(const PublicKey& public_key) {
  uint8_t hash[32];
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, sizeof(hash));
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(kKeyIdDomainTag),
                            sizeof(kKeyIdDomainTag) - 1);
  crypto_generichash_update(&state, public_key.data(), public_key.size());
  crypto_generichash_final(&state, hash, sizeof(hash));
  KeyId id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | hash[i];
  return id;
}

void RandomBytes(std::span<uint8_t> out) {
  (void)InitSodium();
  randombytes_buf(out.data(), out.size());
}

bool VerifySignature(const PublicKey& public_key, std::span<const uint8_t> message,
                     const Signature& signature) {
  (void)InitSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

absl::StatusOr<SigningKey> SigningKey::Generate() {
  if (absl::Status s = InitSodium(); !s.ok()) return s;  // sodium_malloc needs it
  uint8_t* seed = static_cast<uint8_t*>(sodium_malloc(kSeedBytes));
  if (seed == nullptr) return absl::ResourceExhaustedError("sodium_malloc failed for a seed");
  RandomBytes(std::span<uint8_t>(seed, kSeedBytes));
  auto key = FromSeed(std::span<const uint8_t, kSeedBytes>(seed, kSeedBytes));
  sodium_free(seed);  // zeroes before freeing
  return key;
}

absl::StatusOr<SigningKey> SigningKey::FromSeed(std::span<const uint8_t, kSeedBytes> seed) {
  if (absl::Status s = InitSodium(); !s.ok()) return s;
  SigningKey key;
  key.secret_ = static_cast<uint8_t*>(sodium_malloc(kSecretKeyBytes));
  if (key.secret_ == nullptr) {
    return absl::ResourceExhaustedError(
        "sodium_malloc failed for a signing key (locked-memory limit, RLIMIT_MEMLOCK?)");
  }
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_, seed.data());
  sodium_mprotect_readonly(key.secret_);
  key.key_id_ = ComputeKeyId(key.public_key_);
  return key;
}

SigningKey::SigningKey(SigningKey&& other) noexcept
    : secret_(std::exchange(other.secret_, nullptr)),
      public_key_(other.public_key_),
      key_id_(other.key_id_) {}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    Free();
    secret_ = std::exchange(other.secret_, nullptr);
    public_key_ = other.public_key_;
    key_id_ = other.key_id_;
  }
  return *this;
}

SigningKey::~SigningKey() { Free(); }

void SigningKey::Free() {
  if (secret_ != nullptr) {
    sodium_mprotect_readwrite(secret_);
    sodium_free(secret_);  // zeroes and munlocks
    secret_ = nullptr;
  }
}

void SigningKey::Sign(std::span<const uint8_t> message, Signature* signature) const {
  crypto_sign_detached(signature->data(), nullptr, message.data(), message.size(), secret_);
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

absl::Status HexDecode(absl::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != out.size() * 2) {
    return absl::InvalidArgumentError(absl::StrCat("hex: expected ", out.size() * 2,
                                                   " hex digits, got ", hex.size()));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("hex: non-hex character near offset ", 2 * i));
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return absl::OkStatus();
}

absl::StatusOr<PublicKey> ParsePublicKey(absl::string_view hex) {
  PublicKey key;
  if (absl::Status s = HexDecode(hex, key); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("public key: ", s.message(), " (want 64 hex digits)"));
  }
  return key;
}

std::string FormatKeyId(KeyId key_id) {
  uint8_t bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = key_id & 0xff;
    key_id >>= 8;
  }
  return HexEncode(bytes);
}

absl::StatusOr<KeyId> ParseKeyId(absl::string_view hex) {
  uint8_t bytes[8];
  if (absl::Status s = HexDecode(hex, bytes); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("key id: ", s.message()));
  }
  KeyId id = 0;
  for (uint8_t b : bytes) id = (id << 8) | b;
  return id;
}

}  // namespace lightcone::crypto
