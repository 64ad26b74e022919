// Reader for NVIDIA's evidence JSON (the format nvtrust's SDK produces and the project's
// agent sends): an array of objects
//   {"arch": "HOPPER", "certificate": base64(PEM chain), "evidence": base64(raw report),
//    "nonce": hex, "driver_version": "...", "vbios_version": "...", "version": "1.0"}
// where only "certificate" and "evidence" are required.
#ifndef LIGHTCONE_ATTEST_EVIDENCE_JSON_H_
#define LIGHTCONE_ATTEST_EVIDENCE_JSON_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/verifier.h"

namespace lightcone::attest {

inline constexpr size_t kMaxEvidenceJsonBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxEvidenceItems = 256;

// Parses the JSON text into Evidence values (expected_nonce from "nonce", claimed versions
// from "driver_version"/"vbios_version"). INVALID_ARGUMENT, naming the item and field, when
// the text is not such an array, a required field is missing, base64 or hex is invalid, or a
// limit is exceeded.
absl::StatusOr<std::vector<Evidence>> ParseEvidenceJson(absl::string_view json);

// Reads a report stored as hex text (nvtrust's *AttestationReport.txt); whitespace ignored.
absl::StatusOr<std::vector<uint8_t>> ParseReportHex(absl::string_view hex);

}  // namespace lightcone::attest

#endif  // LIGHTCONE_ATTEST_EVIDENCE_JSON_H_
