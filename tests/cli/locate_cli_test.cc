// `lightcone locate` as a user runs it: exit status, messages and the JSON it writes.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

using ::testing::HasSubstr;

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr together.
};

CommandResult Lightcone(const std::string& args) {
  const std::string cmd = std::string(LIGHTCONE_BINARY_DIR) + "/lightcone " + args + " 2>&1";
  CommandResult run;
  FILE* pipe = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) run.output.append(buf, n);
  const int raw = pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

class LocateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("locate_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    Write("hosts.csv",
          "id,lat,lon,country,city\n"
          "a,48.85,2.35,FR,Paris\nb,52.52,13.40,DE,Berlin\nc,41.90,12.50,IT,Rome\n"
          "d,40.42,-3.70,ES,Madrid\n");
    Write("rtts.csv",
          "landmark,target,rtt_ms\n"
          "a,b,12\nc,b,16\nd,b,30\nb,a,12\nc,a,14\nd,a,14\na,c,14\nb,c,16\nd,c,22\n"
          "a,d,14\nb,d,30\nc,d,22\na,x,3\nb,x,11\nc,x,13\nd,x,15\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Args(const std::string& hosts = "hosts.csv", const std::string& rtts = "rtts.csv") {
    return "locate --hosts " + Path(hosts) + " --rtts " + Path(rtts);
  }

  std::filesystem::path dir_;
};

TEST_F(LocateCli, LocatesUnknownTargetAndWritesJson) {
  CommandResult r = Lightcone(Args() + " --out " + Path("out.json") + " --prove-outside CN,HK,MO");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1 targets"));
  nlohmann::json j = nlohmann::json::parse(std::ifstream(Path("out.json")));
  ASSERT_EQ(j["targets"].size(), 1u);
  EXPECT_EQ(j["targets"][0]["id"], "x");
  EXPECT_EQ(j["targets"][0]["sound"]["proven_outside"], true);  // 3 ms from Paris.
  EXPECT_LT(j["targets"][0]["sound"]["radius_km"].get<double>(), 3 * 149.9 * 2 + 1);
  EXPECT_TRUE(j["summary"].contains("flagged_landmarks"));
}

TEST_F(LocateCli, LeaveOneOutReportsErrors) {
  CommandResult r = Lightcone(Args() + " --leave-one-out --method cbg --out " + Path("loo.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(std::ifstream(Path("loo.json")));
  EXPECT_EQ(j["summary"]["targets"], 4);
  EXPECT_EQ(j["summary"]["sound_violations"], 0);
  EXPECT_TRUE(j["targets"][0]["error_km"].is_number());
  EXPECT_EQ(j["targets"][0]["sound"]["consistent"], true);
}

struct BadInput {
  const char* name;
  const char* hosts;  // nullptr: the good file.
  const char* rtts;
  const char* message;
};

class LocateCliBadInput : public LocateCli, public ::testing::WithParamInterface<BadInput> {};

TEST_P(LocateCliBadInput, ExitsTwoNamingFileLineAndProblem) {
  const BadInput& p = GetParam();
  const std::string hosts = p.hosts ? "bad_hosts.csv" : "hosts.csv";
  const std::string rtts = p.rtts ? "bad_rtts.csv" : "rtts.csv";
  if (p.hosts) Write(hosts, p.hosts);
  if (p.rtts) Write(rtts, p.rtts);
  CommandResult r = Lightcone(Args(hosts, rtts));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(p.message)) << r.output;
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("terminate"))) << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, LocateCliBadInput,
    ::testing::Values(
        BadInput{"MissingColumn", nullptr, "landmark,target\na,b\n", "missing column 'rtt_ms'"},
        BadInput{"NonNumericRtt", nullptr, "landmark,target,rtt_ms\na,b,fast\n", "bad_rtts.csv:2"},
        BadInput{"NegativeRtt", nullptr, "landmark,target,rtt_ms\na,b,-1\n", "bad_rtts.csv:2"},
        BadInput{"NanRtt", nullptr, "landmark,target,rtt_ms\na,b,nan\n", "bad_rtts.csv:2"},
        BadInput{"LatitudeOutOfRange", "id,lat,lon,country,city\na,95,2,FR,P\n", nullptr,
                 "bad_hosts.csv:2"},
        BadInput{"DuplicateHost", "id,lat,lon,country,city\na,1,2,FR,P\na,1,2,FR,P\n", nullptr,
                 "bad_hosts.csv:3"},
        BadInput{"UnknownLandmark", nullptr, "landmark,target,rtt_ms\nzz,a,5\n", "bad_rtts.csv:2"},
        BadInput{"EmptyFile", nullptr, "", "bad_rtts.csv"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(LocateCli, MissingFileAndBadFlags) {
  EXPECT_EQ(Lightcone("locate --hosts /nonexistent/h.csv --rtts " + Path("rtts.csv")).status, 2);
  EXPECT_EQ(Lightcone(Args() + " --method magic").status, 2);
  EXPECT_EQ(Lightcone(Args() + " --robust -1").status, 2);
  CommandResult unknown = Lightcone(Args() + " --prove-outside CN,ZZ");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_THAT(unknown.output, HasSubstr("ZZ"));
  EXPECT_EQ(Lightcone("locate").status, 2);  // Required flags missing.
}

}  // namespace
