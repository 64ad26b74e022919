// `lightcone license import FILE --server URL --token TOKEN [--ca-cert PEM]`: creates or
// updates (matched by reference) the licences in FILE through the fleet server API.
//
// FILE is JSON (an array of licence objects as in docs/api.md, or {"licences": [...]}) or
// CSV with a header and one row per licence (docs/api.md "Licence import"):
//   reference,holder,end_user,allowed_countries,prohibited_regions,model_caps,sites,
//   valid_from,valid_until[,reporting_cadence_s][,organization_id]
// where lists are separated by ';', model_caps are MODEL=COUNT and sites are
// NAME@LAT:LON:RADIUS_KM. Fields cannot contain commas. The whole file is checked before
// anything is sent: a malformed file exits 2 naming file:line (CSV, JSON syntax) or
// licences[i].field (JSON), and nothing is imported.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "core/csv.h"
#include "core/logging.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace lightcone::cli {
namespace {

using Json = nlohmann::json;

struct LicenseArgs {
  std::string file;
  std::string server;
  std::string token;
  std::string ca_cert;
};

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

absl::StatusOr<Json> LicencesFromCsv(const std::string& text, const std::string& path) {
  auto table = CsvTable::Parse(text, path,
                               {"reference", "holder", "valid_from", "valid_until"});
  if (!table.ok()) return table.status();
  Json out = Json::array();
  auto text_of = [&](const CsvRow& row, const char* column) -> std::string {
    return table->Column(column) < 0 ? "" : table->Text(row, column);
  };
  for (const CsvRow& row : table->rows()) {
    for (const char* column : {"reference", "holder", "valid_from", "valid_until"}) {
      if (text_of(row, column).empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(table->Where(row), column, ": empty (required)"));
      }
    }
    Json l = {{"reference", text_of(row, "reference")},
              {"holder", text_of(row, "holder")},
              {"end_user", text_of(row, "end_user")},
              {"allowed_countries", SplitList(text_of(row, "allowed_countries"))},
              {"prohibited_regions", SplitList(text_of(row, "prohibited_regions"))},
              {"valid_from", text_of(row, "valid_from")},
              {"valid_until", text_of(row, "valid_until")}};
    Json caps = Json::array();
    for (const std::string& cap : SplitList(text_of(row, "model_caps"))) {
      const size_t eq = cap.rfind('=');
      int64_t count = 0;
      if (eq == std::string::npos || !absl::SimpleAtoi(cap.substr(eq + 1), &count)) {
        return absl::InvalidArgumentError(absl::StrCat(table->Where(row), "model_caps: '", cap,
                                                       "' is not MODEL=COUNT"));
      }
      caps.push_back({{"model", cap.substr(0, eq)}, {"max_count", count}});
    }
    l["model_caps"] = caps;
    Json sites = Json::array();
    for (const std::string& site : SplitList(text_of(row, "sites"))) {
      const size_t at = site.rfind('@');
      std::vector<std::string> nums =
          at == std::string::npos ? std::vector<std::string>{}
                                  : absl::StrSplit(site.substr(at + 1), ':');
      double lat = 0, lon = 0, radius = 0;
      if (nums.size() != 3 || !absl::SimpleAtod(nums[0], &lat) ||
          !absl::SimpleAtod(nums[1], &lon) || !absl::SimpleAtod(nums[2], &radius)) {
        return absl::InvalidArgumentError(absl::StrCat(
            table->Where(row), "sites: '", site, "' is not NAME@LAT:LON:RADIUS_KM"));
      }
      sites.push_back({{"name", site.substr(0, at)}, {"latitude_deg", lat},
                       {"longitude_deg", lon}, {"radius_km", radius}});
    }
    l["allowed_sites"] = sites;
    for (const char* column : {"reporting_cadence_s", "organization_id"}) {
      const std::string v = text_of(row, column);
      if (v.empty()) continue;
      int64_t n = 0;
      if (!absl::SimpleAtoi(v, &n)) {
        return absl::InvalidArgumentError(
            absl::StrCat(table->Where(row), column, ": '", v, "' is not an integer"));
      }
      l[column] = n;
    }
    out.push_back(l);
  }
  return out;
}

std::unique_ptr<httplib::Client> MakeClient(const std::string& server, const std::string& ca_cert) {
  auto client = std::make_unique<httplib::Client>(server);
  client->set_read_timeout(60, 0);
  if (!ca_cert.empty()) client->set_ca_cert_path(ca_cert.c_str());
  client->enable_server_certificate_verification(true);
  return client;
}

