#include "attest/verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "attest/cert_chain.h"
#include "attest/evidence_json.h"
#include "attest/internal/openssl_util.h"
#include "attest/internal/test_files.h"
#include "attest/report_builder.h"
#include "attest/test_ca.h"

namespace lightcone::attest {
namespace {

using ::testing::ElementsAre;
using ::testing::Contains;
using ::testing::IsEmpty;

const std::set<std::string>& KnownReasons() {
  static const auto* reasons = new std::set<std::string>{
      kReasonReportTooLarge,        kReasonReportTruncated,       kReasonReportMalformed,
      kReasonCertificateMalformed,  kReasonChainUntrusted,        kReasonChainSignatureInvalid,
      kReasonCertificateExpired,    kReasonCertificateNotYetValid, kReasonChainInvalid,
      kReasonChainMismatch,         kReasonLeafKeyUnsupported,    kReasonSignatureInvalid,
      kReasonNonceMismatch,         kReasonFwidMismatch,          kReasonFwidMissing,
      kReasonArchMismatch,          kReasonArchUnsupported,       kReasonDriverVersionMismatch,
      kReasonVbiosVersionMismatch};
  return *reasons;
}

std::vector<Evidence> LoadJson(const std::string& name) {
  auto items = ParseEvidenceJson(testing::ReadFileOrEmpty(testing::SharedPath(name)));
  EXPECT_TRUE(items.ok()) << items.status();
  return items.ok() ? *items : std::vector<Evidence>{};
}

Evidence HopperSingle() {
  Evidence e;
  auto report = ParseReportHex(
      testing::ReadFileOrEmpty(testing::SharedPath("nvtrust/hopperAttestationReport.txt")));
  EXPECT_TRUE(report.ok());
  if (report.ok()) e.report = *report;
  e.certificate_chain_pem =
      testing::ReadFileOrEmpty(testing::SharedPath("nvtrust/hopperCertChain.txt"));
  e.expected_nonce =
      *ParseNonceHex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb");
  return e;
}

Verifier DefaultVerifier() {
  auto v = Verifier::Create();
  EXPECT_TRUE(v.ok()) << v.status();
  return *v;
}

// Splits a PEM chain into DER certificates.
std::vector<std::vector<uint8_t>> ChainDers(const std::string& pem) {
  auto chain = CertificateChain::FromPem(pem);
  EXPECT_TRUE(chain.ok());
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; chain.ok() && i < chain->size(); ++i) out.push_back(chain->der(i));
  return out;
}

std::string DersToPem(const std::vector<std::vector<uint8_t>>& ders) {
  std::string pem;
  for (const auto& der : ders) {
    internal::OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio(bio.get(), "CERTIFICATE", "", der.data(), static_cast<long>(der.size()));
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    pem.append(data, static_cast<size_t>(n));
  }
  return pem;
}

void ExpectInvalidWithKnownReasons(const VerificationResult& r, const std::string& context) {
  EXPECT_FALSE(r.valid) << context;
  EXPECT_FALSE(r.reasons.empty()) << context;
  EXPECT_EQ(r.reasons.size(), r.details.size()) << context;
  for (const auto& reason : r.reasons) {
    EXPECT_TRUE(KnownReasons().count(reason)) << context << ": unknown reason " << reason;
  }
}

TEST(Verifier, AllEightGpusVerify) {
  const auto items = LoadJson("nvtrust/gpu_evidence.json");
  ASSERT_EQ(items.size(), 8u);
  const Verifier verifier = DefaultVerifier();
  std::set<std::string> ueids;
  for (const auto& e : items) {
    const VerificationResult r = verifier.Verify(e);
    EXPECT_TRUE(r.valid) << ::testing::PrintToString(r.details);
    EXPECT_THAT(r.reasons, IsEmpty());
    EXPECT_TRUE(r.nonce_checked);
    EXPECT_EQ(r.arch, "HOPPER");
    EXPECT_EQ(r.hwmodel, "GH100 A01 GSP BROM");
    EXPECT_EQ(r.driver_version, "590.12");
    EXPECT_EQ(r.vbios_version, "96.00.A5.00.01");
    EXPECT_EQ(r.nonce, "4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e");
    EXPECT_EQ(r.fwid.size(), 96u);
    EXPECT_EQ(r.ueid.size(), 40u);
    ueids.insert(r.ueid);
  }
  EXPECT_EQ(ueids.size(), 8u) << "each GPU has its own identity";
  EXPECT_TRUE(ueids.count("72CA27239F0E96F6535F73AF84EB1542471A17B2"));
}

TEST(Verifier, AllFourNvSwitchesVerify) {
  const auto items = LoadJson("nvtrust/switch_evidence.json");
  ASSERT_EQ(items.size(), 4u);
  const Verifier verifier = DefaultVerifier();
  std::set<std::string> ueids;
  for (const auto& e : items) {
    const VerificationResult r = verifier.Verify(e);
    EXPECT_TRUE(r.valid) << ::testing::PrintToString(r.details);
    EXPECT_EQ(r.arch, "LS10");
    EXPECT_EQ(r.hwmodel, "LS_10 A01 FSP BROM");
    EXPECT_EQ(r.vbios_version, "96.10.73.00.01");
    ueids.insert(r.ueid);
  }
  EXPECT_EQ(ueids.size(), 4u);
}

TEST(Verifier, SingleHopperReportVerifies) {
  const VerificationResult r = DefaultVerifier().Verify(HopperSingle());
  EXPECT_TRUE(r.valid) << ::testing::PrintToString(r.details);
  EXPECT_EQ(r.ueid, "53C22BA15E5D68088282DA074ED9FB37AA585771");
  EXPECT_EQ(r.hwmodel, "GH100 A01 GSP BROM");
  EXPECT_EQ(r.arch, "HOPPER");
  EXPECT_EQ(r.driver_version, "550.90.07");
  EXPECT_EQ(r.vbios_version, "96.00.9F.00.01");
  EXPECT_EQ(r.fwid,
            "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb30"
            "55ee051762b1f75d");
}

TEST(Verifier, Nvtrust2023ReportVerifiesWithoutOpaqueFwid) {
  Evidence e;
  e.report = *ParseReportHex(
      testing::ReadFileOrEmpty(testing::SharedPath("nvtrust-2023/attestationReport.txt")));
  e.certificate_chain_pem =
      testing::ReadFileOrEmpty(testing::SharedPath("nvtrust-2023/gpuAkCertChain.txt"));
  const VerificationResult r = DefaultVerifier().Verify(e);
  EXPECT_TRUE(r.valid) << ::testing::PrintToString(r.details);
  EXPECT_FALSE(r.nonce_checked);
  EXPECT_EQ(r.ueid, "50948C723FC935C7BD14B7C22833DFBE1DFD1145");
  EXPECT_EQ(r.fwid.size(), 96u) << "taken from the certificate when the report has none";

  VerifierOptions strict;
  strict.require_fwid = true;
  const VerificationResult s = Verifier::Create(strict)->Verify(e);
  EXPECT_THAT(s.reasons, ElementsAre(kReasonFwidMissing));
}

TEST(Verifier, WrongNonceIsNonceMismatch) {
  Evidence e = HopperSingle();
  (*e.expected_nonce)[31] ^= 0x01;
  const VerificationResult r = DefaultVerifier().Verify(e);
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.reasons, ElementsAre(kReasonNonceMismatch));
}

