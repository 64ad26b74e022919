// The firmware identity (FWID) in a device certificate's DICE TcbInfo extension
// (OID 2.23.133.5.4.1, tcg-dice-TcbInfo).
//
// Two encodings are in use and both are accepted:
//  * NVIDIA Hopper GPUs and LS10 NVSwitches (the pre-standard DICE layout):
//      SEQUENCE { INTEGER version, SubjectPublicKeyInfo deviceId,
//                 SEQUENCE { OID hashAlg, OCTET STRING digest } }
//  * TCG DICE TcbInfo (used by newer parts such as Blackwell):
//      SEQUENCE { ... [6] IMPLICIT SEQUENCE OF SEQUENCE { OID hashAlg, OCTET STRING digest },
//                 ... }
// The FWID is the SHA-384 digest (48 bytes). The attestation report repeats it in its
// opaque data, which binds the report's firmware to the certified key.
#ifndef LIGHTCONE_ATTEST_DICE_TCB_INFO_H_
#define LIGHTCONE_ATTEST_DICE_TCB_INFO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace lightcone::attest {

inline constexpr char kDiceTcbInfoOid[] = "2.23.133.5.4.1";

// Returns the SHA-384 FWID digest from the DER value of a TcbInfo extension (the content of
// extnValue). NOT_FOUND when the structure is well-formed but holds no SHA-384 FWID,
// INVALID_ARGUMENT when it is not valid DER of either layout.
absl::StatusOr<std::vector<uint8_t>> ParseDiceTcbInfoFwid(absl::Span<const uint8_t> der);

// Encoders, used by the test CA to produce certificates in both layouts.
// REQUIRES: fwid.size() == 48.
std::vector<uint8_t> EncodeNvidiaTcbInfo(absl::Span<const uint8_t> device_spki_der,
                                         absl::Span<const uint8_t> fwid);
std::vector<uint8_t> EncodeTcgTcbInfo(const std::string& vendor, const std::string& model,
                                      absl::Span<const uint8_t> fwid);

}  // namespace lightcone::attest

#endif  // LIGHTCONE_ATTEST_DICE_TCB_INFO_H_
