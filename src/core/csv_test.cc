#include "core/csv.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightcone {
namespace {

using ::testing::HasSubstr;

TEST(CsvTable, ParsesHeaderAndRows) {
  auto t = CsvTable::Parse("a,b\n1, 2\r\n\n3,4\n", "x.csv", {"a", "b"});
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->rows().size(), 2u);
  EXPECT_EQ(t->rows()[1].line, 4);
  EXPECT_EQ(*t->Double(t->rows()[0], "b"), 2.0);
}

TEST(CsvTable, MissingColumnNamesFileAndColumn) {
  auto t = CsvTable::Parse("a,c\n1,2\n", "x.csv", {"a", "b"});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().ToString(), HasSubstr("x.csv:1: missing column 'b'"));
}

TEST(CsvTable, WrongFieldCountNamesLine) {
  auto t = CsvTable::Parse("a,b\n1,2\n3\n", "x.csv", {"a"});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().ToString(), HasSubstr("x.csv:3: expected 2 fields, found 1"));
}

TEST(CsvTable, EmptyFileIsAnError) {
  EXPECT_THAT(CsvTable::Parse("", "e.csv", {}).status().ToString(), HasSubstr("e.csv: file is empty"));
  EXPECT_THAT(CsvTable::Parse("a,b\n", "e.csv", {}).status().ToString(), HasSubstr("no data rows"));
}

TEST(CsvTable, NonNumericAndNanAreRejected) {
  auto t = CsvTable::Parse("a\nabc\nnan\n", "n.csv", {"a"});
  ASSERT_TRUE(t.ok());
  EXPECT_THAT(t->Double(t->rows()[0], "a").status().ToString(), HasSubstr("n.csv:2: column 'a': 'abc' is not a number"));
  EXPECT_THAT(t->Double(t->rows()[1], "a").status().ToString(), HasSubstr("not finite"));
}

TEST(CsvTable, MissingFileIsNotFound) {
  EXPECT_EQ(CsvTable::ReadFile("/nonexistent/x.csv", {}).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lightcone
