#include "attest/cert_chain.h"

#include <openssl/pem.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "attest/dice_tcb_info.h"

namespace lightcone::attest {
namespace {

using internal::OpenSslPtr;

absl::StatusOr<OpenSslPtr<X509>> ParseStrictDer(absl::Span<const uint8_t> der, size_t index) {
  const unsigned char* p = der.data();
  OpenSslPtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("certificate ", index,
                                                   " is not valid DER X.509: ",
                                                   internal::DrainOpenSslErrors()));
  }
  if (p != der.data() + der.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", index, " has ", der.data() + der.size() - p,
                     " bytes of trailing data"));
  }
  unsigned char* out = nullptr;
  const int n = i2d_X509(cert.get(), &out);
  const bool same = n == static_cast<int>(der.size()) && out != nullptr &&
                    std::equal(der.begin(), der.end(), out);
  OPENSSL_free(out);
  if (!same) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", index, " is not in canonical DER encoding"));
  }
  return cert;
}

}  // namespace

absl::StatusOr<CertificateChain> CertificateChain::FromPem(absl::string_view pem) {
  if (pem.size() > kMaxChainPemBytes) {
    return absl::InvalidArgumentError(absl::StrCat("certificate chain is ", pem.size(),
                                                   " bytes, more than kMaxChainPemBytes (",
                                                   kMaxChainPemBytes, ")"));
  }
  OpenSslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<std::vector<uint8_t>> ders;
  while (true) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      const unsigned long err = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;  // end of input
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", ders.size(), " is not a readable PEM block"));
    }
    const std::string block_name = name;
    std::vector<uint8_t> der(data, data + len);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (block_name != "CERTIFICATE") {
      return absl::InvalidArgumentError(absl::StrCat("PEM block ", ders.size(), " is '",
                                                     block_name, "', not CERTIFICATE"));
    }
    if (ders.size() >= kMaxChainCertificates) {
      return absl::InvalidArgumentError(absl::StrCat(
          "certificate chain has more than kMaxChainCertificates (", kMaxChainCertificates,
          ") certificates"));
    }
    ders.push_back(std::move(der));
  }
  return FromDer(ders);
}

absl::StatusOr<CertificateChain> CertificateChain::FromDer(
    const std::vector<std::vector<uint8_t>>& ders) {
  if (ders.empty()) return absl::InvalidArgumentError("certificate chain holds no certificate");
  if (ders.size() > kMaxChainCertificates) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate chain has ", ders.size(), " certificates, more than kMaxChainCertificates (",
        kMaxChainCertificates, ")"));
  }
  CertificateChain chain;
  for (size_t i = 0; i < ders.size(); ++i) {
    auto cert = ParseStrictDer(ders[i], i);
    if (!cert.ok()) return cert.status();
    chain.certs_.push_back(*std::move(cert));
    chain.ders_.push_back(ders[i]);
  }
  return chain;
}

std::string CertificateChain::LeafSerialHex() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(certs_[0].get());
  OpenSslPtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  return absl::AsciiStrToUpper(out);
}

std::string CertificateChain::SubjectCommonName(size_t i) const {
  const X509_NAME* name = X509_get_subject_name(certs_[i].get());
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> CertificateChain::LeafFwid() const {
  OpenSslPtr<ASN1_OBJECT> oid(OBJ_txt2obj(kDiceTcbInfoOid, /*no_name=*/1));
  const int idx = X509_get_ext_by_OBJ(certs_[0].get(), oid.get(), -1);
  if (idx < 0) {
    return absl::NotFoundError("leaf certificate has no DICE TcbInfo (2.23.133.5.4.1) extension");
  }
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(certs_[0].get(), idx));
  return ParseDiceTcbInfoFwid(absl::MakeConstSpan(ASN1_STRING_get0_data(value),
                                                  static_cast<size_t>(ASN1_STRING_length(value))));
}

}  // namespace lightcone::attest