std::string ErrorOf(const httplib::Result& r) {
  if (!r) return absl::StrCat("no answer (", httplib::to_string(r.error()), ")");
  Json j = Json::parse(r->body, nullptr, false);
  if (!j.is_discarded() && j.contains("error")) {
    return absl::StrCat(r->status, " ", j["error"].value("code", ""), ": ",
                        j["error"].value("message", ""));
  }
  return absl::StrCat("HTTP ", r->status);
}

int RunImport(const LicenseArgs& a) {
  auto log = Logger("cli");
  std::ifstream in(a.file, std::ios::binary);
  if (!in) {
    log->error("{}: cannot read", a.file);
    return 2;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Json licences;
  if (absl::EndsWithIgnoreCase(a.file, ".csv")) {
    auto parsed = LicencesFromCsv(text, a.file);
    if (!parsed.ok()) {
      log->error("{}", std::string(parsed.status().message()));
      return 2;
    }
    licences = *parsed;
  } else {
    try {
      licences = Json::parse(text);
    } catch (const Json::parse_error& e) {
      // nlohmann's message names the line and column.
      log->error("{}: {}", a.file, e.what());
      return 2;
    }
    if (licences.is_object() && licences.contains("licences")) licences = licences["licences"];
    if (!licences.is_array()) {
      log->error("{}: expected a JSON array of licences or {{\"licences\": [...]}}", a.file);
      return 2;
    }
    for (size_t i = 0; i < licences.size(); ++i) {
      const Json& l = licences[i];
      if (!l.is_object()) {
        log->error("{}: licences[{}]: not an object", a.file, i);
        return 2;
      }
      for (const char* field : {"reference", "holder", "valid_from", "valid_until"}) {
        if (!l.contains(field) || !l[field].is_string() || l[field].get<std::string>().empty()) {
          log->error("{}: licences[{}].{}: missing or not a non-empty string", a.file, i, field);
          return 2;
        }
      }
    }
  }
  auto client = MakeClient(a.server, a.ca_cert);
  const httplib::Headers headers = {{"Authorization", "Bearer " + a.token}};
  std::map<std::string, int64_t> existing;
  for (int64_t after = 0;;) {
    auto r = client->Get(absl::StrCat("/api/v1/licences?limit=10000&after_id=", after).c_str(), headers);
    if (!r || r->status != 200) {
      log->error("listing licences: {}", ErrorOf(r));
      return 1;
    }
    Json page = Json::parse(r->body, nullptr, false);
    for (const Json& l : page.value("items", Json::array())) {
      existing[l.value("reference", "")] = l.value("id", 0);
    }
    after = page.value("next_after_id", 0);
    if (after == 0) break;
  }
  int created = 0, updated = 0, failed = 0;
  for (size_t i = 0; i < licences.size(); ++i) {
    const Json& l = licences[i];
    const std::string reference = l.is_object() ? l.value("reference", "") : "";
    auto it = existing.find(reference);
    httplib::Result r =
        it == existing.end()
            ? client->Post("/api/v1/licences", headers, l.dump(), "application/json")
            : client->Put(absl::StrCat("/api/v1/licences/", it->second).c_str(), headers,
                          l.dump(), "application/json");
    if (r && (r->status == 200 || r->status == 201)) {
      (it == existing.end() ? created : updated)++;
    } else {
      ++failed;
      log->error("licence {} ({}): {}", i, reference, ErrorOf(r));
    }
  }
  std::printf("%s\n", Json{{"created", created}, {"updated", updated}, {"failed", failed}}.dump().c_str());
  return failed == 0 ? 0 : 1;
}

}  // namespace

void AddLicenseCommand(CLI::App& app, int* exit_code) {
  auto* license = app.add_subcommand("license", "import licences into the fleet server");
  license->require_subcommand(1);
  auto* import = license->add_subcommand("import", "create or update licences from JSON or CSV");
  auto args = std::make_shared<LicenseArgs>();
  import->add_option("file", args->file, "licences.json or licences.csv")->required();
  import->add_option("--server", args->server, "server URL, e.g. http://127.0.0.1:8080")->required();
  import->add_option("--token", args->token, "API token (operator or admin)")->required();
  import->add_option("--ca-cert", args->ca_cert, "PEM CA to verify an HTTPS server");
  import->callback([args, exit_code] { *exit_code = RunImport(*args); });
}

}  // namespace lightcone::cli
