// A device certificate chain as shipped with NVIDIA attestation evidence: X.509
// certificates in PEM, leaf first, usually ending with the self-signed root.
//
// Parsing is strict: each certificate must be DER that OpenSSL re-encodes to the same bytes
// (no trailing data, no alternative encodings), so any change to a certificate's bytes is
// either rejected here or breaks a signature later. Parsing does not verify anything;
// `Verifier` does. Move-only; immutable after construction, so safe to share across threads
// for reading.
#ifndef LIGHTCONE_ATTEST_CERT_CHAIN_H_
#define LIGHTCONE_ATTEST_CERT_CHAIN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attest/internal/openssl_util.h"

namespace lightcone::attest {

inline constexpr size_t kMaxChainPemBytes = 64 * 1024;
inline constexpr size_t kMaxChainCertificates = 8;

class CertificateChain {
 public:
  // Parses concatenated PEM CERTIFICATE blocks. INVALID_ARGUMENT when the text is larger
  // than kMaxChainPemBytes, holds no certificate or more than kMaxChainCertificates, or a
  // block is not a strictly encoded certificate (the message names the index).
  static absl::StatusOr<CertificateChain> FromPem(absl::string_view pem);
  // The same from DER certificates, leaf first.
  static absl::StatusOr<CertificateChain> FromDer(
      const std::vector<std::vector<uint8_t>>& ders);

  size_t size() const { return certs_.size(); }
  // REQUIRES: i < size(). Owned by the chain.
  X509* cert(size_t i) const { return certs_[i].get(); }
  const std::vector<uint8_t>& der(size_t i) const { return ders_[i]; }

  // The leaf's serial number as upper-case hex without separators or leading zero bytes.
  std::string LeafSerialHex() const;
  // The subject commonName of certificate i, empty if it has none.
  // REQUIRES: i < size().
  std::string SubjectCommonName(size_t i) const;
  // The SHA-384 FWID from the leaf's DICE TcbInfo extension. NOT_FOUND when the leaf has no
  // such extension, INVALID_ARGUMENT when the extension is malformed.
  absl::StatusOr<std::vector<uint8_t>> LeafFwid() const;

 private:
  CertificateChain() = default;
  std::vector<internal::OpenSslPtr<X509>> certs_;
  std::vector<std::vector<uint8_t>> ders_;
};

}  // namespace lightcone::attest

#endif  // LIGHTCONE_ATTEST_CERT_CHAIN_H_
