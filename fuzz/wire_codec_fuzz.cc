// Fuzzes the wire decoders: any input either decodes or is rejected with a reason, never
// crashes; an accepted datagram re-encodes to the same bytes (decoding is strict, so there
// is exactly one encoding); the measurement-batch JSON parser never crashes either.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "core/wire.h"
#include "core/wire_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lightcone::wire;  // NOLINT
  std::span<const uint8_t> in(data, size);
  MessageType type;
  DecodeError peek = PeekType(in, &type);
  Challenge c;
  if (DecodeChallenge(in, &c) == DecodeError::kOk) {
    uint8_t out[kChallengeBytes];
    EncodeChallenge(c, out);
    if (size != kChallengeBytes || std::memcmp(out, data, size) != 0) std::abort();
    if (peek != DecodeError::kOk || type != MessageType::kChallenge) std::abort();
  }
  Reply r;
  if (DecodeReply(in, &r) == DecodeError::kOk) {
    uint8_t out[kReplyBytes];
    EncodeReply(r, out);
    if (size != kReplyBytes || std::memcmp(out, data, size) != 0) std::abort();
  }
  Hello h;
  if (DecodeHello(in, &h) == DecodeError::kOk) {
    uint8_t out[kHelloBytes];
    EncodeHello(h, out);
    if (size != kHelloBytes || std::memcmp(out, data, size) != 0) std::abort();
  }
  if (size < 4096) {
    auto batch = BatchFromJsonLine(absl::string_view(reinterpret_cast<const char*>(data), size));
    if (batch.ok()) (void)VerifyBatch(*batch);
  }
  return 0;
}
