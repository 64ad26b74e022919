// Plays the ghost-data-center episode with the real binaries (`lightcone demo --speed 3`,
// 40 GPUs) and checks the summary: every expected alert raised, no other alert, the
// diverted GPUs never compliant after they reappeared, and exit status 0.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

TEST(DemoEpisode, RaisesExactlyTheExpectedAlertsAndDivertedGpusAreNeverCompliant) {
  char tmpl[] = "/tmp/demo_episode_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string summary_path = dir + "/summary.json";
  const std::string cmd = std::string(LIGHTCONE_BINARY_DIR) +
                          "/lightcone demo --gpus 40 --speed 3 --listen 127.0.0.1:0 --work-dir " +
                          dir + "/world --summary-out " + summary_path + " > " + dir +
                          "/demo.out 2>&1";
  int status = std::system(cmd.c_str());
  std::ifstream in(summary_path);
  ASSERT_TRUE(in.good()) << "no summary; see " << dir << "/demo.out";
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json s = nlohmann::json::parse(text.str(), nullptr, false);
  ASSERT_TRUE(s.is_object()) << text.str();
  for (const auto& e : s["expected"]) EXPECT_TRUE(e["met"].get<bool>()) << e.dump();
  EXPECT_TRUE(s["unexpected"].empty()) << s["unexpected"].dump(2);
  EXPECT_GT(s["diverted"]["devices"].get<int>(), 0);
  EXPECT_EQ(s["diverted"]["ever_compliant_after_diversion"].get<int>(), 0);
  EXPECT_EQ(s["diverted"]["compliant_now"].get<int>(), 0);
  EXPECT_GT(s["verdicts"]["compliant"].get<int>(), 0);
  EXPECT_TRUE(s["passed"].get<bool>());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
