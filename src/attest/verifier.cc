#include "attest/verifier.h"

#include <openssl/pem.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attest/cert_chain.h"
#include "attest/internal/openssl_util.h"
#include "attest/pinned_roots.h"

namespace lightcone::attest {
namespace {

using internal::OpenSslPtr;

std::string Hex(absl::Span<const uint8_t> bytes) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

class ResultBuilder {
 public:
  explicit ResultBuilder(VerificationResult& r) : r_(r) {}
  void Fail(const char* reason, std::string detail) {
    r_.reasons.push_back(reason);
    r_.details.push_back(std::move(detail));
  }

 private:
  VerificationResult& r_;
};

const char* ReasonForX509Error(int err) {
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return kReasonChainUntrusted;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return kReasonChainSignatureInvalid;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return kReasonCertificateExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return kReasonCertificateNotYetValid;
    default:
      return kReasonChainInvalid;
  }
}

// True when the key is an EC key on P-384.
bool IsP384(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char curve[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), &len) != 1) {
    return false;
  }
  return absl::string_view(curve, len) == "secp384r1";
}

// Verifies a raw r||s P-384 signature over `message` with SHA-384.
bool VerifyRawEcdsaP384(EVP_PKEY* key, absl::Span<const uint8_t> message,
                        absl::Span<const uint8_t> r_s) {
  const size_t half = r_s.size() / 2;
  OpenSslPtr<ECDSA_SIG> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(r_s.data(), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(r_s.data() + half, static_cast<int>(half), nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return false;
  OpenSslPtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  bool ok = md != nullptr &&
            EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha384(), nullptr, key) == 1 &&
            EVP_DigestVerify(md.get(), der, static_cast<size_t>(der_len), message.data(),
                             message.size()) == 1;
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

// Verifies `chain` against `store`; on success checks that the evidence chain is exactly
// the verified path (root optional). Returns false after recording the reason.
bool VerifyChain(const CertificateChain& chain, X509_STORE* store,
                 const VerifierOptions& options,
                 const std::vector<std::vector<uint8_t>>& root_ders, ResultBuilder& out) {
  OpenSslPtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain.cert(i));
    sk_X509_push(untrusted.get(), chain.cert(i));
  }
  OpenSslPtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), store, chain.cert(0), untrusted.get()) != 1) {
    out.Fail(kReasonChainInvalid, "could not set up certificate verification: " +
                                      internal::DrainOpenSslErrors());
    return false;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (options.at.has_value()) {
    X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(*options.at));
  }
  X509_VERIFY_PARAM_set_depth(param, static_cast<int>(kMaxChainCertificates));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    out.Fail(ReasonForX509Error(err),
             absl::StrCat("certificate chain does not verify at depth ", depth, ": ",
                          X509_verify_cert_error_string(err)));
    ERR_clear_error();
    return false;
  }
  STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(ctx.get());
  const size_t path_len = static_cast<size_t>(sk_X509_num(path));
  // The evidence must be the verified path, optionally without its (trusted) root: no
  // extra certificates, and an included root must be the anchor itself, byte for byte.
  bool match = chain.size() == path_len || chain.size() + 1 == path_len;
  for (size_t i = 0; match && i < chain.size(); ++i) {
    match = X509_cmp(chain.cert(i), sk_X509_value(path, static_cast<int>(i))) == 0;
  }
  if (match && chain.size() == path_len) {
    const auto& last = chain.der(chain.size() - 1);
    match = std::find(root_ders.begin(), root_ders.end(), last) != root_ders.end();
  }
  if (!match) {
    out.Fail(kReasonChainMismatch,
             absl::StrCat("the evidence's ", chain.size(), " certificates are not the verified "
                          "path of ", path_len, " certificates ending at the trust anchor"));
    return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Nonce> ParseNonceHex(absl::string_view hex) {
  hex = absl::StripAsciiWhitespace(hex);
  if (hex.size() != 2 * kNonceBytes ||
      !std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
    return absl::InvalidArgumentError(
        absl::StrCat("nonce must be ", 2 * kNonceBytes, " hex digits, got '", hex, "'"));
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  Nonce n;
  std::copy(bytes.begin(), bytes.end(), n.begin());
  return n;
}

std::string ArchFromHwModel(absl::string_view hwmodel) {
  if (absl::StartsWith(hwmodel, "GH1")) return kArchHopper;
  if (absl::StartsWith(hwmodel, "GB1") || absl::StartsWith(hwmodel, "GB2")) {
    return kArchBlackwell;
  }
  if (absl::StartsWith(hwmodel, "LS_10") || absl::StartsWith(hwmodel, "LS10")) {
    return kArchNvSwitchLs10;
  }
  return "";
}

absl::StatusOr<Verifier> Verifier::Create(const VerifierOptions& options) {
  const absl::string_view pem = options.trusted_roots_pem.empty()
                                    ? NvidiaDeviceIdentityRootPem()
                                    : absl::string_view(options.trusted_roots_pem);
  auto roots = CertificateChain::FromPem(pem);
  if (!roots.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("trusted roots: ", std::string(roots.status().message())));
  }
  Verifier v;
  v.options_ = options;
  v.store_.reset(X509_STORE_new(), X509_STORE_free);
  for (size_t i = 0; i < roots->size(); ++i) {
    if (X509_STORE_add_cert(v.store_.get(), roots->cert(i)) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "trusted root ", i, " cannot be added: ", internal::DrainOpenSslErrors()));
    }
    v.root_ders_.push_back(roots->der(i));
  }
  return v;
}

