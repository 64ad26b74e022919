#include "core/wire.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"

namespace lightcone::wire {
namespace {

// Byte offsets (docs/protocol.md).
constexpr size_t kChallengeLandmarkOffset = 4;
constexpr size_t kChallengeDeviceOffset = 20;
constexpr size_t kChallengeNonceOffset = 36;
constexpr size_t kChallengeSequenceOffset = 68;
constexpr size_t kChallengePaddingOffset = 76;
constexpr size_t kReplyDeviceOffset = 4;
constexpr size_t kReplyLandmarkOffset = 20;
constexpr size_t kReplyNonceOffset = 36;
constexpr size_t kReplySequenceOffset = 68;
constexpr size_t kReplyKeyIdOffset = 76;
constexpr size_t kReplySignatureOffset = 84;
constexpr size_t kHelloLandmarkOffset = 4;
constexpr size_t kHelloDeviceOffset = 20;

void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void PutHeader(uint8_t* p, MessageType type) {
  p[0] = kMagic[0];
  p[1] = kMagic[1];
  p[2] = kProtocolVersion;
  p[3] = static_cast<uint8_t>(type);
}

template <size_t N>
void Get(const uint8_t* p, std::array<uint8_t, N>* out) {
  std::memcpy(out->data(), p, N);
}

template <size_t N>
void Put(uint8_t* p, const std::array<uint8_t, N>& in) {
  std::memcpy(p, in.data(), N);
}

// Header, type and exact size checks shared by the Decode* functions.
DecodeError CheckFrame(std::span<const uint8_t> datagram, MessageType want, size_t want_bytes) {
  MessageType type;
  DecodeError e = PeekType(datagram, &type);
  if (e != DecodeError::kOk) return e;
  if (type != want) return DecodeError::kUnexpectedType;
  if (datagram.size() < want_bytes) return DecodeError::kTruncated;
  if (datagram.size() > want_bytes) return DecodeError::kOversized;
  return DecodeError::kOk;
}

}  // namespace

const char* DecodeErrorName(DecodeError error) {
  switch (error) {
    case DecodeError::kOk: return "ok";
    case DecodeError::kTruncated: return "truncated";
    case DecodeError::kOversized: return "oversized";
    case DecodeError::kBadMagic: return "bad_magic";
    case DecodeError::kUnknownVersion: return "unknown_version";
    case DecodeError::kUnknownType: return "unknown_type";
    case DecodeError::kUnexpectedType: return "unexpected_type";
    case DecodeError::kNonZeroPadding: return "nonzero_padding";
  }
  return "unknown";
}

DecodeError PeekType(std::span<const uint8_t> datagram, MessageType* type) {
  if (datagram.size() > kMaxDatagramBytes) return DecodeError::kOversized;
  if (datagram.size() < kHeaderBytes) return DecodeError::kTruncated;
  if (datagram[0] != kMagic[0] || datagram[1] != kMagic[1]) return DecodeError::kBadMagic;
  if (datagram[2] != kProtocolVersion) return DecodeError::kUnknownVersion;
  uint8_t t = datagram[3];
  if (t < static_cast<uint8_t>(MessageType::kChallenge) ||
      t > static_cast<uint8_t>(MessageType::kHello)) {
    return DecodeError::kUnknownType;
  }
  *type = static_cast<MessageType>(t);
  return DecodeError::kOk;
}

DecodeError DecodeChallenge(std::span<const uint8_t> datagram, Challenge* challenge) {
  DecodeError e = CheckFrame(datagram, MessageType::kChallenge, kChallengeBytes);
  if (e != DecodeError::kOk) return e;
  const uint8_t* p = datagram.data();
  for (size_t i = kChallengePaddingOffset; i < kChallengeBytes; ++i) {
    if (p[i] != 0) return DecodeError::kNonZeroPadding;
  }
  Get(p + kChallengeLandmarkOffset, &challenge->landmark_id);
  Get(p + kChallengeDeviceOffset, &challenge->device_id);
  Get(p + kChallengeNonceOffset, &challenge->nonce);
  challenge->sequence = GetU64(p + kChallengeSequenceOffset);
  return DecodeError::kOk;
}

DecodeError DecodeReply(std::span<const uint8_t> datagram, Reply* reply) {
  DecodeError e = CheckFrame(datagram, MessageType::kReply, kReplyBytes);
  if (e != DecodeError::kOk) return e;
  const uint8_t* p = datagram.data();
  Get(p + kReplyDeviceOffset, &reply->device_id);
  Get(p + kReplyLandmarkOffset, &reply->landmark_id);
  Get(p + kReplyNonceOffset, &reply->nonce);
  reply->sequence = GetU64(p + kReplySequenceOffset);
  reply->key_id = GetU64(p + kReplyKeyIdOffset);
  Get(p + kReplySignatureOffset, &reply->signature);
  return DecodeError::kOk;
}

DecodeError DecodeHello(std::span<const uint8_t> datagram, Hello* hello) {
  DecodeError e = CheckFrame(datagram, MessageType::kHello, kHelloBytes);
  if (e != DecodeError::kOk) return e;
  Get(datagram.data() + kHelloLandmarkOffset, &hello->landmark_id);
  Get(datagram.data() + kHelloDeviceOffset, &hello->device_id);
  return DecodeError::kOk;
}

void EncodeChallenge(const Challenge& challenge, std::span<uint8_t, kChallengeBytes> out) {
  uint8_t* p = out.data();
  std::memset(p, 0, kChallengeBytes);
  PutHeader(p, MessageType::kChallenge);
  Put(p + kChallengeLandmarkOffset, challenge.landmark_id);
  Put(p + kChallengeDeviceOffset, challenge.device_id);
  Put(p + kChallengeNonceOffset, challenge.nonce);
  PutU64(p + kChallengeSequenceOffset, challenge.sequence);
}

void EncodeReply(const Reply& reply, std::span<uint8_t, kReplyBytes> out) {
  uint8_t* p = out.data();
  PutHeader(p, MessageType::kReply);
  Put(p + kReplyDeviceOffset, reply.device_id);
  Put(p + kReplyLandmarkOffset, reply.landmark_id);
  Put(p + kReplyNonceOffset, reply.nonce);
  PutU64(p + kReplySequenceOffset, reply.sequence);
  PutU64(p + kReplyKeyIdOffset, reply.key_id);
  Put(p + kReplySignatureOffset, reply.signature);
}

void EncodeHello(const Hello& hello, std::span<uint8_t, kHelloBytes> out) {
  uint8_t* p = out.data();
  PutHeader(p, MessageType::kHello);
  Put(p + kHelloLandmarkOffset, hello.landmark_id);
  Put(p + kHelloDeviceOffset, hello.device_id);
}

void ReplySignedMessage(const Reply& reply,
                        std::span<uint8_t, kReplySignedMessageBytes> out) {
  std::memcpy(out.data(), kReplySignatureDomainTag, sizeof(kReplySignatureDomainTag));
  uint8_t encoded[kReplyBytes];
  EncodeReply(reply, encoded);
  std::memcpy(out.data() + sizeof(kReplySignatureDomainTag), encoded, kReplySignedBytes);
}

void SignReply(const Challenge& challenge, const crypto::SigningKey& key, Reply* reply) {
  reply->device_id = challenge.device_id;
  reply->landmark_id = challenge.landmark_id;
  reply->nonce = challenge.nonce;
  reply->sequence = challenge.sequence;
  reply->key_id = key.key_id();
  uint8_t message[kReplySignedMessageBytes];
  ReplySignedMessage(*reply, message);
  key.Sign(message, &reply->signature);
}

bool VerifyReply(const Reply& reply, const crypto::PublicKey& public_key) {
  uint8_t message[kReplySignedMessageBytes];
  ReplySignedMessage(reply, message);
  return crypto::VerifySignature(public_key, message, reply.signature);
}

absl::StatusOr<Id> ParseId(absl::string_view text) {
  absl::string_view rest = text;
  if (absl::StartsWithIgnoreCase(rest, "GPU-")) rest.remove_prefix(4);
  std::string hex;
  hex.reserve(32);
  if (rest.size() == 36) {
    for (size_t i = 0; i < rest.size(); ++i) {
      bool dash_position = (i == 8 || i == 13 || i == 18 || i == 23);
      if (dash_position != (rest[i] == '-')) {
        return absl::InvalidArgumentError(
            absl::StrCat("id '", text, "': not a UUID (8-4-4-4-12 hex digits)"));
      }
      if (!dash_position) hex.push_back(rest[i]);
    }
  } else if (rest.size() == 32) {
    hex = std::string(rest);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "id '", text, "': want a UUID (8-4-4-4-12 hex digits) or 32 hex digits"));
  }
  Id id;
  if (absl::Status s = crypto::HexDecode(hex, id); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("id '", text, "': ", s.message()));
  }
  return id;
}

std::string FormatId(const Id& id) {
  std::string hex = crypto::HexEncode(id);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20, 12));
}

}  // namespace lightcone::wire
