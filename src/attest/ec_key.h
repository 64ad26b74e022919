// An EC P-384 key pair (OpenSSL EVP_PKEY) for producing test evidence: signs SPDM reports
// and certificates. Copies share the key (immutable), so EcKey is cheap to copy and
// thread-safe for signing.
#ifndef LIGHTCONE_ATTEST_EC_KEY_H_
#define LIGHTCONE_ATTEST_EC_KEY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attest/spdm_report.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace lightcone::attest {

class EcKey {
 public:
  // A fresh random P-384 key.
  static absl::StatusOr<EcKey> GenerateP384();
  // A P-384 private key from PEM (PKCS#8 or SEC1). INVALID_ARGUMENT otherwise.
  static absl::StatusOr<EcKey> FromPrivatePem(absl::string_view pem);

  std::string PrivatePem() const;  // PKCS#8
  std::vector<uint8_t> SubjectPublicKeyInfoDer() const;
  // ECDSA-SHA384 over `message`, returned as raw r||s, each 48 bytes big-endian.
  absl::StatusOr<std::array<uint8_t, kSignatureBytes>> SignRaw(
      absl::Span<const uint8_t> message) const;

  EVP_PKEY* get() const { return key_.get(); }

 private:
  explicit EcKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace lightcone::attest

#endif  // LIGHTCONE_ATTEST_EC_KEY_H_
