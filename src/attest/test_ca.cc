#include "attest/test_ca.h"

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "attest/dice_tcb_info.h"
#include "attest/internal/openssl_util.h"
#include "core/status_macros.h"

namespace lightcone::attest {
namespace {

using internal::OpenSslPtr;

struct CertSpec {
  std::string subject_cn;
  std::vector<uint8_t> serial;  // big-endian, positive
  absl::Time not_before;
  absl::Time not_after;
  bool is_ca = false;
  std::vector<uint8_t> tcb_info_der;  // empty = no extension
};

std::vector<uint8_t> RandomSerial(size_t n) {
  std::vector<uint8_t> s(n);
  RAND_bytes(s.data(), static_cast<int>(n));
  s[0] = static_cast<uint8_t>((s[0] & 0x7f) | 0x01);  // positive, no leading zero byte
  return s;
}

absl::Status AddConfExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  OpenSslPtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return absl::InternalError(absl::StrCat("cannot add extension ", OBJ_nid2sn(nid), ": ",
                                            internal::DrainOpenSslErrors()));
  }
  return absl::OkStatus();
}

std::string ToPem(X509* cert) {
  OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<OpenSslPtr<X509>> FromPemText(const std::string& pem) {
  OpenSslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  OpenSslPtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return absl::InvalidArgumentError("not a PEM certificate");
  return cert;
}

// Issues a certificate for `subject_key`, signed by `issuer_key` as `issuer` (nullptr:
// self-signed).
absl::StatusOr<OpenSslPtr<X509>> Issue(const CertSpec& spec, const EcKey& subject_key,
                                       X509* issuer, const EcKey& issuer_key) {
  OpenSslPtr<X509> cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  OpenSslPtr<BIGNUM> serial(
      BN_bin2bn(spec.serial.data(), static_cast<int>(spec.serial.size()), nullptr));
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
  OpenSslPtr<X509_NAME> name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Lightcone Test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.subject_cn.c_str()), -1,
                             -1, 0);
  X509_set_subject_name(cert.get(), name.get());
  X509_set_issuer_name(cert.get(),
                       issuer != nullptr ? X509_get_subject_name(issuer) : name.get());
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(spec.not_after));
  X509_set_pubkey(cert.get(), subject_key.get());
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  if (spec.is_ca) {
    LC_RETURN_IF_ERROR(
        AddConfExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE"));
    LC_RETURN_IF_ERROR(AddConfExtension(cert.get(), issuer_cert, NID_key_usage,
                                        "critical,keyCertSign,cRLSign"));
  } else {
    LC_RETURN_IF_ERROR(
        AddConfExtension(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature"));
  }
  LC_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash"));
  LC_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always"));
  if (!spec.tcb_info_der.empty()) {
    OpenSslPtr<ASN1_OBJECT> oid(OBJ_txt2obj(kDiceTcbInfoOid, 1));
    OpenSslPtr<ASN1_OCTET_STRING> value(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(value.get(), spec.tcb_info_der.data(),
                          static_cast<int>(spec.tcb_info_der.size()));
    OpenSslPtr<X509_EXTENSION> ext(
        X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), /*crit=*/0, value.get()));
    if (ext == nullptr || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return absl::InternalError("cannot add the TcbInfo extension");
    }
  }
  if (X509_sign(cert.get(), issuer_key.get(), EVP_sha384()) <= 0) {
    return absl::InternalError("certificate signing failed: " + internal::DrainOpenSslErrors());
  }
  return cert;
}

}  // namespace

absl::StatusOr<TestCa> TestCa::Generate(const std::string& root_common_name) {
  LC_ASSIGN_OR_RETURN(EcKey root_key, EcKey::GenerateP384());
  LC_ASSIGN_OR_RETURN(EcKey ica_key, EcKey::GenerateP384());
  const absl::Time now = absl::Now();
  CertSpec root{root_common_name, RandomSerial(16), now - absl::Hours(24),
                now + absl::Hours(24 * 365 * 30), /*is_ca=*/true, {}};
  LC_ASSIGN_OR_RETURN(auto root_cert, Issue(root, root_key, nullptr, root_key));
  CertSpec ica{"Lightcone Test Provisioner ICA", RandomSerial(16), root.not_before,
               root.not_after, /*is_ca=*/true, {}};
  LC_ASSIGN_OR_RETURN(auto ica_cert, Issue(ica, ica_key, root_cert.get(), root_key));
  TestCa ca(root_key, ica_key);
  ca.root_pem_ = ToPem(root_cert.get());
  ca.ica_pem_ = ToPem(ica_cert.get());
  return ca;
}

