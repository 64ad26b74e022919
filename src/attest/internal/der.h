// Minimal DER reader and writer for the few ASN.1 structures the attestation code handles
// itself (the DICE TcbInfo extension). Certificates are parsed by OpenSSL, not here.
//
// The reader accepts only definite lengths and single-byte tags, never reads past its
// span and never allocates.
#ifndef LIGHTCONE_ATTEST_INTERNAL_DER_H_
#define LIGHTCONE_ATTEST_INTERNAL_DER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace lightcone::attest::internal {

inline constexpr uint8_t kDerInteger = 0x02;
inline constexpr uint8_t kDerOctetString = 0x04;
inline constexpr uint8_t kDerOid = 0x06;
inline constexpr uint8_t kDerUtf8String = 0x0c;
inline constexpr uint8_t kDerSequence = 0x30;
// Longest content length the reader accepts (a certificate extension is far smaller).
inline constexpr size_t kMaxDerContentBytes = 1 << 20;

struct DerElement {
  uint8_t tag = 0;
  absl::Span<const uint8_t> content;
};

// Reads consecutive DER elements from a span.
class DerReader {
 public:
  explicit DerReader(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}
  bool done() const { return offset_ == bytes_.size(); }
  // Reads the next element. INVALID_ARGUMENT on a malformed header or a length that runs
  // past the span.
  absl::StatusOr<DerElement> Next();

 private:
  absl::Span<const uint8_t> bytes_;
  size_t offset_ = 0;
};

// Appends tag, definite length and content to `out`.
void DerAppend(uint8_t tag, absl::Span<const uint8_t> content, std::vector<uint8_t>& out);
// Returns one encoded element.
std::vector<uint8_t> DerEncode(uint8_t tag, absl::Span<const uint8_t> content);

// DER content bytes of the OID 2.16.840.1.101.3.4.2.2 (id-sha384).
absl::Span<const uint8_t> Sha384OidContent();

}  // namespace lightcone::attest::internal

#endif  // LIGHTCONE_ATTEST_INTERNAL_DER_H_
