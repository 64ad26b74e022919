#include "core/wire.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace lightcone::wire {
namespace {

Challenge SampleChallenge() {
  Challenge c;
  c.landmark_id.fill(0x11);
  c.device_id.fill(0x22);
  crypto::RandomBytes(c.nonce);
  c.sequence = 0x0102030405060708ULL;
  return c;
}

std::vector<uint8_t> EncodedChallenge(const Challenge& c) {
  std::vector<uint8_t> out(kChallengeBytes);
  EncodeChallenge(c, std::span<uint8_t, kChallengeBytes>(out.data(), kChallengeBytes));
  return out;
}

TEST(Wire, ReplyIsNeverLargerThanChallenge) {
  EXPECT_LE(kReplyBytes, kChallengeBytes);
  EXPECT_LE(kHelloBytes, kChallengeBytes);
}

TEST(Wire, ChallengeRoundTrips) {
  Challenge c = SampleChallenge();
  auto bytes = EncodedChallenge(c);
  EXPECT_EQ(bytes[0], 'L');
  EXPECT_EQ(bytes[2], kProtocolVersion);
  EXPECT_EQ(bytes[3], 1);
  EXPECT_EQ(bytes[68], 0x01);  // sequence is big-endian at offset 68
  EXPECT_EQ(bytes[75], 0x08);
  Challenge d;
  ASSERT_EQ(DecodeChallenge(bytes, &d), DecodeError::kOk);
  EXPECT_EQ(d.landmark_id, c.landmark_id);
  EXPECT_EQ(d.device_id, c.device_id);
  EXPECT_EQ(d.nonce, c.nonce);
  EXPECT_EQ(d.sequence, c.sequence);
}

TEST(Wire, SignedReplyRoundTripsAndVerifies) {
  auto key = crypto::SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  Challenge c = SampleChallenge();
  Reply r;
  SignReply(c, *key, &r);
  EXPECT_EQ(r.key_id, key->key_id());
  uint8_t bytes[kReplyBytes];
  EncodeReply(r, bytes);
  Reply d;
  ASSERT_EQ(DecodeReply(bytes, &d), DecodeError::kOk);
  EXPECT_EQ(d.nonce, c.nonce);
  EXPECT_EQ(d.sequence, c.sequence);
  EXPECT_EQ(d.device_id, c.device_id);
  EXPECT_EQ(d.landmark_id, c.landmark_id);
  EXPECT_TRUE(VerifyReply(d, key->public_key()));
}

TEST(Wire, SignatureCoversEveryField) {
  auto key = crypto::SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  Reply r;
  SignReply(SampleChallenge(), *key, &r);
  uint8_t bytes[kReplyBytes];
  EncodeReply(r, bytes);
  // Flipping any byte of the reply (header, ids, nonce, sequence, key id, signature) either
  // breaks decoding or breaks the signature.
  for (size_t i = 0; i < kReplyBytes; ++i) {
    uint8_t copy[kReplyBytes];
    std::copy(bytes, bytes + kReplyBytes, copy);
    copy[i] ^= 0x01;
    Reply d;
    if (DecodeReply(copy, &d) != DecodeError::kOk) continue;
    EXPECT_FALSE(VerifyReply(d, key->public_key())) << "byte " << i;
  }
}

TEST(Wire, OtherKeyDoesNotVerify) {
  auto key = crypto::SigningKey::Generate();
  auto other = crypto::SigningKey::Generate();
  ASSERT_TRUE(key.ok() && other.ok());
  Reply r;
  SignReply(SampleChallenge(), *key, &r);
  EXPECT_FALSE(VerifyReply(r, other->public_key()));
}

TEST(Wire, RejectsTruncated) {
  auto bytes = EncodedChallenge(SampleChallenge());
  Challenge d;
  EXPECT_EQ(DecodeChallenge(std::span<const uint8_t>(bytes.data(), kChallengeBytes - 1), &d),
            DecodeError::kTruncated);
  EXPECT_EQ(DecodeChallenge(std::span<const uint8_t>(bytes.data(), 3), &d),
            DecodeError::kTruncated);
  EXPECT_EQ(DecodeChallenge({}, &d), DecodeError::kTruncated);
}

TEST(Wire, RejectsTrailingBytesAndOversized) {
  auto bytes = EncodedChallenge(SampleChallenge());
  bytes.push_back(0);
  Challenge d;
  EXPECT_EQ(DecodeChallenge(bytes, &d), DecodeError::kOversized);
  std::vector<uint8_t> huge(kMaxDatagramBytes + 1, 0);
  MessageType type;
  EXPECT_EQ(PeekType(huge, &type), DecodeError::kOversized);
}

TEST(Wire, RejectsBadMagicVersionAndType) {
  auto bytes = EncodedChallenge(SampleChallenge());
  Challenge d;
  auto magic = bytes;
  magic[0] = 'X';
  EXPECT_EQ(DecodeChallenge(magic, &d), DecodeError::kBadMagic);
  auto version = bytes;
  version[2] = kProtocolVersion + 1;
  EXPECT_EQ(DecodeChallenge(version, &d), DecodeError::kUnknownVersion);
  auto type = bytes;
  type[3] = 0;
  EXPECT_EQ(DecodeChallenge(type, &d), DecodeError::kUnknownType);
  type[3] = 4;
  EXPECT_EQ(DecodeChallenge(type, &d), DecodeError::kUnknownType);
  Reply r;
  EXPECT_EQ(DecodeReply(bytes, &r), DecodeError::kUnexpectedType);
  Hello h;
  EXPECT_EQ(DecodeHello(bytes, &h), DecodeError::kUnexpectedType);
}

TEST(Wire, RejectsNonZeroPadding) {
  auto bytes = EncodedChallenge(SampleChallenge());
  bytes[kChallengeBytes - 1] = 1;
  Challenge d;
  EXPECT_EQ(DecodeChallenge(bytes, &d), DecodeError::kNonZeroPadding);
}

TEST(Wire, HelloRoundTrips) {
  Hello h;
  h.landmark_id.fill(3);
  h.device_id.fill(4);
  uint8_t bytes[kHelloBytes];
  EncodeHello(h, bytes);
  Hello d;
  ASSERT_EQ(DecodeHello(bytes, &d), DecodeError::kOk);
  EXPECT_EQ(d.landmark_id, h.landmark_id);
  EXPECT_EQ(d.device_id, h.device_id);
  EXPECT_EQ(DecodeHello(std::span<const uint8_t>(bytes, kHelloBytes - 1), &d),
            DecodeError::kTruncated);
}

TEST(Wire, DecodeErrorNamesAreDistinct) {
  std::set<std::string> names;
  for (size_t i = 0; i < kNumDecodeErrors; ++i) {
    names.insert(DecodeErrorName(static_cast<DecodeError>(i)));
  }
  EXPECT_EQ(names.size(), kNumDecodeErrors);
  EXPECT_STREQ(DecodeErrorName(DecodeError::kTruncated), "truncated");
}

TEST(WireId, ParsesUuidGpuPrefixAndBareHex) {
  auto a = ParseId("GPU-0123abcd-4567-89ab-cdef-0123456789ab");
  auto b = ParseId("0123ABCD-4567-89ab-cdef-0123456789ab");
  auto c = ParseId("0123abcd456789abcdef0123456789ab");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_EQ(FormatId(*a), "0123abcd-4567-89ab-cdef-0123456789ab");
}

TEST(WireId, RejectsMalformed) {
  EXPECT_EQ(ParseId("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseId("0123abcd-4567-89ab-cdef-0123456789a").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseId("0123abcd+4567-89ab-cdef-0123456789ab").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseId("zz23abcd456789abcdef0123456789ab").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::wire
