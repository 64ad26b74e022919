#include "attest/internal/der.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace lightcone::attest::internal {

absl::StatusOr<DerElement> DerReader::Next() {
  const size_t start = offset_;
  auto fail = [&](const char* why) {
    return absl::InvalidArgumentError(absl::StrFormat("DER element at offset %d: %s", start, why));
  };
  if (bytes_.size() - offset_ < 2) return fail("header runs past the end");
  const uint8_t tag = bytes_[offset_++];
  if ((tag & 0x1f) == 0x1f) return fail("multi-byte tags are not supported");
  size_t length = bytes_[offset_++];
  if (length & 0x80) {
    const size_t count = length & 0x7f;
    if (count == 0) return fail("indefinite length is not DER");
    if (count > 3) return fail("length field longer than 3 bytes");
    if (bytes_.size() - offset_ < count) return fail("length runs past the end");
    length = 0;
    for (size_t i = 0; i < count; ++i) length = (length << 8) | bytes_[offset_++];
    if (length < 0x80) return fail("long-form length for a short value is not DER");
  }
  if (length > kMaxDerContentBytes) return fail("content longer than kMaxDerContentBytes");
  if (bytes_.size() - offset_ < length) return fail("content runs past the end");
  DerElement e{tag, bytes_.subspan(offset_, length)};
  offset_ += length;
  return e;
}

void DerAppend(uint8_t tag, absl::Span<const uint8_t> content, std::vector<uint8_t>& out) {
  out.push_back(tag);
  const size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n <= 0xff) {
    out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(n));
  } else if (n <= 0xffff) {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(0x83);
    out.push_back(static_cast<uint8_t>(n >> 16));
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  }
  out.insert(out.end(), content.begin(), content.end());
}

std::vector<uint8_t> DerEncode(uint8_t tag, absl::Span<const uint8_t> content) {
  std::vector<uint8_t> out;
  DerAppend(tag, content, out);
  return out;
}

absl::Span<const uint8_t> Sha384OidContent() {
  static constexpr uint8_t kOid[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
  return absl::MakeConstSpan(kOid);
}

}  // namespace lightcone::attest::internal
