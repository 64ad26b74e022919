// Parser for the NVIDIA SPDM 1.1 attestation report (GPU and NVSwitch, Hopper and
// Blackwell generations).
//
// A report is the concatenation of two SPDM 1.1 messages, little-endian throughout:
//
//   GET_MEASUREMENTS request (37 bytes)
//     0  SPDMVersion 0x11   1  RequestResponseCode 0xE0   2  Param1 (bit 0: sign)
//     3  Param2 (0xFF: all blocks)   4..35  verifier nonce (32)   36  SlotID
//   MEASUREMENTS response
//     0  SPDMVersion 0x11   1  RequestResponseCode 0x60   2  Param1   3  Param2
//     4  NumberOfBlocks     5..7  MeasurementRecordLength L1 (24-bit)
//     8  MeasurementRecord (L1 bytes): blocks {Index, MeasurementSpecification = 1 (DMTF),
//        MeasurementSize (16-bit), DMTF measurement {ValueType, ValueSize (16-bit), Value}}
//     8+L1  responder nonce (32)   40+L1  OpaqueLength L2 (16-bit)
//     42+L1 OpaqueData (L2 bytes): TLVs {Type (16-bit), Size (16-bit), Value}
//     42+L1+L2  signature: raw ECDSA P-384 r||s (96 bytes)
//
// The signature covers every byte before it (request and response). Parsing only checks
// structure; nothing here is trusted until `Verifier` has checked the signature.
//
// The parser is written for hostile input: it rejects a report larger than
// kMaxReportBytes before looking at it, checks every length against the bytes that remain
// before reading or allocating, and requires the structure to account for every byte.
// Errors: OUT_OF_RANGE when the input ends before a field (a truncated report),
// INVALID_ARGUMENT for any other structural fault; the message names the field and offset.
#ifndef LIGHTCONE_ATTEST_SPDM_REPORT_H_
#define LIGHTCONE_ATTEST_SPDM_REPORT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace lightcone::attest {

inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kRequestBytes = 37;
inline constexpr size_t kResponseHeaderBytes = 8;
inline constexpr size_t kSignatureBytes = 96;  // P-384 r||s
inline constexpr size_t kSha384Bytes = 48;
// The real reports are 2-5 KiB; a MeasurementRecordLength can claim up to 16 MiB, so the
// whole report is bounded first.
inline constexpr size_t kMaxReportBytes = 64 * 1024;
inline constexpr size_t kMaxOpaqueFields = 128;
inline constexpr size_t kMinReportBytes =
    kRequestBytes + kResponseHeaderBytes + kNonceBytes + 2 + kSignatureBytes;

inline constexpr uint8_t kSpdmVersion11 = 0x11;
inline constexpr uint8_t kGetMeasurementsCode = 0xE0;
inline constexpr uint8_t kMeasurementsCode = 0x60;
inline constexpr uint8_t kDmtfMeasurementSpecification = 0x01;

// Opaque-data field types used by NVIDIA firmware (the numbering of NVIDIA's public
// nvtrust verifier). Unknown types are kept as raw fields.
enum class OpaqueFieldType : uint16_t {
  kCertIssuerName = 1,
  kCertAuthorityKeyIdentifier = 2,
  kDriverVersion = 3,
  kGpuInfo = 4,
  kSku = 5,
  kVbiosVersion = 6,
  kManufacturerId = 7,
  kTamperDetection = 8,
  kSmc = 9,
  kVpr = 10,
  kNvdec0Status = 11,
  kMeasurementCount = 12,
  kCprInfo = 13,
  kBoardId = 14,
  kChipSku = 15,
  kChipSkuMod = 16,
  kProject = 17,
  kProjectSku = 18,
  kProjectSkuMod = 19,
  kFwid = 20,
  kProtectedPcieStatus = 21,
  kSwitchPdi = 22,
  kFloorsweptPorts = 23,
  kPositionId = 24,
  kLockSwitchStatus = 25,
  kGpuLinkConnection = 32,
  kInvalid = 255,
};

struct MeasurementBlock {
  uint8_t index = 0;
  uint8_t value_type = 0;        // DMTF measurement value type
  std::vector<uint8_t> value;    // a SHA-384 digest on NVIDIA devices
};

struct OpaqueField {
  uint16_t type = 0;
  std::vector<uint8_t> value;
};

// A structurally valid report. Copyable value type.
struct SpdmReport {
  uint8_t request_param1 = 0;
  uint8_t request_param2 = 0;
  uint8_t slot_id = 0;
  std::array<uint8_t, kNonceBytes> request_nonce{};   // the verifier's nonce
  uint8_t response_param1 = 0;
  uint8_t response_param2 = 0;
  std::vector<MeasurementBlock> measurements;
  std::array<uint8_t, kNonceBytes> responder_nonce{};
  std::vector<OpaqueField> opaque_fields;
  std::array<uint8_t, kSignatureBytes> signature{};
  // The signed bytes are the first `signed_length` bytes of the input.
  size_t signed_length = 0;

  // The first opaque field of `type`, or nullptr.
  const OpaqueField* FindOpaque(OpaqueFieldType type) const;
  // Driver version string ("550.90.07"), empty when absent.
  std::string DriverVersion() const;
  // VBIOS version in NVIDIA's dotted form ("96.00.9F.00.01"; GPUs encode it as 8 binary
  // bytes, NVSwitches as ASCII), empty when absent.
  std::string VbiosVersion() const;
  // The opaque FWID (48 bytes on current firmware), nullopt when the report carries none.
  std::optional<std::vector<uint8_t>> Fwid() const;
};

// Parses `bytes` as described above.
absl::StatusOr<SpdmReport> ParseSpdmReport(absl::Span<const uint8_t> bytes);

}  // namespace lightcone::attest

#endif  // LIGHTCONE_ATTEST_SPDM_REPORT_H_
