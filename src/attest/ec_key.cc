#include "attest/ec_key.h"

#include <openssl/pem.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "attest/internal/openssl_util.h"

namespace lightcone::attest {
namespace {

using internal::OpenSslPtr;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) { return {key, EVP_PKEY_free}; }

bool IsP384Key(EVP_PKEY* key) {
  char curve[64] = {0};
  size_t len = 0;
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
         EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), &len) == 1 &&
         absl::string_view(curve, len) == "secp384r1";
}

}  // namespace

absl::StatusOr<EcKey> EcKey::GenerateP384() {
  EVP_PKEY* key = EVP_EC_gen("P-384");
  if (key == nullptr) {
    return absl::InternalError("P-384 key generation failed: " + internal::DrainOpenSslErrors());
  }
  return EcKey(Share(key));
}

absl::StatusOr<EcKey> EcKey::FromPrivatePem(absl::string_view pem) {
  OpenSslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    return absl::InvalidArgumentError("not a PEM private key: " + internal::DrainOpenSslErrors());
  }
  auto shared = Share(key);
  if (!IsP384Key(key)) return absl::InvalidArgumentError("private key is not EC P-384");
  return EcKey(std::move(shared));
}

std::string EcKey::PrivatePem() const {
  OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::vector<uint8_t> EcKey::SubjectPublicKeyInfoDer() const {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key_.get(), &der);
  if (n <= 0) return {};
  std::vector<uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::array<uint8_t, kSignatureBytes>> EcKey::SignRaw(
    absl::Span<const uint8_t> message) const {
  OpenSslPtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (md == nullptr ||
      EVP_DigestSignInit(md.get(), nullptr, EVP_sha384(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_len, message.data(), message.size()) != 1) {
    return absl::InternalError("ECDSA signing failed: " + internal::DrainOpenSslErrors());
  }
  std::vector<uint8_t> der(der_len);
  if (EVP_DigestSign(md.get(), der.data(), &der_len, message.data(), message.size()) != 1) {
    return absl::InternalError("ECDSA signing failed: " + internal::DrainOpenSslErrors());
  }
  const unsigned char* p = der.data();
  OpenSslPtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (sig == nullptr) return absl::InternalError("could not decode the ECDSA signature");
  std::array<uint8_t, kSignatureBytes> out{};
  constexpr int kHalf = kSignatureBytes / 2;
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), kHalf) != kHalf ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + kHalf, kHalf) != kHalf) {
    return absl::InternalError("ECDSA signature component does not fit 48 bytes");
  }
  return out;
}

}  // namespace lightcone::attest
