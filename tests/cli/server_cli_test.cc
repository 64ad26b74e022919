// `lightcone license import` and `lightcone report` as a user runs them: the `lightcone`
// binary against a real `lightcone server` child process (SQLite) on loopback. Checks exit
// statuses, messages, what the server stored and the report contents.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "../api/api_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightcone::server {
namespace {

using ::testing::HasSubstr;
using testing::Call;
using testing::Json;

const std::string kBinary = std::string(LIGHTCONE_BINARY_DIR) + "/lightcone";
constexpr int kStartPolls = 600;  // x 50 ms: the server has 30 s to write its port file.

struct CommandResult {
  int status = -1;
  std::string out;  // stdout (and stderr when merged)
};

// Runs `lightcone ARGS`; stderr goes to the output too unless `stdout_only`.
CommandResult Lightcone(const std::string& args, bool stdout_only = false) {
  const std::string cmd =
      kBinary + " " + args + (stdout_only ? " 2>/dev/null" : " 2>&1");
  CommandResult run;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  const int raw = pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

class ServerCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kBinary)) << kBinary;
    std::string tmpl = (std::filesystem::temp_directory_path() / "server_cli-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    pid_ = fork();
    if (pid_ == 0) {
      const std::string db = "sqlite:" + dir_ + "/fleet.db";
      const std::string token_file = dir_ + "/admin-token";
      const std::string port_file = dir_ + "/port";
      execl(kBinary.c_str(), kBinary.c_str(), "server", "--db", db.c_str(), "--listen",
            "127.0.0.1:0", "--admin-token-file", token_file.c_str(), "--port-file",
            port_file.c_str(), "--log-level", "warn", "--no-fleet",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < kStartPolls && port_ == 0; ++i) {
      std::ifstream in(dir_ + "/port");
      std::string text;
      if (!(std::getline(in, text) && absl::SimpleAtoi(text, &port_) && port_ > 0)) {
        port_ = 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_GT(port_, 0) << "lightcone server did not write its port file";
    std::ifstream token_in(dir_ + "/admin-token");
    std::getline(token_in, admin_);
    ASSERT_FALSE(admin_.empty());
    org_ = Expect(201, "POST", "/api/v1/organizations", admin_, {{"name", "acme"}})
               .value("id", int64_t{0});
    ASSERT_GT(org_, 0);
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  Json Expect(int status, const std::string& method, const std::string& path,
              const std::string& token, const Json& body = nullptr) {
    auto r = Call(port_, method, path, token, body.is_null() ? "" : body.dump());
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    return r.json;
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string ServerArgs() const {
    return absl::StrCat("--server http://127.0.0.1:", port_, " --token ", admin_);
  }

  // reference -> licence object, as the server has them.
  std::map<std::string, Json> Licences() {
    std::map<std::string, Json> out;
    Json page = Expect(200, "GET", "/api/v1/licences?limit=1000", admin_);
    for (const Json& l : page.value("items", Json::array())) out[l.value("reference", "")] = l;
    return out;
  }

  std::string dir_;
  pid_t pid_ = 0;
  int port_ = 0;
  std::string admin_;
  int64_t org_ = 0;
};

Json LicenceJson(const std::string& reference, const std::string& holder, int64_t org,
                 int max_count) {
  return {{"reference", reference},
          {"holder", holder},
          {"end_user", "Acme Research"},
          {"organization_id", org},
          {"allowed_countries", {"SG"}},
          {"prohibited_regions", {"CN", "HK"}},
          {"model_caps", {{{"model", "NVIDIA H100 80GB HBM3"}, {"max_count", max_count}}}},
          {"allowed_sites",
           {{{"name", "SIN-DC1"}, {"latitude_deg", 1.33}, {"longitude_deg", 103.7},
             {"radius_km", 50}}}},
          {"valid_from", "2026-01-01T00:00:00Z"},
          {"valid_until", "2027-01-01T00:00:00Z"}};
}

TEST_F(ServerCliTest, LicenseImportJsonCreatesThenUpdatesByReference) {
  const std::string file =
      Write("licences.json", Json{{"licences", {LicenceJson("EL-1", "Acme Compute", org_, 8),
                                                LicenceJson("EL-2", "Acme Cloud", org_, 4)}}}
                                 .dump(2));
  CommandResult first = Lightcone("license import " + file + " " + ServerArgs());
  ASSERT_EQ(first.status, 0) << first.out;
  EXPECT_THAT(first.out, HasSubstr(R"({"created":2,"failed":0,"updated":0})"));
  auto stored = Licences();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored["EL-1"].value("holder", ""), "Acme Compute");
  EXPECT_EQ(stored["EL-1"]["model_caps"][0].value("max_count", 0), 8);
  EXPECT_EQ(stored["EL-2"].value("organization_id", int64_t{0}), org_);
  const int64_t el1_id = stored["EL-1"].value("id", int64_t{0});

  // Second run (a bare array this time): the same references are replaced, not duplicated.
  Write("licences.json", Json{LicenceJson("EL-1", "Acme Compute Pte Ltd", org_, 16),
                              LicenceJson("EL-2", "Acme Cloud", org_, 4)}
                             .dump());
  CommandResult second = Lightcone("license import " + file + " " + ServerArgs());
  ASSERT_EQ(second.status, 0) << second.out;
  EXPECT_THAT(second.out, HasSubstr(R"({"created":0,"failed":0,"updated":2})"));
  stored = Licences();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored["EL-1"].value("id", int64_t{0}), el1_id);
  EXPECT_EQ(stored["EL-1"].value("holder", ""), "Acme Compute Pte Ltd");
  EXPECT_EQ(stored["EL-1"]["model_caps"][0].value("max_count", 0), 16);
}

TEST_F(ServerCliTest, LicenseImportCsvCreatesThenUpdatesByReference) {
  const std::string header =
      "reference,holder,end_user,allowed_countries,prohibited_regions,model_caps,sites,"
      "valid_from,valid_until,reporting_cadence_s,organization_id\n";
  auto row = [&](const std::string& reference, const std::string& holder, int cap) {
    return absl::StrCat(reference, ",", holder, ",Acme Research,SG;MY,CN;HK;MO,",
                        "NVIDIA H100 80GB HBM3=", cap, ";NVIDIA B200=2,",
                        "SIN-DC1@1.33:103.7:50;KUL-1@3.1:101.7:25,2026-01-01T00:00:00Z,",
                        "2027-01-01T00:00:00Z,3600,", org_, "\n");
  };
  const std::string file = Write("licences.csv", header + row("EL-10", "Acme Compute", 512) +
                                                     row("EL-11", "Acme Cloud", 64));
  CommandResult first = Lightcone("license import " + file + " " + ServerArgs());
  ASSERT_EQ(first.status, 0) << first.out;
  EXPECT_THAT(first.out, HasSubstr(R"({"created":2,"failed":0,"updated":0})"));
  auto stored = Licences();
  ASSERT_EQ(stored.size(), 2u);
  const Json& el10 = stored["EL-10"];
  EXPECT_EQ(el10.value("holder", ""), "Acme Compute");
  EXPECT_EQ(el10["allowed_countries"], Json({"SG", "MY"}));
  EXPECT_EQ(el10["prohibited_regions"], Json({"CN", "HK", "MO"}));
  ASSERT_EQ(el10["model_caps"].size(), 2u);
  EXPECT_EQ(el10["model_caps"][0].value("model", ""), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(el10["model_caps"][0].value("max_count", 0), 512);
  ASSERT_EQ(el10["allowed_sites"].size(), 2u);
  EXPECT_EQ(el10["allowed_sites"][1].value("name", ""), "KUL-1");
  EXPECT_DOUBLE_EQ(el10["allowed_sites"][1].value("radius_km", 0.0), 25.0);
  EXPECT_EQ(el10.value("reporting_cadence_s", 0), 3600);

  Write("licences.csv", header + row("EL-10", "Acme Compute Pte Ltd", 256) +
                            row("EL-11", "Acme Cloud", 64) + row("EL-12", "New Holder", 1));
  CommandResult second = Lightcone("license import " + file + " " + ServerArgs());
  ASSERT_EQ(second.status, 0) << second.out;
  EXPECT_THAT(second.out, HasSubstr(R"({"created":1,"failed":0,"updated":2})"));
  stored = Licences();
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored["EL-10"].value("holder", ""), "Acme Compute Pte Ltd");
  EXPECT_EQ(stored["EL-10"]["model_caps"][0].value("max_count", 0), 256);
  EXPECT_EQ(stored["EL-12"].value("holder", ""), "New Holder");
}

TEST_F(ServerCliTest, LicenseImportOfABadFileExits2NamingWhereAndImportsNothing) {
  const std::string header =
      "reference,holder,valid_from,valid_until,model_caps,organization_id\n";
  const std::string good_row = absl::StrCat(
      "EL-1,Acme,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,H100=1,", org_, "\n");
  struct Case {
    std::string name;
    std::string text;
    std::string expected;  // in the message
  };
  const std::vector<Case> cases = {
      {"caps.csv",
       header + good_row +
           absl::StrCat("EL-2,Acme,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,H100,", org_, "\n"),
       "caps.csv:3: model_caps: 'H100' is not MODEL=COUNT"},
      {"holder.csv",
       header + absl::StrCat("EL-3,,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,H100=1,", org_,
                             "\n") +
           good_row,
       "holder.csv:2: holder: empty"},
      {"fields.csv", header + "EL-4,Acme\n", "fields.csv:2"},
      {"cadence.csv",
       "reference,holder,valid_from,valid_until,reporting_cadence_s\n"
       "EL-5,Acme,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,daily\n",
       "cadence.csv:2: reporting_cadence_s: 'daily' is not an integer"},
      {"nocolumn.csv", "reference,holder,valid_from\nEL-6,Acme,2026-01-01T00:00:00Z\n",
       "valid_until"},
      {"syntax.json", "[\n  {\"reference\": \"EL-7\",\n   \"holder\": }\n]\n", "line 3"},
      {"missing.json",
       Json{LicenceJson("EL-8", "Acme", org_, 1), {{"holder", "No Reference"}}}.dump(),
       "missing.json: licences[1].reference"},
      {"notarray.json", R"({"reference": "EL-9"})", "expected a JSON array"},
  };
  for (const Case& c : cases) {
    const std::string file = Write(c.name, c.text);
    CommandResult run = Lightcone("license import " + file + " " + ServerArgs());
    EXPECT_EQ(run.status, 2) << c.name << ": " << run.out;
    EXPECT_THAT(run.out, HasSubstr(c.expected)) << c.name;
  }
  CommandResult missing = Lightcone("license import " + dir_ + "/absent.json " + ServerArgs());
  EXPECT_EQ(missing.status, 2) << missing.out;
  EXPECT_THAT(missing.out, HasSubstr("absent.json: cannot read"));
  // Every file was refused before anything was sent.
  EXPECT_TRUE(Licences().empty());
}

TEST_F(ServerCliTest, ReportListsOneRowPerDeviceAsJsonAndCsv) {
  const int64_t licence =
      Expect(201, "POST", "/api/v1/licences", admin_, LicenceJson("EL-R", "Acme", org_, 8))
          .value("id", int64_t{0});
  const int64_t site = Expect(201, "POST", "/api/v1/sites", admin_,
                              {{"organization_id", org_}, {"name", "SIN-DC1"},
                               {"latitude_deg", 1.33}, {"longitude_deg", 103.7},
                               {"radius_km", 50}, {"country", "SG"}})
                           .value("id", int64_t{0});
  ASSERT_GT(licence, 0);
  ASSERT_GT(site, 0);
  const std::string agent =
      Expect(201, "POST", "/api/v1/tokens", admin_,
             {{"name", "agent"}, {"role", "agent"}, {"organization_id", org_}})
          .value("token", "");
  Json devices = Json::array();
  std::vector<std::string> uuids;
  for (int i = 0; i < 3; ++i) {
    uuids.push_back(absl::StrCat("GPU-0000000", i, "-1234-1234-1234-123456789abc"));
    devices.push_back({{"uuid", uuids.back()},
                       {"serial", absl::StrCat("165200000", i)},
                       {"model", "NVIDIA H100 80GB HBM3"}});
  }
  Json enrolled = Expect(200, "POST", "/api/v1/enroll", agent,
                         {{"hostname", "node-1"}, {"site", "SIN-DC1"}, {"devices", devices}});
  ASSERT_EQ(enrolled["devices"].size(), 3u);
  // Devices 0 and 1 are on the licence; device 2 is not.
  for (int i = 0; i < 2; ++i) {
    Expect(200, "PATCH",
           absl::StrCat("/api/v1/devices/", enrolled["devices"][i].value("id", int64_t{0})),
           admin_, {{"licence_id", licence}});
  }

  // JSON: the licence and exactly its two devices.
  CommandResult json = Lightcone(
      absl::StrCat("report ", ServerArgs(), " --licence ", licence, " --format json"), true);
  ASSERT_EQ(json.status, 0) << json.out;
  Json report = Json::parse(json.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << json.out;
  EXPECT_EQ(report["licence"].value("reference", ""), "EL-R");
  std::set<std::string> reported;
  for (const Json& d : report["devices"]) reported.insert(d.value("uuid", ""));
  EXPECT_EQ(reported, (std::set<std::string>{uuids[0], uuids[1]}));
  ASSERT_EQ(report["usage"].size(), 1u);
  EXPECT_EQ(report["usage"][0].value("in_use", 0), 2);
  EXPECT_EQ(report["usage"][0].value("max_count", 0), 8);

  // CSV to a file: header first, then one row per device of the licence.
  const std::string out = dir_ + "/report.csv";
  CommandResult csv = Lightcone(absl::StrCat("report ", ServerArgs(), " --licence ", licence,
                                             " --format csv --out ", out));
  ASSERT_EQ(csv.status, 0) << csv.out;
  std::ifstream in(out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "uuid,serial,ueid,model,host,site,verdict,verdict_time,last_proof,assurance,"
            "temperature_c,xid_count,open_alerts");
  std::set<std::string> csv_uuids;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(fields.size(), 13u) << lines[i];
    csv_uuids.insert(fields[0]);
    EXPECT_EQ(fields[3], "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(fields[4], "node-1");
  }
  EXPECT_EQ(csv_uuids, (std::set<std::string>{uuids[0], uuids[1]}));

  // Site report (CSV on stdout): all three devices of the host declared at the site.
  CommandResult by_site = Lightcone(
      absl::StrCat("report ", ServerArgs(), " --site ", site, " --format csv"), true);
  ASSERT_EQ(by_site.status, 0) << by_site.out;
  std::vector<std::string> site_lines = absl::StrSplit(by_site.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(site_lines.size(), 4u) << by_site.out;
  EXPECT_EQ(site_lines[0], lines[0]);

  // Unknown licence or site, or bad usage: exit 2 with a message.
  CommandResult unknown =
      Lightcone(absl::StrCat("report ", ServerArgs(), " --licence 999999 --format json"));
  EXPECT_EQ(unknown.status, 2) << unknown.out;
  EXPECT_THAT(unknown.out, HasSubstr("404"));
  EXPECT_EQ(Lightcone(absl::StrCat("report ", ServerArgs(), " --site 999999")).status, 2);
  CommandResult both = Lightcone(
      absl::StrCat("report ", ServerArgs(), " --licence ", licence, " --site ", site));
  EXPECT_EQ(both.status, 2);
  EXPECT_THAT(both.out, HasSubstr("exactly one of --licence ID or --site ID"));
  EXPECT_EQ(Lightcone(absl::StrCat("report ", ServerArgs(), " --licence ", licence,
                                   " --format xml"))
                .status,
            2);
}

// The compliance history's time limit is an operator's setting with a sane range: a limit
// outside 1..3600 s is a usage error (exit 2) naming the flag, before any database is opened.
TEST(ServerCliFlags, LicenceHistoryTimeLimitOutsideItsRangeIsAUsageError) {
  for (const char* bad : {"0", "3601", "-5", "soon"}) {
    const CommandResult run = Lightcone(
        std::string("server --db sqlite:/nonexistent/dir/x.db --licence-history-time-limit-s ") +
        bad);
    EXPECT_EQ(run.status, 2) << bad << ": " << run.out;
    EXPECT_NE(run.out.find("--licence-history-time-limit-s"), std::string::npos) << run.out;
  }
  const CommandResult help = Lightcone("server --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--licence-history-time-limit-s"), std::string::npos);
}

}  // namespace
}  // namespace lightcone::server
