#include "core/crypto.h"

#include <cstring>

#include "gtest/gtest.h"

namespace lightcone::crypto {
namespace {

TEST(SigningKey, SignsAndVerifies) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok()) << key.status();
  const uint8_t message[] = {1, 2, 3, 4};
  Signature sig;
  key->Sign(message, &sig);
  EXPECT_TRUE(VerifySignature(key->public_key(), message, sig));
  Signature bad = sig;
  bad[10] ^= 1;
  EXPECT_FALSE(VerifySignature(key->public_key(), message, bad));
  const uint8_t other[] = {1, 2, 3, 5};
  EXPECT_FALSE(VerifySignature(key->public_key(), other, sig));
}

TEST(SigningKey, GeneratedKeysDiffer) {
  auto a = SigningKey::Generate();
  auto b = SigningKey::Generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->public_key(), b->public_key());
  EXPECT_NE(a->key_id(), b->key_id());
}

TEST(SigningKey, FromSeedIsDeterministic) {
  std::array<uint8_t, kSeedBytes> seed{};
  seed[0] = 7;
  auto a = SigningKey::FromSeed(seed);
  auto b = SigningKey::FromSeed(seed);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->public_key(), b->public_key());
  EXPECT_EQ(a->key_id(), ComputeKeyId(a->public_key()));
}

TEST(SigningKey, MoveKeepsKeyUsable) {
  auto a = SigningKey::Generate();
  ASSERT_TRUE(a.ok());
  PublicKey pub = a->public_key();
  SigningKey moved = *std::move(a);
  const uint8_t message[] = {9};
  Signature sig;
  moved.Sign(message, &sig);
  EXPECT_TRUE(VerifySignature(pub, message, sig));
}

TEST(Hex, RoundTrips) {
  const uint8_t bytes[] = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(HexEncode(bytes), "00abff10");
  uint8_t out[4];
  ASSERT_TRUE(HexDecode("00ABff10", out).ok());
  EXPECT_EQ(std::memcmp(out, bytes, 4), 0);
}

TEST(Hex, RejectsWrongLengthAndCharacters) {
  uint8_t out[4];
  EXPECT_EQ(HexDecode("00ab", out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HexDecode("00abff1g", out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePublicKey("abcd").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyId, FormatsAndParses) {
  auto id = ParseKeyId(FormatKeyId(0x0123456789abcdefULL));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0x0123456789abcdefULL);
  EXPECT_EQ(FormatKeyId(1), "0000000000000001");
  EXPECT_EQ(ParseKeyId("12").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::crypto
