#include "attest/spdm_report.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "attest/evidence_json.h"
#include "attest/internal/test_files.h"

namespace lightcone::attest {
namespace {

std::vector<uint8_t> HopperReport() {
  auto r = ParseReportHex(testing::ReadFileOrEmpty(testing::SharedPath(
      "nvtrust/hopperAttestationReport.txt")));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::vector<uint8_t>{};
}

std::string Hex(absl::Span<const uint8_t> b) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

TEST(ParseSpdmReport, ParsesRealHopperReport) {
  const auto bytes = HopperReport();
  ASSERT_EQ(bytes.size(), 4117u);
  auto report = ParseSpdmReport(bytes);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(Hex(report->request_nonce),
            "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb");
  EXPECT_EQ(report->request_param1, 0x01);
  EXPECT_EQ(report->request_param2, 0xff);
  ASSERT_EQ(report->measurements.size(), 64u);
  for (const auto& m : report->measurements) EXPECT_EQ(m.value.size(), kSha384Bytes);
  EXPECT_EQ(report->measurements[0].index, 1);
  EXPECT_EQ(report->DriverVersion(), "550.90.07");
  EXPECT_EQ(report->VbiosVersion(), "96.00.9F.00.01");
  ASSERT_TRUE(report->Fwid().has_value());
  EXPECT_EQ(Hex(*report->Fwid()),
            "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb30"
            "55ee051762b1f75d");
  EXPECT_EQ(report->signed_length, bytes.size() - kSignatureBytes);
  EXPECT_EQ(report->opaque_fields.size(), 14u);
}

TEST(ParseSpdmReport, OlderReportHasNoFwid) {
  auto bytes = ParseReportHex(testing::ReadFileOrEmpty(
      testing::SharedPath("nvtrust-2023/attestationReport.txt")));
  ASSERT_TRUE(bytes.ok());
  auto report = ParseSpdmReport(*bytes);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->Fwid().has_value());
  EXPECT_EQ(report->DriverVersion(), "545.00");
  EXPECT_EQ(report->VbiosVersion(), "96.00.5E.00.01");
}

TEST(ParseSpdmReport, EveryTruncationIsOutOfRange) {
  const auto bytes = HopperReport();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto report = ParseSpdmReport(absl::MakeConstSpan(bytes).first(n));
    ASSERT_EQ(report.status().code(), absl::StatusCode::kOutOfRange) << "prefix " << n;
  }
}

TEST(ParseSpdmReport, TrailingBytesAreRejected) {
  auto bytes = HopperReport();
  bytes.push_back(0);
  auto report = ParseSpdmReport(bytes);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("after the signature"), absl::string_view::npos);
}

TEST(ParseSpdmReport, WrongVersionOrCodeIsInvalid) {
  for (size_t offset : {size_t{0}, size_t{1}, kRequestBytes, kRequestBytes + 1}) {
    auto bytes = HopperReport();
    bytes[offset] ^= 0x40;
    EXPECT_EQ(ParseSpdmReport(bytes).status().code(), absl::StatusCode::kInvalidArgument)
        << "offset " << offset;
  }
}

TEST(ParseSpdmReport, UnsignedRequestIsInvalid) {
  auto bytes = HopperReport();
  bytes[2] = 0x00;
  EXPECT_EQ(ParseSpdmReport(bytes).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseSpdmReport, RecordLengthBeyondInputIsOutOfRange) {
  auto bytes = HopperReport();
  bytes[kRequestBytes + 7] = 0xff;  // MeasurementRecordLength high byte: ~16 MiB
  EXPECT_EQ(ParseSpdmReport(bytes).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(ParseSpdmReport, ImpossibleBlockCountIsInvalid) {
  auto bytes = HopperReport();
  bytes[kRequestBytes + 4] = 0xff;  // 255 blocks: the record runs out after the 64 real ones
  EXPECT_EQ(ParseSpdmReport(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  bytes[kRequestBytes + 4] = 63;  // one block left over in the record
  auto report = ParseSpdmReport(bytes);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("left in the measurement record"),
            absl::string_view::npos);
}

TEST(ParseSpdmReport, OversizedReportIsRejectedBeforeParsing) {
  std::vector<uint8_t> huge(kMaxReportBytes + 1, 0x11);
  auto report = ParseSpdmReport(huge);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("kMaxReportBytes"), absl::string_view::npos);
}

TEST(ParseSpdmReport, OpaqueFieldOverrunIsInvalid) {
  auto bytes = HopperReport();
  auto report = ParseSpdmReport(bytes);
  ASSERT_TRUE(report.ok());
  // First opaque field's DataSize: the opaque data starts 2 bytes after OpaqueLength.
  const size_t opaque_start = report->signed_length - 422;
  bytes[opaque_start + 2] = 0xff;
  bytes[opaque_start + 3] = 0x7f;
  auto bad = ParseSpdmReport(bytes);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("opaque field type 6"), absl::string_view::npos);
}

TEST(SpdmReport, VbiosVersionAsciiForm) {
  SpdmReport r;
  const std::string ascii = "96.10.73.00.01";
  r.opaque_fields.push_back({static_cast<uint16_t>(OpaqueFieldType::kVbiosVersion),
                             std::vector<uint8_t>(ascii.begin(), ascii.end())});
  EXPECT_EQ(r.VbiosVersion(), "96.10.73.00.01");
  EXPECT_EQ(r.DriverVersion(), "");
  EXPECT_FALSE(r.Fwid().has_value());
}

}  // namespace
}  // namespace lightcone::attest
