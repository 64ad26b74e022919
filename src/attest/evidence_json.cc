#include "attest/evidence_json.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace lightcone::attest {
namespace {

absl::StatusOr<std::string> GetString(const nlohmann::json& item, const char* key, size_t index,
                                      bool required) {
  auto it = item.find(key);
  if (it == item.end() || it->is_null()) {
    if (!required) return std::string();
    return absl::InvalidArgumentError(
        absl::StrCat("evidence item ", index, ": missing required field \"", key, "\""));
  }
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("evidence item ", index, ": field \"", key, "\" is not a string"));
  }
  return it->get<std::string>();
}

absl::StatusOr<std::string> Base64(const std::string& text, const char* key, size_t index) {
  std::string out;
  if (!absl::Base64Unescape(text, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("evidence item ", index, ": field \"", key, "\" is not valid base64"));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> ParseReportHex(absl::string_view hex) {
  std::string digits;
  digits.reserve(hex.size());
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) continue;
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("report hex text contains a non-hex character at offset ", i));
    }
    digits.push_back(c);
  }
  if (digits.size() % 2 != 0) {
    return absl::InvalidArgumentError("report hex text has an odd number of digits");
  }
  if (digits.size() / 2 > kMaxReportBytes) {
    return absl::InvalidArgumentError(absl::StrCat("report is ", digits.size() / 2,
                                                   " bytes, more than kMaxReportBytes (",
                                                   kMaxReportBytes, ")"));
  }
  const std::string bytes = absl::HexStringToBytes(digits);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

absl::StatusOr<std::vector<Evidence>> ParseEvidenceJson(absl::string_view json) {
  if (json.size() > kMaxEvidenceJsonBytes) {
    return absl::InvalidArgumentError(absl::StrCat("evidence JSON is ", json.size(),
                                                   " bytes, more than kMaxEvidenceJsonBytes (",
                                                   kMaxEvidenceJsonBytes, ")"));
  }
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("evidence is not valid JSON");
  if (doc.is_object()) doc = nlohmann::json::array({doc});  // a single item is accepted
  if (!doc.is_array()) {
    return absl::InvalidArgumentError("evidence JSON must be an array of evidence objects");
  }
  if (doc.empty()) return absl::InvalidArgumentError("evidence JSON array is empty");
  if (doc.size() > kMaxEvidenceItems) {
    return absl::InvalidArgumentError(absl::StrCat("evidence JSON has ", doc.size(),
                                                   " items, more than kMaxEvidenceItems (",
                                                   kMaxEvidenceItems, ")"));
  }
  std::vector<Evidence> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& item = doc[i];
    if (!item.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("evidence item ", i, " is not an object"));
    }
    Evidence e;
    auto arch = GetString(item, "arch", i, false);
    auto cert = GetString(item, "certificate", i, true);
    auto report = GetString(item, "evidence", i, true);
    auto nonce = GetString(item, "nonce", i, false);
    auto driver = GetString(item, "driver_version", i, false);
    auto vbios = GetString(item, "vbios_version", i, false);
    for (const auto* s : {&arch, &cert, &report, &nonce, &driver, &vbios}) {
      if (!s->ok()) return s->status();
    }
    auto cert_pem = Base64(*cert, "certificate", i);
    if (!cert_pem.ok()) return cert_pem.status();
    auto report_bytes = Base64(*report, "evidence", i);
    if (!report_bytes.ok()) return report_bytes.status();
    e.arch = *arch;
    e.certificate_chain_pem = *std::move(cert_pem);
    e.report.assign(report_bytes->begin(), report_bytes->end());
    if (!nonce->empty()) {
      auto n = ParseNonceHex(*nonce);
      if (!n.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("evidence item ", i, ": ", std::string(n.status().message())));
      }
      e.expected_nonce = *n;
    }
    e.claimed_driver_version = *driver;
    e.claimed_vbios_version = *vbios;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace lightcone::attest
