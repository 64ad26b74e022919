#include "core/toml_util.h"

#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"

namespace lightcone::toml_util {
namespace {

TEST(TomlUtilTest, ConfigErrorNamesTheOrigin) {
  absl::Status s = ConfigError("a.toml", "listen missing");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "a.toml: listen missing");
}

TEST(TomlUtilTest, ParsesATable) {
  absl::StatusOr<toml::table> t = ParseTable("listen = \"0.0.0.0:1\"\n[x]\ny = 3\n", "a.toml");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)["listen"].value<std::string>(), "0.0.0.0:1");
  EXPECT_EQ((*t)["x"]["y"].value<int64_t>(), 3);
}

TEST(TomlUtilTest, SyntaxErrorNamesOriginAndLine) {
  absl::StatusOr<toml::table> t = ParseTable("a = 1\nb = = 2\n", "bad.toml");
  ASSERT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  std::string message(t.status().message());
  EXPECT_EQ(message.rfind("bad.toml: TOML syntax: ", 0), 0u) << message;
  EXPECT_NE(message.find(" at line 2"), std::string::npos) << message;
}

TEST(TomlUtilTest, ReadsAFile) {
  std::string path = ::testing::TempDir() + "/toml_util_test.toml";
  {
    std::ofstream out(path);
    out << "a = 1\n";
  }
  absl::StatusOr<std::string> text = ReadConfigFile(path, "test config");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "a = 1\n");
  unlink(path.c_str());
}

TEST(TomlUtilTest, MissingFileIsNotFound) {
  absl::StatusOr<std::string> text = ReadConfigFile("/nonexistent/x.toml", "agent config");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(text.status().message(), "/nonexistent/x.toml: cannot read the agent config");
}

}  // namespace
}  // namespace lightcone::toml_util
