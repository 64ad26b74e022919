// `lightcone attest verify`: checks NVIDIA attestation evidence and prints one JSON result
// per device. Exit 0 when every item is valid, 1 when any is invalid, 2 when the input
// cannot be read or the flags are wrong.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/time/time.h"
#include "attest/evidence_json.h"
#include "attest/verifier.h"
#include "cli/commands.h"

namespace lightcone::cli {
namespace {

// Larger files are not evidence; refuse before reading them.
constexpr std::uintmax_t kMaxInputFileBytes = 16 * 1024 * 1024;

struct AttestFlags {
  std::string evidence_path;
  std::string report_path;
  std::string chain_path;
  std::string nonce_hex;
  std::string at;
  std::string root_path;
  std::string arch;
};

std::optional<std::string> ReadFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    *error = "cannot open " + path;
    return std::nullopt;
  }
  const std::streamoff size = in.tellg();
  if (size < 0 || static_cast<std::uintmax_t>(size) > kMaxInputFileBytes) {
    *error = path + " is larger than 16 MiB";
    return std::nullopt;
  }
  in.seekg(0);
  std::string data(static_cast<size_t>(size), '\0');
  if (!in.read(data.data(), size)) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  return data;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "lightcone attest verify: %s\n", message.c_str());
  return 2;
}

nlohmann::json ToJson(const attest::VerificationResult& r) {
  return nlohmann::json{{"valid", r.valid},
                        {"reasons", r.reasons},
                        {"details", r.details},
                        {"arch", r.arch},
                        {"ueid", r.ueid},
                        {"hwmodel", r.hwmodel},
                        {"driver_version", r.driver_version},
                        {"vbios_version", r.vbios_version},
                        {"fwid", r.fwid},
                        {"nonce", r.nonce},
                        {"nonce_checked", r.nonce_checked}};
}

int RunVerify(const AttestFlags& flags) {
  const bool evidence_mode = !flags.evidence_path.empty();
  const bool report_mode = !flags.report_path.empty() || !flags.chain_path.empty();
  if (evidence_mode == report_mode) {
    return Fail("give either --evidence FILE.json, or --report REPORT.txt with --chain CHAIN.pem");
  }
  if (report_mode && (flags.report_path.empty() || flags.chain_path.empty())) {
    return Fail("--report and --chain must be given together");
  }

  attest::VerifierOptions options;
  if (!flags.at.empty()) {
    absl::Time at;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, flags.at, &at, &err)) {
      return Fail("--at '" + flags.at + "' is not an RFC 3339 time: " + err);
    }
    options.at = at;
  }
  std::string error;
  if (!flags.root_path.empty()) {
    auto pem = ReadFile(flags.root_path, &error);
    if (!pem) return Fail(error);
    options.trusted_roots_pem = *pem;
  }
  auto verifier = attest::Verifier::Create(options);
  if (!verifier.ok()) return Fail(std::string(verifier.status().message()));

  std::optional<attest::Nonce> nonce;
  if (!flags.nonce_hex.empty()) {
    auto n = attest::ParseNonceHex(flags.nonce_hex);
    if (!n.ok()) return Fail("--nonce: " + std::string(n.status().message()));
    nonce = *n;
  }

  std::vector<attest::Evidence> items;
  if (evidence_mode) {
    auto text = ReadFile(flags.evidence_path, &error);
    if (!text) return Fail(error);
    auto parsed = attest::ParseEvidenceJson(*text);
    if (!parsed.ok()) {
      return Fail(flags.evidence_path + ": " + std::string(parsed.status().message()));
    }
    items = *std::move(parsed);
  } else {
    auto hex = ReadFile(flags.report_path, &error);
    if (!hex) return Fail(error);
    auto chain = ReadFile(flags.chain_path, &error);
    if (!chain) return Fail(error);
    auto report = attest::ParseReportHex(*hex);
    if (!report.ok()) {
      return Fail(flags.report_path + ": " + std::string(report.status().message()));
    }
    attest::Evidence e;
    e.report = *std::move(report);
    e.certificate_chain_pem = *chain;
    items.push_back(std::move(e));
  }

  nlohmann::json out = nlohmann::json::array();
  bool all_valid = true;
  for (auto& item : items) {
    if (nonce.has_value()) item.expected_nonce = nonce;  // --nonce overrides the file's
    if (!flags.arch.empty()) item.arch = flags.arch;
    const attest::VerificationResult r = verifier->Verify(item);
    all_valid = all_valid && r.valid;
    out.push_back(ToJson(r));
  }
  std::cout << out.dump(2) << "\n";
  return all_valid ? 0 : 1;
}

}  // namespace

void AddAttestCommand(CLI::App& app, int* exit_code) {
  auto* attest_cmd = app.add_subcommand("attest", "NVIDIA GPU/NVSwitch attestation evidence");
  attest_cmd->require_subcommand(1);
  auto flags = std::make_shared<AttestFlags>();
  auto* verify = attest_cmd->add_subcommand(
      "verify",
      "Verify evidence: SPDM report signature, certificate chain to the pinned NVIDIA root, "
      "nonce and FWID; prints a JSON array of results");
  verify->add_option("--evidence", flags->evidence_path,
                     "evidence JSON: array of {arch, certificate, evidence, nonce, ...}");
  verify->add_option("--report", flags->report_path, "attestation report as hex text");
  verify->add_option("--chain", flags->chain_path, "PEM certificate chain, leaf first");
  verify->add_option("--nonce", flags->nonce_hex,
                     "expected nonce, 64 hex digits (overrides the nonce in the JSON)");
  verify->add_option("--at", flags->at,
                     "verify certificate validity as of this RFC 3339 time");
  verify->add_option("--root", flags->root_path,
                     "trust this PEM root instead of the pinned NVIDIA Device Identity CA "
                     "(tests and demo only)");
  verify->add_option("--arch", flags->arch, "claimed architecture (HOPPER, BLACKWELL, LS10)");
  verify->callback([flags, exit_code] { *exit_code = RunVerify(*flags); });
}

}  // namespace lightcone::cli
