#include "attest/spdm_report.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"

namespace lightcone::attest {
namespace {

// Bounds-checked little-endian reader over the report. Every read names the field so a
// failure says what was being read and where.
class Reader {
 public:
  explicit Reader(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }

  absl::Status Need(size_t n, const char* field) const {
    if (n > remaining()) {
      return absl::OutOfRangeError(absl::StrFormat(
          "SPDM report truncated: %s needs %d bytes at offset %d but only %d remain", field, n,
          offset_, remaining()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint32_t> ReadLe(size_t n, const char* field) {
    LC_RETURN_IF_ERROR(Need(n, field));
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(bytes_[offset_ + i]) << (8 * i);
    offset_ += n;
    return v;
  }

  absl::StatusOr<absl::Span<const uint8_t>> ReadBytes(size_t n, const char* field) {
    LC_RETURN_IF_ERROR(Need(n, field));
    auto out = bytes_.subspan(offset_, n);
    offset_ += n;
    return out;
  }

 private:
  absl::Span<const uint8_t> bytes_;
  size_t offset_ = 0;
};

absl::Status Malformed(size_t offset, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("SPDM report malformed at offset ", offset, ": ", what));
}

absl::Status ExpectByte(Reader& r, uint8_t expected, const char* field) {
  const size_t at = r.offset();
  LC_ASSIGN_OR_RETURN(uint32_t v, r.ReadLe(1, field));
  if (v != expected) {
    return Malformed(at, absl::StrFormat("%s is 0x%02x, expected 0x%02x", field, v, expected));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MeasurementBlock>> ParseMeasurementRecord(
    absl::Span<const uint8_t> record, size_t record_offset, uint32_t block_count) {
  // Each block is at least 7 bytes (4 header + 3 DMTF header): reject an impossible count
  // before reserving.
  constexpr size_t kMinBlockBytes = 7;
  if (static_cast<size_t>(block_count) * kMinBlockBytes > record.size()) {
    return Malformed(record_offset,
                     absl::StrFormat("NumberOfBlocks %d cannot fit in a %d-byte record",
                                     block_count, record.size()));
  }
  std::vector<MeasurementBlock> blocks;
  blocks.reserve(block_count);
  Reader r(record);
  for (uint32_t i = 0; i < block_count; ++i) {
    const size_t at = record_offset + r.offset();
    MeasurementBlock block;
    LC_ASSIGN_OR_RETURN(uint32_t index, r.ReadLe(1, "measurement block Index"));
    LC_ASSIGN_OR_RETURN(uint32_t spec, r.ReadLe(1, "MeasurementSpecification"));
    if (spec != kDmtfMeasurementSpecification) {
      return Malformed(at, absl::StrFormat("measurement block %d uses specification 0x%02x, "
                                           "only DMTF (0x01) is defined",
                                           index, spec));
    }
    LC_ASSIGN_OR_RETURN(uint32_t size, r.ReadLe(2, "MeasurementSize"));
    LC_ASSIGN_OR_RETURN(auto measurement, r.ReadBytes(size, "measurement"));
    Reader m(measurement);
    LC_ASSIGN_OR_RETURN(uint32_t value_type, m.ReadLe(1, "DMTFSpecMeasurementValueType"));
    LC_ASSIGN_OR_RETURN(uint32_t value_size, m.ReadLe(2, "DMTFSpecMeasurementValueSize"));
    if (value_size != m.remaining()) {
      return Malformed(at, absl::StrFormat("measurement block %d: value size %d does not "
                                           "match measurement size %d",
                                           index, value_size, size));
    }
    LC_ASSIGN_OR_RETURN(auto value, m.ReadBytes(value_size, "measurement value"));
    block.index = static_cast<uint8_t>(index);
    block.value_type = static_cast<uint8_t>(value_type);
    block.value.assign(value.begin(), value.end());
    blocks.push_back(std::move(block));
  }
  if (r.remaining() != 0) {
    return Malformed(record_offset + r.offset(),
                     absl::StrFormat("%d bytes left in the measurement record after %d blocks",
                                     r.remaining(), block_count));
  }
  return blocks;
}

absl::StatusOr<std::vector<OpaqueField>> ParseOpaque(absl::Span<const uint8_t> opaque,
                                                     size_t opaque_offset) {
  std::vector<OpaqueField> fields;
  Reader r(opaque);
  while (r.remaining() > 0) {
    const size_t at = opaque_offset + r.offset();
    if (fields.size() >= kMaxOpaqueFields) {
      return Malformed(at, absl::StrCat("more than kMaxOpaqueFields (", kMaxOpaqueFields,
                                        ") opaque fields"));
    }
    LC_ASSIGN_OR_RETURN(uint32_t type, r.ReadLe(2, "opaque field DataType"));
    LC_ASSIGN_OR_RETURN(uint32_t size, r.ReadLe(2, "opaque field DataSize"));
    if (size > r.remaining()) {
      return Malformed(at, absl::StrFormat("opaque field type %d claims %d bytes, %d remain "
                                           "in OpaqueData",
                                           type, size, r.remaining()));
    }
    LC_ASSIGN_OR_RETURN(auto value, r.ReadBytes(size, "opaque field value"));
    OpaqueField field;
    field.type = static_cast<uint16_t>(type);
    field.value.assign(value.begin(), value.end());
    fields.push_back(std::move(field));
  }
  return fields;
}

// Inside a length-delimited region, running out of bytes means the region's own lengths
// disagree, which is malformed rather than a truncated report.
absl::Status AsMalformed(absl::Status s) {
  if (s.code() != absl::StatusCode::kOutOfRange) return s;
  return absl::InvalidArgumentError(s.message());
}

}  // namespace

const OpaqueField* SpdmReport::FindOpaque(OpaqueFieldType type) const {
  for (const auto& f : opaque_fields) {
    if (f.type == static_cast<uint16_t>(type)) return &f;
  }
  return nullptr;
}

std::string SpdmReport::DriverVersion() const {
  const OpaqueField* f = FindOpaque(OpaqueFieldType::kDriverVersion);
  if (f == nullptr) return "";
  std::string s(f->value.begin(), f->value.end());
  s = s.substr(0, s.find('\0'));
  return std::string(absl::StripAsciiWhitespace(s));
}

std::string SpdmReport::VbiosVersion() const {
  const OpaqueField* f = FindOpaque(OpaqueFieldType::kVbiosVersion);
  if (f == nullptr) return "";
  const auto& v = f->value;
  const bool printable = std::all_of(v.begin(), v.end(), [](uint8_t c) {
    return c == 0 || (c >= 0x20 && c < 0x7f);
  });
  if (printable && !v.empty() && v[0] != 0) {
    std::string s(v.begin(), v.end());
    return s.substr(0, s.find('\0'));
  }
  // GPUs: 8 bytes; the first four are a little-endian 32-bit value printed as four hex
  // byte pairs, the fifth is the OEM byte (e.g. 00 9f 00 96 01 .. -> 96.00.9F.00.01).
  if (v.size() < 5) return "";
  return absl::StrFormat("%02X.%02X.%02X.%02X.%02X", v[3], v[2], v[1], v[0], v[4]);
}

std::optional<std::vector<uint8_t>> SpdmReport::Fwid() const {
  const OpaqueField* f = FindOpaque(OpaqueFieldType::kFwid);
  if (f == nullptr) return std::nullopt;
  return f->value;
}

absl::StatusOr<SpdmReport> ParseSpdmReport(absl::Span<const uint8_t> bytes) {
  if (bytes.size() > kMaxReportBytes) {
    return absl::InvalidArgumentError(absl::StrCat("SPDM report is ", bytes.size(),
                                                   " bytes, more than kMaxReportBytes (",
                                                   kMaxReportBytes, ")"));
  }
  SpdmReport report;
  Reader r(bytes);

  // GET_MEASUREMENTS request.
  LC_RETURN_IF_ERROR(ExpectByte(r, kSpdmVersion11, "request SPDMVersion"));
  LC_RETURN_IF_ERROR(ExpectByte(r, kGetMeasurementsCode, "request RequestResponseCode"));
  LC_ASSIGN_OR_RETURN(uint32_t p1, r.ReadLe(1, "request Param1"));
  LC_ASSIGN_OR_RETURN(uint32_t p2, r.ReadLe(1, "request Param2"));
  if ((p1 & 0x01) == 0) {
    return Malformed(2, "request Param1 does not ask for a signature (bit 0 clear)");
  }
  report.request_param1 = static_cast<uint8_t>(p1);
  report.request_param2 = static_cast<uint8_t>(p2);
  LC_ASSIGN_OR_RETURN(auto nonce, r.ReadBytes(kNonceBytes, "request nonce"));
  std::copy(nonce.begin(), nonce.end(), report.request_nonce.begin());
  LC_ASSIGN_OR_RETURN(uint32_t slot, r.ReadLe(1, "request SlotID"));
  report.slot_id = static_cast<uint8_t>(slot);

  // MEASUREMENTS response header.
  LC_RETURN_IF_ERROR(ExpectByte(r, kSpdmVersion11, "response SPDMVersion"));
  LC_RETURN_IF_ERROR(ExpectByte(r, kMeasurementsCode, "response RequestResponseCode"));
  LC_ASSIGN_OR_RETURN(uint32_t rp1, r.ReadLe(1, "response Param1"));
  LC_ASSIGN_OR_RETURN(uint32_t rp2, r.ReadLe(1, "response Param2"));
  report.response_param1 = static_cast<uint8_t>(rp1);
  report.response_param2 = static_cast<uint8_t>(rp2);
  LC_ASSIGN_OR_RETURN(uint32_t block_count, r.ReadLe(1, "NumberOfBlocks"));
  LC_ASSIGN_OR_RETURN(uint32_t record_length, r.ReadLe(3, "MeasurementRecordLength"));
  const size_t record_offset = r.offset();
  LC_ASSIGN_OR_RETURN(auto record, r.ReadBytes(record_length, "MeasurementRecord"));
  auto measurements = ParseMeasurementRecord(record, record_offset, block_count);
  if (!measurements.ok()) return AsMalformed(measurements.status());
  report.measurements = *std::move(measurements);

  LC_ASSIGN_OR_RETURN(auto responder_nonce, r.ReadBytes(kNonceBytes, "responder nonce"));
  std::copy(responder_nonce.begin(), responder_nonce.end(), report.responder_nonce.begin());
  LC_ASSIGN_OR_RETURN(uint32_t opaque_length, r.ReadLe(2, "OpaqueLength"));
  const size_t opaque_offset = r.offset();
  LC_ASSIGN_OR_RETURN(auto opaque, r.ReadBytes(opaque_length, "OpaqueData"));
  auto opaque_fields = ParseOpaque(opaque, opaque_offset);
  if (!opaque_fields.ok()) return AsMalformed(opaque_fields.status());
  report.opaque_fields = *std::move(opaque_fields);

  report.signed_length = r.offset();
  LC_ASSIGN_OR_RETURN(auto signature, r.ReadBytes(kSignatureBytes, "signature"));
  std::copy(signature.begin(), signature.end(), report.signature.begin());
  if (r.remaining() != 0) {
    return Malformed(r.offset(), absl::StrFormat("%d unexpected bytes after the signature",
                                                 r.remaining()));
  }
  return report;
}

}  // namespace lightcone::attest
