#include "attest/report_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "attest/cert_chain.h"
#include "attest/test_ca.h"
#include "attest/verifier.h"

namespace lightcone::attest {
namespace {

using ::testing::ElementsAre;

std::string Hex(absl::Span<const uint8_t> b) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

class ReportBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = TestCa::Generate();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_.emplace(*ca);
    VerifierOptions options;
    options.trusted_roots_pem = ca_->root_pem();
    auto v = Verifier::Create(options);
    ASSERT_TRUE(v.ok()) << v.status();
    test_verifier_.emplace(*v);
  }

  Evidence Build(const TestDevice& device, const ReportSpec& spec) {
    Evidence e;
    auto report = BuildSpdmReport(spec, device.leaf_key);
    EXPECT_TRUE(report.ok()) << report.status();
    if (report.ok()) e.report = *report;
    e.certificate_chain_pem = device.chain_pem;
    e.expected_nonce = spec.nonce;
    return e;
  }

  std::optional<TestCa> ca_;
  std::optional<Verifier> test_verifier_;
};

TEST_F(ReportBuilderTest, RoundTripVerifiesUnderTestRootOnly) {
  auto device = ca_->IssueDevice();
  ASSERT_TRUE(device.ok()) << device.status();
  ReportSpec spec;
  spec.nonce.fill(0x5a);
  spec.fwid = device->fwid;
  const Evidence e = Build(*device, spec);

  const VerificationResult r = test_verifier_->Verify(e);
  EXPECT_TRUE(r.valid) << ::testing::PrintToString(r.details);
  EXPECT_EQ(r.ueid, device->leaf_serial_hex);
  EXPECT_EQ(r.hwmodel, "GH100 A01 GSP BROM");
  EXPECT_EQ(r.arch, "HOPPER");
  EXPECT_EQ(r.driver_version, "550.90.07");
  EXPECT_EQ(r.vbios_version, "96.00.9F.00.01");
  EXPECT_EQ(r.fwid, Hex(device->fwid));
  std::string expected_nonce;
  for (int i = 0; i < 32; ++i) expected_nonce += "5a";
  EXPECT_EQ(r.nonce, expected_nonce);

  auto pinned = Verifier::Create();
  ASSERT_TRUE(pinned.ok());
  EXPECT_THAT(pinned->Verify(e).reasons, ElementsAre(kReasonChainUntrusted));
}

TEST_F(ReportBuilderTest, ParsedReportMatchesSpec) {
  auto device = ca_->IssueDevice();
  ASSERT_TRUE(device.ok());
  ReportSpec spec;
  spec.nonce.fill(0x01);
  spec.responder_nonce.fill(0x02);
  spec.slot_id = 3;
  spec.driver_version = "580.65.06";
  spec.vbios_version = "97.00.12.00.04";
  spec.extra_opaque.push_back({static_cast<uint16_t>(OpaqueFieldType::kBoardId), {1, 2, 3, 4}});
  auto bytes = BuildSpdmReport(spec, device->leaf_key);
  ASSERT_TRUE(bytes.ok());
  auto report = ParseSpdmReport(*bytes);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->request_nonce, spec.nonce);
  EXPECT_EQ(report->responder_nonce, spec.responder_nonce);
  EXPECT_EQ(report->slot_id, 3);
  EXPECT_EQ(report->measurements.size(), kDefaultMeasurementCount);
  EXPECT_EQ(report->DriverVersion(), "580.65.06");
  EXPECT_EQ(report->VbiosVersion(), "97.00.12.00.04");
  EXPECT_FALSE(report->Fwid().has_value());
  ASSERT_NE(report->FindOpaque(OpaqueFieldType::kBoardId), nullptr);
  EXPECT_EQ(report->FindOpaque(OpaqueFieldType::kBoardId)->value,
            (std::vector<uint8_t>{1, 2, 3, 4}));
}

