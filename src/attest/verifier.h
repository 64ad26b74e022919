// Verification of NVIDIA GPU and NVSwitch attestation evidence (an SPDM report plus the
// device certificate chain), the basis of assurance level L1 (docs/attestation.md).
//
// Checks, each producing a specific reason string when it fails (kReason* below):
//  1. the report parses (spdm_report.h);
//  2. the certificate chain parses and verifies, with OpenSSL, to a configured trust anchor:
//     by default only the pinned NVIDIA Device Identity CA. A root carried in the evidence
//     is never trusted; the evidence chain must be exactly the verified path (the root
//     optional, and if present byte-identical to the anchor);
//  3. the leaf key is P-384 and the report's raw r||s signature is a valid ECDSA-SHA384
//     signature over every byte before it;
//  4. the report's request nonce equals the expected nonce (when one is given);
//  5. the report's opaque FWID equals the leaf certificate's DICE TcbInfo FWID (when the
//     report carries one, as nvtrust does);
//  6. the claimed architecture, driver and VBIOS versions (when given) match the evidence.
// All checks run and all failures are listed, so a report with a flipped nonce byte lists
// both nonce_mismatch and signature_invalid.
//
// Identity: ueid = leaf serial number (hex), hwmodel = subject commonName of the leaf's
// issuer (e.g. "GH100 A01 GSP BROM"), as NVIDIA's verifier reports them.
//
// Verifier is cheap to copy (it shares an immutable X509_STORE) and thread-safe.
#ifndef LIGHTCONE_ATTEST_VERIFIER_H_
#define LIGHTCONE_ATTEST_VERIFIER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/spdm_report.h"

typedef struct x509_store_st X509_STORE;

namespace lightcone::attest {

// Reason strings (stable: they are part of the CLI output and the server's records).
inline constexpr char kReasonReportTooLarge[] = "report_too_large";
inline constexpr char kReasonReportTruncated[] = "report_truncated";
inline constexpr char kReasonReportMalformed[] = "report_malformed";
inline constexpr char kReasonCertificateMalformed[] = "certificate_malformed";
inline constexpr char kReasonChainUntrusted[] = "chain_untrusted";
inline constexpr char kReasonChainSignatureInvalid[] = "chain_signature_invalid";
inline constexpr char kReasonCertificateExpired[] = "certificate_expired";
inline constexpr char kReasonCertificateNotYetValid[] = "certificate_not_yet_valid";
inline constexpr char kReasonChainInvalid[] = "chain_invalid";
inline constexpr char kReasonChainMismatch[] = "chain_mismatch";
inline constexpr char kReasonLeafKeyUnsupported[] = "leaf_key_unsupported";
inline constexpr char kReasonSignatureInvalid[] = "signature_invalid";
inline constexpr char kReasonNonceMismatch[] = "nonce_mismatch";
inline constexpr char kReasonFwidMismatch[] = "fwid_mismatch";
inline constexpr char kReasonFwidMissing[] = "fwid_missing";
inline constexpr char kReasonArchMismatch[] = "arch_mismatch";
inline constexpr char kReasonArchUnsupported[] = "arch_unsupported";
inline constexpr char kReasonDriverVersionMismatch[] = "driver_version_mismatch";
inline constexpr char kReasonVbiosVersionMismatch[] = "vbios_version_mismatch";

// Architecture names as NVIDIA's evidence JSON spells them.
inline constexpr char kArchHopper[] = "HOPPER";
inline constexpr char kArchBlackwell[] = "BLACKWELL";
inline constexpr char kArchNvSwitchLs10[] = "LS10";

using Nonce = std::array<uint8_t, kNonceBytes>;

// One device's evidence.
struct Evidence {
  // Claimed architecture ("HOPPER", "BLACKWELL", "LS10"); empty = take it from the chain.
  std::string arch;
  std::vector<uint8_t> report;
  std::string certificate_chain_pem;  // leaf first
  // Expected nonce; nullopt = not checked (the result says so in nonce_checked).
  std::optional<Nonce> expected_nonce;
  // Versions the host claims (e.g. read from NVML); empty = not compared.
  std::string claimed_driver_version;
  std::string claimed_vbios_version;
};

struct VerificationResult {
  bool valid = false;
  std::vector<std::string> reasons;  // empty iff valid
  std::vector<std::string> details;  // one human-readable sentence per reason
  std::string arch;
  std::string ueid;
  std::string hwmodel;
  std::string driver_version;
  std::string vbios_version;
  std::string fwid;   // hex, lower case
  std::string nonce;  // the report's request nonce, hex
  bool nonce_checked = false;
};

struct VerifierOptions {
  // PEM certificates to trust as roots. Empty: the pinned NVIDIA Device Identity CA only.
  // Tests and the demo set a test root here; nothing else should.
  std::string trusted_roots_pem;
  // Check certificate validity as of this time instead of now (--at).
  std::optional<absl::Time> at;
  // Reject a report that carries no FWID (nvtrust accepts one; older firmware omits it).
  bool require_fwid = false;
};

class Verifier {
 public:
  // INVALID_ARGUMENT when trusted_roots_pem is given but holds no usable certificate.
  static absl::StatusOr<Verifier> Create(const VerifierOptions& options = {});

  // Never fails: problems with the evidence are reasons in the result.
  VerificationResult Verify(const Evidence& evidence) const;

 private:
  Verifier() = default;
  VerifierOptions options_;
  std::shared_ptr<X509_STORE> store_;
  std::vector<std::vector<uint8_t>> root_ders_;
};

// Parses 64 hex digits into a nonce. INVALID_ARGUMENT otherwise.
absl::StatusOr<Nonce> ParseNonceHex(absl::string_view hex);

// Architecture implied by a hwmodel string ("GH100 ..." -> HOPPER, "GB..." -> BLACKWELL,
// "LS_10 ..." -> LS10); empty when unknown.
std::string ArchFromHwModel(absl::string_view hwmodel);

}  // namespace lightcone::attest

#endif  // LIGHTCONE_ATTEST_VERIFIER_H_
