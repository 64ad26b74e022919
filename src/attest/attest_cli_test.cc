// Runs the real `lightcone attest verify` binary on the shared evidence and on files the
// test writes, checking the JSON output and the exit codes (0 valid, 1 invalid, 2 unreadable).
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "attest/internal/test_files.h"
#include "attest/report_builder.h"
#include "attest/test_ca.h"

namespace lightcone::attest {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

RunResult RunCli(const std::string& args) {
  const std::string cmd =
      std::string(LIGHTCONE_BINARY_DIR) + "/lightcone attest verify " + args + " 2>/dev/null";
  RunResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(AttestCli, RealGpuEvidenceIsValid) {
  const RunResult r = RunCli("--evidence " + testing::SharedPath("nvtrust/gpu_evidence.json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto json = nlohmann::json::parse(r.out);
  ASSERT_EQ(json.size(), 8u);
  for (const auto& item : json) {
    EXPECT_TRUE(item["valid"].get<bool>());
    EXPECT_TRUE(item["reasons"].empty());
    EXPECT_EQ(item["arch"], "HOPPER");
    EXPECT_EQ(item["hwmodel"], "GH100 A01 GSP BROM");
    EXPECT_EQ(item["driver_version"], "590.12");
    EXPECT_EQ(item["vbios_version"], "96.00.A5.00.01");
    for (const char* key : {"ueid", "fwid", "nonce"}) {
      EXPECT_FALSE(item[key].get<std::string>().empty()) << key;
    }
  }
}

TEST(AttestCli, RealSwitchEvidenceIsValid) {
  const RunResult r = RunCli("--evidence " + testing::SharedPath("nvtrust/switch_evidence.json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), 4u);
}

TEST(AttestCli, ReportAndChainFilesAreValid) {
  const RunResult r = RunCli(
      "--report " + testing::SharedPath("nvtrust/hopperAttestationReport.txt") + " --chain " +
      testing::SharedPath("nvtrust/hopperCertChain.txt") +
      " --nonce 931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json[0]["ueid"], "53C22BA15E5D68088282DA074ED9FB37AA585771");
  EXPECT_TRUE(json[0]["nonce_checked"].get<bool>());
}

TEST(AttestCli, WrongNonceExitsOneWithReason) {
  const RunResult r = RunCli("--evidence " + testing::SharedPath("nvtrust/gpu_evidence.json") +
                             " --nonce " + std::string(64, '0'));
  ASSERT_EQ(r.exit_code, 1) << r.out;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json[0]["reasons"], nlohmann::json::array({"nonce_mismatch"}));
}

TEST(AttestCli, PastTimeBeforeValidityExitsOne) {
  const RunResult r = RunCli("--evidence " + testing::SharedPath("nvtrust/switch_evidence.json") +
                             " --at 2019-01-01T00:00:00Z");
  ASSERT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["reasons"],
            nlohmann::json::array({"certificate_not_yet_valid"}));
}

TEST(AttestCli, UnreadableInputExitsTwo) {
  EXPECT_EQ(RunCli("--evidence /nonexistent/evidence.json").exit_code, 2);
  EXPECT_EQ(RunCli("--evidence " + WriteTemp("garbage.json", "{not json")).exit_code, 2);
  EXPECT_EQ(RunCli("--evidence " + testing::SharedPath("nvtrust/gpu_evidence.json") +
                   " --nonce xyz")
                .exit_code,
            2);
  EXPECT_EQ(RunCli("--evidence " + testing::SharedPath("nvtrust/gpu_evidence.json") +
                   " --at yesterday")
                .exit_code,
            2);
  EXPECT_EQ(RunCli("").exit_code, 2);
  EXPECT_EQ(RunCli("--report " + testing::SharedPath("nvtrust/hopperAttestationReport.txt"))
                .exit_code,
            2);
}

TEST(AttestCli, TestCaEvidenceNeedsExplicitRoot) {
  auto ca = TestCa::Generate();
  ASSERT_TRUE(ca.ok());
  auto device = ca->IssueDevice();
  ASSERT_TRUE(device.ok());
  ReportSpec spec;
  spec.nonce.fill(0x42);
  spec.fwid = device->fwid;
  auto report = BuildSpdmReport(spec, device->leaf_key);
  ASSERT_TRUE(report.ok());
  nlohmann::json item{
      {"arch", "HOPPER"},
      {"certificate", absl::Base64Escape(device->chain_pem)},
      {"evidence", absl::Base64Escape(absl::string_view(
                       reinterpret_cast<const char*>(report->data()), report->size()))},
      {"nonce", [] {
         std::string s;
         for (int i = 0; i < 32; ++i) s += "42";
         return s;
       }()}};
  const std::string evidence = WriteTemp("test_ca_evidence.json", nlohmann::json::array({item}).dump());
  const std::string root = WriteTemp("test_root.pem", ca->root_pem());

  const RunResult pinned = RunCli("--evidence " + evidence);
  EXPECT_EQ(pinned.exit_code, 1) << pinned.out;
  EXPECT_EQ(nlohmann::json::parse(pinned.out)[0]["reasons"],
            nlohmann::json::array({"chain_untrusted"}));
  const RunResult trusted = RunCli("--evidence " + evidence + " --root " + root);
  EXPECT_EQ(trusted.exit_code, 0) << trusted.out;
}

}  // namespace
}  // namespace lightcone::attest