TEST_F(ReportBuilderTest, BlackwellStyleTcgTcbInfoVerifies) {
  TestDeviceOptions options;
  options.hwmodel = "GB100 A01 FSP BROM";
  options.leaf_common_name = "GB100 A01 FSP FMC LF";
  options.layout = TcbInfoLayout::kTcg;
  auto device = ca_->IssueDevice(options);
  ASSERT_TRUE(device.ok());
  ReportSpec spec;
  spec.fwid = device->fwid;
  Evidence e = Build(*device, spec);
  e.arch = "BLACKWELL";
  const VerificationResult r = test_verifier_->Verify(e);
  EXPECT_TRUE(r.valid) << ::testing::PrintToString(r.details);
  EXPECT_EQ(r.arch, "BLACKWELL");
}

TEST_F(ReportBuilderTest, FwidDifferentFromCertificateIsFwidMismatch) {
  auto device = ca_->IssueDevice();
  ASSERT_TRUE(device.ok());
  ReportSpec spec;
  spec.fwid = device->fwid;
  (*spec.fwid)[0] ^= 0x01;
  EXPECT_THAT(test_verifier_->Verify(Build(*device, spec)).reasons,
              ElementsAre(kReasonFwidMismatch));

  TestDeviceOptions no_tcb;
  no_tcb.layout = TcbInfoLayout::kNone;
  auto bare = ca_->IssueDevice(no_tcb);
  ASSERT_TRUE(bare.ok());
  spec.fwid = bare->fwid;
  EXPECT_THAT(test_verifier_->Verify(Build(*bare, spec)).reasons,
              ElementsAre(kReasonFwidMismatch));
}

TEST_F(ReportBuilderTest, ExpiredDeviceCertificateIsCertificateExpired) {
  TestDeviceOptions options;
  options.not_before = absl::Now() - absl::Hours(48);
  options.not_after = absl::Now() - absl::Hours(1);
  auto device = ca_->IssueDevice(options);
  ASSERT_TRUE(device.ok());
  ReportSpec spec;
  spec.fwid = device->fwid;
  const Evidence e = Build(*device, spec);
  EXPECT_THAT(test_verifier_->Verify(e).reasons, ElementsAre(kReasonCertificateExpired));
}

TEST_F(ReportBuilderTest, ChosenSerialBecomesUeid) {
  TestDeviceOptions options;
  options.leaf_serial = {0x12, 0x34, 0xAB};
  auto device = ca_->IssueDevice(options);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->leaf_serial_hex, "1234AB");
  ReportSpec spec;
  spec.fwid = device->fwid;
  EXPECT_EQ(test_verifier_->Verify(Build(*device, spec)).ueid, "1234AB");
}

TEST_F(ReportBuilderTest, CaSurvivesPemRoundTrip) {
  auto reloaded = TestCa::FromPem(ca_->root_pem(), ca_->root_key().PrivatePem(), ca_->ica_pem(),
                                  ca_->ica_key().PrivatePem());
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  auto device = reloaded->IssueDevice();
  ASSERT_TRUE(device.ok());
  ReportSpec spec;
  spec.fwid = device->fwid;
  EXPECT_TRUE(test_verifier_->Verify(Build(*device, spec)).valid);

  auto other = TestCa::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(TestCa::FromPem(ca_->root_pem(), other->root_key().PrivatePem(), ca_->ica_pem(),
                            ca_->ica_key().PrivatePem())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EncodeVbiosVersion, RejectsMalformedVersions) {
  EXPECT_EQ(EncodeVbiosVersion("96.00.9F.00").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeVbiosVersion("96.00.9G.00.01").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto v = EncodeVbiosVersion("96.00.9F.00.01");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (std::vector<uint8_t>{0x00, 0x9f, 0x00, 0x96, 0x01, 0, 0, 0}));
}

TEST(BuildSpdmReport, RejectsWrongSizeFwid) {
  auto key = EcKey::GenerateP384();
  ASSERT_TRUE(key.ok());
  ReportSpec spec;
  spec.fwid = std::vector<uint8_t>(47, 0);
  EXPECT_EQ(BuildSpdmReport(spec, *key).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::attest