TEST(Verifier, EverySingleByteFlipOfAReportIsRejected) {
  const Evidence original = HopperSingle();
  const Verifier verifier = DefaultVerifier();
  std::map<std::string, int> reason_counts;
  for (size_t i = 0; i < original.report.size(); ++i) {
    Evidence e = original;
    e.report[i] ^= 0xff;
    const VerificationResult r = verifier.Verify(e);
    ExpectInvalidWithKnownReasons(r, absl::StrCat("report byte ", i));
    if (r.valid) break;
    for (const auto& reason : r.reasons) ++reason_counts[reason];
  }
  // Every flip either breaks the structure or the signature; flips of the verifier's nonce
  // also fail the nonce check; the 96 signature bytes themselves always fail the signature.
  const int structural =
      reason_counts[kReasonReportMalformed] + reason_counts[kReasonReportTruncated];
  EXPECT_EQ(reason_counts[kReasonSignatureInvalid] + structural,
            static_cast<int>(original.report.size()));
  EXPECT_GT(reason_counts[kReasonSignatureInvalid], 3000);
  EXPECT_GT(structural, 0);
  EXPECT_EQ(reason_counts[kReasonNonceMismatch], 32);
}

TEST(Verifier, EverySingleByteFlipOfACertificateIsRejected) {
  const Evidence original = HopperSingle();
  const auto ders = ChainDers(original.certificate_chain_pem);
  ASSERT_EQ(ders.size(), 5u);
  const Verifier verifier = DefaultVerifier();
  std::map<std::string, int> reason_counts;
  for (size_t c = 0; c < ders.size(); ++c) {
    for (size_t i = 0; i < ders[c].size(); ++i) {
      auto modified = ders;
      modified[c][i] ^= 0xff;
      Evidence e = original;
      e.certificate_chain_pem = DersToPem(modified);
      const VerificationResult r = verifier.Verify(e);
      ExpectInvalidWithKnownReasons(r, absl::StrCat("certificate ", c, " byte ", i));
      if (r.valid) return;
      for (const auto& reason : r.reasons) ++reason_counts[reason];
    }
  }
  EXPECT_GT(reason_counts[kReasonChainSignatureInvalid], 0);
  EXPECT_GT(reason_counts[kReasonCertificateMalformed], 0);
}

