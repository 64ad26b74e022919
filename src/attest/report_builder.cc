#include "attest/report_builder.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"

namespace lightcone::attest {
namespace {

void PutLe(std::vector<uint8_t>& out, uint32_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

std::vector<MeasurementBlock> DefaultMeasurements() {
  std::vector<MeasurementBlock> blocks;
  for (size_t i = 1; i <= kDefaultMeasurementCount; ++i) {
    MeasurementBlock b;
    b.index = static_cast<uint8_t>(i);
    b.value_type = 0x01;
    const std::string seed = absl::StrCat("lightcone-test-measurement-", i);
    b.value.resize(kSha384Bytes);
    SHA384(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), b.value.data());
    blocks.push_back(std::move(b));
  }
  return blocks;
}

void PutOpaque(std::vector<uint8_t>& out, uint16_t type, absl::Span<const uint8_t> value) {
  PutLe(out, type, 2);
  PutLe(out, static_cast<uint32_t>(value.size()), 2);
  out.insert(out.end(), value.begin(), value.end());
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> EncodeVbiosVersion(absl::string_view dotted) {
  std::vector<std::string> parts = absl::StrSplit(dotted, '.');
  if (parts.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("VBIOS version '", dotted, "' is not five dotted hex bytes"));
  }
  uint8_t b[5];
  for (int i = 0; i < 5; ++i) {
    uint32_t v = 0;
    if (parts[i].size() != 2 || !absl::SimpleHexAtoi(parts[i], &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("VBIOS version '", dotted, "' part ", i, " is not a hex byte"));
    }
    b[i] = static_cast<uint8_t>(v);
  }
  return std::vector<uint8_t>{b[3], b[2], b[1], b[0], b[4], 0, 0, 0};
}

absl::StatusOr<std::vector<uint8_t>> BuildSpdmReport(const ReportSpec& spec,
                                                     const EcKey& signing_key) {
  std::vector<uint8_t> opaque;
  if (!spec.vbios_version.empty()) {
    LC_ASSIGN_OR_RETURN(auto vbios, EncodeVbiosVersion(spec.vbios_version));
    PutOpaque(opaque, static_cast<uint16_t>(OpaqueFieldType::kVbiosVersion), vbios);
  }
  if (!spec.driver_version.empty()) {
    std::vector<uint8_t> driver(spec.driver_version.begin(), spec.driver_version.end());
    driver.push_back(0);
    PutOpaque(opaque, static_cast<uint16_t>(OpaqueFieldType::kDriverVersion), driver);
  }
  if (spec.fwid.has_value()) {
    if (spec.fwid->size() != kSha384Bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("FWID is ", spec.fwid->size(), " bytes, expected 48"));
    }
    PutOpaque(opaque, static_cast<uint16_t>(OpaqueFieldType::kFwid), *spec.fwid);
  }
  for (const auto& f : spec.extra_opaque) {
    if (f.value.size() > 0xffff) {
      return absl::InvalidArgumentError("extra opaque field longer than 65535 bytes");
    }
    PutOpaque(opaque, f.type, f.value);
  }
  if (opaque.size() > 0xffff) return absl::InvalidArgumentError("opaque data too long");

  std::vector<uint8_t> record;
  const auto blocks = spec.measurements.empty() ? DefaultMeasurements() : spec.measurements;
  if (blocks.size() > 0xff) return absl::InvalidArgumentError("more than 255 measurements");
  for (const auto& b : blocks) {
    if (b.value.size() + 3 > 0xffff) return absl::InvalidArgumentError("measurement too long");
    record.push_back(b.index);
    record.push_back(kDmtfMeasurementSpecification);
    PutLe(record, static_cast<uint32_t>(b.value.size() + 3), 2);
    record.push_back(b.value_type);
    PutLe(record, static_cast<uint32_t>(b.value.size()), 2);
    record.insert(record.end(), b.value.begin(), b.value.end());
  }

  std::vector<uint8_t> out;
  out.reserve(kMinReportBytes + record.size() + opaque.size());
  // GET_MEASUREMENTS request: signature requested, all blocks.
  out.insert(out.end(), {kSpdmVersion11, kGetMeasurementsCode, 0x01, 0xff});
  out.insert(out.end(), spec.nonce.begin(), spec.nonce.end());
  out.push_back(spec.slot_id);
  // MEASUREMENTS response.
  out.insert(out.end(), {kSpdmVersion11, kMeasurementsCode, 0x00, 0x00});
  out.push_back(static_cast<uint8_t>(blocks.size()));
  PutLe(out, static_cast<uint32_t>(record.size()), 3);
  out.insert(out.end(), record.begin(), record.end());
  Nonce responder = spec.responder_nonce;
  if (responder == Nonce{}) RAND_bytes(responder.data(), static_cast<int>(responder.size()));
  out.insert(out.end(), responder.begin(), responder.end());
  PutLe(out, static_cast<uint32_t>(opaque.size()), 2);
  out.insert(out.end(), opaque.begin(), opaque.end());
  if (out.size() + kSignatureBytes > kMaxReportBytes) {
    return absl::InvalidArgumentError("report would exceed kMaxReportBytes");
  }
  LC_ASSIGN_OR_RETURN(auto signature, signing_key.SignRaw(out));
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

}  // namespace lightcone::attest