absl::StatusOr<TestCa> TestCa::FromPem(const std::string& root_pem,
                                       const std::string& root_key_pem,
                                       const std::string& ica_pem,
                                       const std::string& ica_key_pem) {
  LC_ASSIGN_OR_RETURN(EcKey root_key, EcKey::FromPrivatePem(root_key_pem));
  LC_ASSIGN_OR_RETURN(EcKey ica_key, EcKey::FromPrivatePem(ica_key_pem));
  LC_ASSIGN_OR_RETURN(auto root_cert, FromPemText(root_pem));
  LC_ASSIGN_OR_RETURN(auto ica_cert, FromPemText(ica_pem));
  if (X509_check_private_key(root_cert.get(), root_key.get()) != 1 ||
      X509_check_private_key(ica_cert.get(), ica_key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("test CA key does not match its certificate");
  }
  TestCa ca(root_key, ica_key);
  ca.root_pem_ = root_pem;
  ca.ica_pem_ = ica_pem;
  return ca;
}

absl::StatusOr<TestDevice> TestCa::IssueDevice(const TestDeviceOptions& options) const {
  LC_ASSIGN_OR_RETURN(auto ica_cert, FromPemText(ica_pem_));
  LC_ASSIGN_OR_RETURN(EcKey brom_key, EcKey::GenerateP384());
  LC_ASSIGN_OR_RETURN(EcKey leaf_key, EcKey::GenerateP384());
  const absl::Time now = absl::Now();
  const absl::Time not_before = options.not_before.value_or(now - absl::Hours(24));
  const absl::Time not_after = options.not_after.value_or(now + absl::Hours(24 * 365 * 20));

  TestDevice device{leaf_key, "", "", options.fwid, ""};
  if (device.fwid.empty()) {
    device.fwid.resize(kSha384Bytes);
    RAND_bytes(device.fwid.data(), static_cast<int>(device.fwid.size()));
  }
  if (device.fwid.size() != kSha384Bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("FWID is ", device.fwid.size(), " bytes, expected 48"));
  }
  CertSpec brom{options.hwmodel, RandomSerial(9), not_before, not_after, /*is_ca=*/true, {}};
  LC_ASSIGN_OR_RETURN(auto brom_cert, Issue(brom, brom_key, ica_cert.get(), ica_key_));

  CertSpec leaf{options.leaf_common_name,
                options.leaf_serial.empty() ? RandomSerial(20) : options.leaf_serial,
                not_before, not_after, /*is_ca=*/false, {}};
  switch (options.layout) {
    case TcbInfoLayout::kNvidia:
      leaf.tcb_info_der = EncodeNvidiaTcbInfo(leaf_key.SubjectPublicKeyInfoDer(), device.fwid);
      break;
    case TcbInfoLayout::kTcg:
      leaf.tcb_info_der = EncodeTcgTcbInfo("NVIDIA", options.hwmodel, device.fwid);
      break;
    case TcbInfoLayout::kNone:
      break;
  }
  LC_ASSIGN_OR_RETURN(auto leaf_cert, Issue(leaf, leaf_key, brom_cert.get(), brom_key));

  device.leaf_pem = ToPem(leaf_cert.get());
  device.chain_pem = device.leaf_pem + ToPem(brom_cert.get()) + ica_pem_ + root_pem_;
  OpenSslPtr<BIGNUM> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf_cert.get()), nullptr));
  char* hex = BN_bn2hex(serial.get());
  device.leaf_serial_hex = absl::AsciiStrToUpper(hex);
  OPENSSL_free(hex);
  return device;
}

}  // namespace lightcone::attest
