#include "attest/evidence_json.h"

#include <gtest/gtest.h>

#include "attest/internal/test_files.h"

namespace lightcone::attest {
namespace {

TEST(ParseEvidenceJson, ReadsNvidiaEvidenceFiles) {
  auto gpus = ParseEvidenceJson(
      testing::ReadFileOrEmpty(testing::SharedPath("nvtrust/gpu_evidence.json")));
  ASSERT_TRUE(gpus.ok()) << gpus.status();
  ASSERT_EQ(gpus->size(), 8u);
  EXPECT_EQ((*gpus)[0].arch, "HOPPER");
  EXPECT_EQ((*gpus)[0].report.size(), 4274u);
  EXPECT_TRUE((*gpus)[0].expected_nonce.has_value());
  EXPECT_EQ((*gpus)[0].claimed_driver_version, "590.12");
  EXPECT_NE((*gpus)[0].certificate_chain_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  auto switches = ParseEvidenceJson(
      testing::ReadFileOrEmpty(testing::SharedPath("nvtrust/switch_evidence.json")));
  ASSERT_TRUE(switches.ok()) << switches.status();
  EXPECT_EQ(switches->size(), 4u);
  EXPECT_EQ((*switches)[0].arch, "LS10");
}

TEST(ParseEvidenceJson, RejectsBadInputWithItemAndField) {
  auto code = [](const std::string& json) { return ParseEvidenceJson(json).status().code(); };
  EXPECT_EQ(code("{"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("[]"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("42"), absl::StatusCode::kInvalidArgument);
  auto missing = ParseEvidenceJson(R"([{"evidence": "AAAA"}])");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("item 0: missing required field \"certificate\""),
            absl::string_view::npos);
  EXPECT_EQ(code(R"([{"certificate": "!!", "evidence": "AAAA"}])"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"([{"certificate": "AAAA", "evidence": "AAAA", "nonce": "12"}])"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"([{"certificate": 5, "evidence": "AAAA"}])"),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseReportHex, IgnoresWhitespaceAndRejectsNonHex) {
  auto ok = ParseReportHex("11 e0\n01ff\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (std::vector<uint8_t>{0x11, 0xe0, 0x01, 0xff}));
  EXPECT_EQ(ParseReportHex("11e").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseReportHex("zz").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::attest
