#include "demo/scenario.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace lightcone::demo {
namespace {

const std::string kShipped = std::string(LIGHTCONE_SOURCE_DIR) + "/scenarios/ghost-datacenter.toml";

constexpr char kMinimal[] = R"(
[world]
name = "mini"
[[landmark]]
name = "a"
latitude_deg = 1
longitude_deg = 2
country = "SG"
[[landmark]]
name = "b"
latitude_deg = 3
longitude_deg = 4
country = "MY"
[[landmark]]
name = "c"
latitude_deg = 5
longitude_deg = 6
country = "ID"
[[organization]]
name = "o"
[[site]]
name = "s"
organization = "o"
latitude_deg = 1
longitude_deg = 2
country = "SG"
[[group]]
name = "g"
organization = "o"
site = "s"
hosts = 2
gpus_per_host = 4
)";

TEST(Scenario, ShippedGhostDatacenterParses) {
  absl::StatusOr<Scenario> s = LoadScenario(kShipped);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "ghost-datacenter");
  EXPECT_GE(s->landmarks.size(), 10u);
  EXPECT_EQ(s->organizations.size(), 2u);
  EXPECT_GE(s->TotalGpus(), 200);
  const ScenarioHostGroup* ghost = s->FindGroup("ghost-sha");
  ASSERT_NE(ghost, nullptr);
  EXPECT_EQ(IdentityGroup(*s, *ghost).name, "sin-b");
  EXPECT_TRUE(ghost->relay_latitude_deg.has_value());
  int expected = 0;
  for (const ScenarioStep& st : s->steps) expected += static_cast<int>(st.expect.size());
  EXPECT_GE(expected, 5);
  EXPECT_EQ(s->steps[1].action, StepAction::kLandmarkLies);
  EXPECT_DOUBLE_EQ(s->steps[1].rtt_factor, 0.25);
}

TEST(Scenario, GroupDefaultsToItsSitePosition) {
  absl::StatusOr<Scenario> s = ParseScenario(kMinimal, "mini.toml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->groups[0].latitude_deg, 1);
  EXPECT_EQ(s->TotalGpus(), 8);
  EXPECT_EQ(HostName(s->groups[0], 1), "g-1");
}

TEST(Scenario, UnknownKeyIsInvalidArgumentNamingIt) {
  absl::StatusOr<Scenario> s = ParseScenario(std::string(kMinimal) + "bogus = 1\n", "mini.toml");
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("bogus"), absl::string_view::npos) << s.status();
}

TEST(Scenario, UnknownReferencesAreInvalidArgument) {
  std::string bad_site = std::string(kMinimal) + R"(
[[group]]
name = "h"
organization = "o"
site = "nowhere"
latitude_deg = 0
longitude_deg = 0
)";
  absl::StatusOr<Scenario> s = ParseScenario(bad_site, "x.toml");
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("nowhere"), absl::string_view::npos) << s.status();

  std::string bad_step = std::string(kMinimal) + R"(
[[step]]
at_s = 1
action = "go_dark"
groups = ["zzz"]
)";
  s = ParseScenario(bad_step, "x.toml");
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("zzz"), absl::string_view::npos) << s.status();
}

TEST(Scenario, BadNumbersAndActionsAreInvalidArgument) {
  std::string s1 = kMinimal;
  s1.replace(s1.find("latitude_deg = 1"), 16, "latitude_deg = 91");
  EXPECT_EQ(ParseScenario(s1, "x").status().code(), absl::StatusCode::kInvalidArgument);
  std::string s2 = std::string(kMinimal) + "[[step]]\nat_s = 1\naction = \"explode\"\ngroups = [\"g\"]\n";
  EXPECT_EQ(ParseScenario(s2, "x").status().code(), absl::StatusCode::kInvalidArgument);
  std::string s3 = std::string(kMinimal) +
                   "[[step]]\nat_s = 5\naction = \"start\"\ngroups = [\"g\"]\n"
                   "[[step]]\nat_s = 1\naction = \"go_dark\"\ngroups = [\"g\"]\n";
  EXPECT_EQ(ParseScenario(s3, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseScenario("[world\n", "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadScenario("/nonexistent/x.toml").status().code(), absl::StatusCode::kNotFound);
}

TEST(Scenario, ScaleReachesAboutTheRequestedGpus) {
  absl::StatusOr<Scenario> s = LoadScenario(kShipped);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(ScaleScenario(10000, &*s).ok());
  EXPECT_NEAR(s->TotalGpus(), 10000, 600);
  const ScenarioHostGroup* ghost = s->FindGroup("ghost-sha");
  const ScenarioHostGroup* src = s->FindGroup("sin-b");
  EXPECT_LE(ghost->hosts * ghost->gpus_per_host, src->hosts * src->gpus_per_host);
  EXPECT_EQ(ScaleScenario(0, &*s).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::demo