VerificationResult Verifier::Verify(const Evidence& evidence) const {
  VerificationResult result;
  ResultBuilder out(result);

  // 1. The report.
  std::optional<SpdmReport> report;
  if (evidence.report.size() > kMaxReportBytes) {
    out.Fail(kReasonReportTooLarge, absl::StrCat("report is ", evidence.report.size(),
                                                 " bytes, limit ", kMaxReportBytes));
  } else if (auto parsed = ParseSpdmReport(evidence.report); parsed.ok()) {
    report = *std::move(parsed);
    result.driver_version = report->DriverVersion();
    result.vbios_version = report->VbiosVersion();
    result.nonce = Hex(report->request_nonce);
    if (auto fwid = report->Fwid()) result.fwid = Hex(*fwid);
  } else {
    out.Fail(parsed.status().code() == absl::StatusCode::kOutOfRange ? kReasonReportTruncated
                                                                     : kReasonReportMalformed,
             std::string(parsed.status().message()));
  }

  // 2. The certificate chain.
  std::optional<CertificateChain> chain;
  bool chain_ok = false;
  if (auto parsed = CertificateChain::FromPem(evidence.certificate_chain_pem); parsed.ok()) {
    chain = *std::move(parsed);
    result.ueid = chain->LeafSerialHex();
    if (chain->size() > 1) result.hwmodel = chain->SubjectCommonName(1);
    chain_ok = VerifyChain(*chain, store_.get(), options_, root_ders_, out);
  } else {
    out.Fail(kReasonCertificateMalformed, std::string(parsed.status().message()));
  }

  // 3. The report signature with the leaf key (checked even when the chain failed, so the
  // result says everything that is wrong).
  EVP_PKEY* leaf_key = chain.has_value() ? X509_get0_pubkey(chain->cert(0)) : nullptr;
  if (chain.has_value() && !IsP384(leaf_key)) {
    out.Fail(kReasonLeafKeyUnsupported, "leaf certificate key is not an EC P-384 key");
  } else if (chain.has_value() && report.has_value()) {
    const auto message = absl::MakeConstSpan(evidence.report).first(report->signed_length);
    if (!VerifyRawEcdsaP384(leaf_key, message, report->signature)) {
      out.Fail(kReasonSignatureInvalid,
               "report signature is not a valid ECDSA-SHA384 signature by the leaf key");
    }
  }

  // 4. Freshness.
  if (report.has_value() && evidence.expected_nonce.has_value()) {
    result.nonce_checked = true;
    if (report->request_nonce != *evidence.expected_nonce) {
      out.Fail(kReasonNonceMismatch,
               absl::StrCat("report nonce ", result.nonce, " is not the expected nonce ",
                            Hex(*evidence.expected_nonce)));
    }
  }

  // 5. FWID binding between report and leaf certificate.
  if (chain.has_value()) {
    auto cert_fwid = chain->LeafFwid();
    const auto report_fwid = report.has_value() ? report->Fwid() : std::nullopt;
    if (report_fwid.has_value()) {
      if (!cert_fwid.ok()) {
        out.Fail(kReasonFwidMismatch,
                 absl::StrCat("report carries an FWID but the leaf certificate's does not "
                              "parse: ",
                              std::string(cert_fwid.status().message())));
      } else if (*cert_fwid != *report_fwid) {
        out.Fail(kReasonFwidMismatch,
                 absl::StrCat("report FWID ", Hex(*report_fwid),
                              " differs from the leaf certificate FWID ", Hex(*cert_fwid)));
      }
    } else if (report.has_value() && options_.require_fwid) {
      out.Fail(kReasonFwidMissing, "report carries no FWID opaque field");
    } else if (cert_fwid.ok() && result.fwid.empty()) {
      result.fwid = Hex(*cert_fwid);
    }
  }

  // 6. Claims from the host.
  const std::string chain_arch = ArchFromHwModel(result.hwmodel);
  const std::string claimed = absl::AsciiStrToUpper(evidence.arch);
  if (!claimed.empty() && claimed != kArchHopper && claimed != kArchBlackwell &&
      claimed != kArchNvSwitchLs10) {
    out.Fail(kReasonArchUnsupported, absl::StrCat("architecture '", evidence.arch,
                                                  "' is not HOPPER, BLACKWELL or LS10"));
  } else if (!claimed.empty() && chain_ok && chain_arch != claimed) {
    out.Fail(kReasonArchMismatch, absl::StrCat("claimed architecture ", claimed,
                                               " but the certificate chain is for '",
                                               result.hwmodel, "'"));
  }
  result.arch = !claimed.empty() ? claimed : chain_arch;
  if (report.has_value() && !evidence.claimed_driver_version.empty() &&
      evidence.claimed_driver_version != result.driver_version) {
    out.Fail(kReasonDriverVersionMismatch,
             absl::StrCat("claimed driver version ", evidence.claimed_driver_version,
                          " but the report says ", result.driver_version));
  }
  if (report.has_value() && !evidence.claimed_vbios_version.empty() &&
      !absl::EqualsIgnoreCase(evidence.claimed_vbios_version, result.vbios_version)) {
    out.Fail(kReasonVbiosVersionMismatch,
             absl::StrCat("claimed VBIOS version ", evidence.claimed_vbios_version,
                          " but the report says ", result.vbios_version));
  }

  result.valid = result.reasons.empty();
  return result;
}

}  // namespace lightcone::attest
