// `lightcone report --server URL --token TOKEN --licence ID|--site ID --format json|csv
// [--out FILE] [--ca-cert PEM]`: fetches a compliance report from the fleet server.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "core/logging.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace lightcone::cli {
namespace {

struct ReportArgs {
  std::string server;
  std::string token;
  int64_t licence_id = 0;
  int64_t site_id = 0;
  std::string format = "json";
  std::string out;
  std::string ca_cert;
};

int RunReport(const ReportArgs& a) {
  auto log = Logger("cli");
  if ((a.licence_id > 0) == (a.site_id > 0)) {
    log->error("give exactly one of --licence ID or --site ID");
    return 2;
  }
  if (a.format != "json" && a.format != "csv") {
    log->error("--format must be json or csv");
    return 2;
  }
  httplib::Client client(a.server);
  client.set_read_timeout(120, 0);
  if (!a.ca_cert.empty()) client.set_ca_cert_path(a.ca_cert.c_str());
  client.enable_server_certificate_verification(true);
  const std::string path =
      a.licence_id > 0
          ? absl::StrCat("/api/v1/reports/licences/", a.licence_id, "?format=", a.format)
          : absl::StrCat("/api/v1/reports/sites/", a.site_id, "?format=", a.format);
  auto r = client.Get(path.c_str(), {{"Authorization", "Bearer " + a.token}});
  if (!r) {
    log->error("{}: no answer ({})", a.server, httplib::to_string(r.error()));
    return 1;
  }
  if (r->status != 200) {
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    log->error("{}: HTTP {} {}", path, r->status,
               j.is_object() && j.contains("error") ? j["error"].value("message", "") : "");
    return r->status == 404 || r->status == 400 ? 2 : 1;
  }
  if (a.out.empty()) {
    std::fwrite(r->body.data(), 1, r->body.size(), stdout);
    if (!r->body.empty() && r->body.back() != '\n') std::fputc('\n', stdout);
    return 0;
  }
  std::ofstream out(a.out, std::ios::binary);
  out << r->body;
  if (!out.good()) {
    log->error("--out {}: cannot write", a.out);
    return 1;
  }
  return 0;
}

}  // namespace

void AddReportCommand(CLI::App& app, int* exit_code) {
  auto* report = app.add_subcommand("report", "fetch a licence or site compliance report");
  auto args = std::make_shared<ReportArgs>();
  report->add_option("--server", args->server, "server URL, e.g. http://127.0.0.1:8080")->required();
  report->add_option("--token", args->token, "API token (operator, auditor or admin)")->required();
  report->add_option("--licence", args->licence_id, "licence id");
  report->add_option("--site", args->site_id, "site id");
  report->add_option("--format", args->format, "json or csv")->capture_default_str();
  report->add_option("--out", args->out, "write here instead of stdout");
  report->add_option("--ca-cert", args->ca_cert, "PEM CA to verify an HTTPS server");
  report->callback([args, exit_code] { *exit_code = RunReport(*args); });
}

}  // namespace lightcone::cli