TEST(Verifier, TruncatedReportIsReportTruncated) {
  const Evidence original = HopperSingle();
  const Verifier verifier = DefaultVerifier();
  for (size_t n : {size_t{0}, size_t{4}, kRequestBytes, kRequestBytes + 8, size_t{2000},
                   original.report.size() - kSignatureBytes, original.report.size() - 1}) {
    Evidence e = original;
    e.report.resize(n);
    const VerificationResult r = verifier.Verify(e);
    EXPECT_FALSE(r.valid);
    EXPECT_THAT(r.reasons, ElementsAre(kReasonReportTruncated)) << "length " << n;
  }
}

TEST(Verifier, EvidenceRootIsNeverTrusted) {
  // A self-made CA chain, complete with its own root, does not verify under the pinned root.
  auto ca = TestCa::Generate("NVIDIA Device Identity CA");
  ASSERT_TRUE(ca.ok());
  auto device = ca->IssueDevice();
  ASSERT_TRUE(device.ok());
  ReportSpec spec;
  spec.fwid = device->fwid;
  Evidence e;
  e.report = *BuildSpdmReport(spec, device->leaf_key);
  e.certificate_chain_pem = device->chain_pem;
  const VerificationResult r = DefaultVerifier().Verify(e);
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.reasons, ElementsAre(kReasonChainUntrusted));
}

TEST(Verifier, RealChainUnderAnotherTrustedRootIsUntrusted) {
  auto ca = TestCa::Generate();
  ASSERT_TRUE(ca.ok());
  VerifierOptions options;
  options.trusted_roots_pem = ca->root_pem();
  const VerificationResult r = Verifier::Create(options)->Verify(HopperSingle());
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.reasons, Contains(kReasonChainUntrusted));
}

TEST(Verifier, ChainWithoutRootVerifiesAndExtraCertificateIsMismatch) {
  Evidence e = HopperSingle();
  auto ders = ChainDers(e.certificate_chain_pem);
  ders.pop_back();
  e.certificate_chain_pem = DersToPem(ders);
  EXPECT_TRUE(DefaultVerifier().Verify(e).valid);

  // An unrelated certificate appended after the root is not part of the verified path.
  auto ca = TestCa::Generate();
  ASSERT_TRUE(ca.ok());
  Evidence extra = HopperSingle();
  extra.certificate_chain_pem += "\n" + ca->root_pem();
  const VerificationResult r = DefaultVerifier().Verify(extra);
  EXPECT_THAT(r.reasons, ElementsAre(kReasonChainMismatch));
}

