// The timed-challenge wire protocol (docs/protocol.md): fixed-size, versioned binary
// datagrams between a landmark and an agent.
//
//   challenge  landmark -> agent   160 bytes (padded so that no reply is larger)
//   reply      agent -> landmark   148 bytes, Ed25519-signed by the device's session key
//   hello      agent -> landmark    36 bytes, opens/keeps alive an agent-initiated flow
//
// Decoding is strict and allocation-free: a datagram is accepted only with the right magic,
// a known version and type, the exact size of its type and zero padding. Every rejection
// has a DecodeError so that callers can count it. All functions here are thread-safe.
#ifndef LIGHTCONE_CORE_WIRE_H_
#define LIGHTCONE_CORE_WIRE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto.h"

namespace lightcone::wire {

inline constexpr uint8_t kMagic[2] = {'L', 'C'};
inline constexpr uint8_t kProtocolVersion = 1;

inline constexpr size_t kIdBytes = 16;
inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kHeaderBytes = 4;       // magic(2) version(1) type(1)
inline constexpr size_t kChallengeBytes = 160;
inline constexpr size_t kReplyBytes = 148;
inline constexpr size_t kHelloBytes = 36;
// Receive buffers are this large; anything bigger is rejected as oversized.
inline constexpr size_t kMaxDatagramBytes = 512;
// The reply's signed message: kReplySignatureDomainTag (with its NUL) then reply bytes
// [0, kReplySignedBytes).
inline constexpr char kReplySignatureDomainTag[] = "lightcone/challenge-reply/v1";
inline constexpr size_t kReplySignedBytes = 84;
inline constexpr size_t kReplySignedMessageBytes =
    sizeof(kReplySignatureDomainTag) + kReplySignedBytes;

static_assert(kReplyBytes <= kChallengeBytes, "a reply must never be larger than a challenge");
static_assert(kReplySignedBytes + crypto::kSignatureBytes == kReplyBytes);

using Id = std::array<uint8_t, kIdBytes>;  // a device id (GPU UUID) or a landmark id
using Nonce = std::array<uint8_t, kNonceBytes>;

enum class MessageType : uint8_t { kChallenge = 1, kReply = 2, kHello = 3 };

struct Challenge {
  Id landmark_id{};
  Id device_id{};
  Nonce nonce{};
  uint64_t sequence = 0;
};

struct Reply {
  Id device_id{};
  Id landmark_id{};
  Nonce nonce{};
  uint64_t sequence = 0;
  crypto::KeyId key_id = 0;
  crypto::Signature signature{};
};

struct Hello {
  Id landmark_id{};
  Id device_id{};
};

// Why a datagram was rejected by the decoder. kOk is not an error.
enum class DecodeError : uint8_t {
  kOk = 0,
  kTruncated,        // shorter than its type requires (or than the header)
  kOversized,        // longer than its type allows (trailing bytes) or than kMaxDatagramBytes
  kBadMagic,         // not a Lightcone datagram
  kUnknownVersion,   // a version this build does not speak
  kUnknownType,      // a message type this version does not define
  kUnexpectedType,   // a defined type, but not the one the caller accepts
  kNonZeroPadding,   // challenge padding must be all zero
};
inline constexpr size_t kNumDecodeErrors = 8;

// A stable snake_case name for counters and logs ("truncated", "bad_magic", ...).
const char* DecodeErrorName(DecodeError error);

// Checks the header and returns the message type in `*type`. Does not check the size of
// the body beyond the header.
DecodeError PeekType(std::span<const uint8_t> datagram, MessageType* type);

DecodeError DecodeChallenge(std::span<const uint8_t> datagram, Challenge* challenge);
DecodeError DecodeReply(std::span<const uint8_t> datagram, Reply* reply);
DecodeError DecodeHello(std::span<const uint8_t> datagram, Hello* hello);

void EncodeChallenge(const Challenge& challenge, std::span<uint8_t, kChallengeBytes> out);
void EncodeReply(const Reply& reply, std::span<uint8_t, kReplyBytes> out);
void EncodeHello(const Hello& hello, std::span<uint8_t, kHelloBytes> out);

// The exact message a reply's signature covers (domain tag, header and all fields but the
// signature).
void ReplySignedMessage(const Reply& reply,
                        std::span<uint8_t, kReplySignedMessageBytes> out);

// Builds the reply to `challenge` signed by `key` (device id, landmark id, nonce and
// sequence copied from the challenge). Allocation-free.
void SignReply(const Challenge& challenge, const crypto::SigningKey& key, Reply* reply);

// True when reply.signature is `public_key`'s signature over ReplySignedMessage(reply).
bool VerifyReply(const Reply& reply, const crypto::PublicKey& public_key);

// Ids are written as UUIDs: "8-4-4-4-12" hex digits, lower case. Parsing also accepts an
// NVML-style "GPU-" prefix and 32 bare hex digits.
absl::StatusOr<Id> ParseId(absl::string_view text);
std::string FormatId(const Id& id);

}  // namespace lightcone::wire

#endif  // LIGHTCONE_CORE_WIRE_H_