TEST(Verifier, ReportSignedByAnotherKeyIsSignatureInvalid) {
  auto key = EcKey::GenerateP384();
  ASSERT_TRUE(key.ok());
  Evidence e = HopperSingle();
  auto parsed = ParseSpdmReport(e.report);
  ASSERT_TRUE(parsed.ok());
  auto sig = key->SignRaw(absl::MakeConstSpan(e.report).first(parsed->signed_length));
  ASSERT_TRUE(sig.ok());
  std::copy(sig->begin(), sig->end(), e.report.end() - kSignatureBytes);
  EXPECT_THAT(DefaultVerifier().Verify(e).reasons, ElementsAre(kReasonSignatureInvalid));
}

TEST(Verifier, AtTimeBeforeValidityIsNotYetValid) {
  VerifierOptions options;
  options.at = absl::FromCivil(absl::CivilSecond(2019, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  const VerificationResult r = Verifier::Create(options)->Verify(HopperSingle());
  EXPECT_THAT(r.reasons, ElementsAre(kReasonCertificateNotYetValid));
  options.at = absl::FromCivil(absl::CivilSecond(2024, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  EXPECT_TRUE(Verifier::Create(options)->Verify(HopperSingle()).valid);
}

TEST(Verifier, ClaimsAreCheckedAgainstEvidence) {
  const Verifier verifier = DefaultVerifier();
  Evidence e = LoadJson("nvtrust/gpu_evidence.json").at(0);
  e.arch = "LS10";
  EXPECT_THAT(verifier.Verify(e).reasons, ElementsAre(kReasonArchMismatch));
  e.arch = "AMPERE";
  EXPECT_THAT(verifier.Verify(e).reasons, ElementsAre(kReasonArchUnsupported));
  e.arch = "hopper";
  e.claimed_driver_version = "535.00";
  EXPECT_THAT(verifier.Verify(e).reasons, ElementsAre(kReasonDriverVersionMismatch));
  e.claimed_driver_version = "";
  e.claimed_vbios_version = "96.00.A5.00.02";
  EXPECT_THAT(verifier.Verify(e).reasons, ElementsAre(kReasonVbiosVersionMismatch));
  e.claimed_vbios_version = "96.00.a5.00.01";
  EXPECT_TRUE(verifier.Verify(e).valid);
}

TEST(Verifier, GarbageChainIsCertificateMalformed) {
  Evidence e = HopperSingle();
  e.certificate_chain_pem = "not a certificate";
  const VerificationResult r = DefaultVerifier().Verify(e);
  EXPECT_THAT(r.reasons, ElementsAre(kReasonCertificateMalformed));
  EXPECT_TRUE(r.ueid.empty());
}

TEST(Verifier, CreateRejectsUnusableRoots) {
  VerifierOptions options;
  options.trusted_roots_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(Verifier::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseNonceHex, AcceptsOnly64HexDigits) {
  EXPECT_TRUE(ParseNonceHex(std::string(64, 'a')).ok());
  EXPECT_EQ(ParseNonceHex(std::string(63, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseNonceHex(std::string(64, 'g')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ArchFromHwModel, MapsKnownFamilies) {
  EXPECT_EQ(ArchFromHwModel("GH100 A01 GSP BROM"), "HOPPER");
  EXPECT_EQ(ArchFromHwModel("GB100 A01 FSP BROM"), "BLACKWELL");
  EXPECT_EQ(ArchFromHwModel("LS_10 A01 FSP BROM"), "LS10");
  EXPECT_EQ(ArchFromHwModel("GA100"), "");
}

}  // namespace
}  // namespace lightcone::attest
