#include "geo/dataset.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lightcone::geo {
namespace {

using ::testing::HasSubstr;

constexpr char kHosts[] =
    "id,lat,lon,country,city\n"
    "a,50.0,8.0,DE,Frankfurt\n"
    "b,52.0,4.0,NL,Amsterdam\n"
    "c,,,FR,Unknown\n";
constexpr char kRtts[] =
    "landmark,target,rtt_ms\n"
    "a,b,7.5\n"
    "b,a,7.9\n"
    "a,c,3.0\n"
    "b,x,12.0\n";

absl::StatusOr<Dataset> ParseBoth(const std::string& hosts, const std::string& rtts) {
  return Dataset::Parse(hosts, "hosts.csv", rtts, "rtts.csv");
}

void ExpectInvalid(const absl::StatusOr<Dataset>& ds, const std::string& substring) {
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument) << ds.status();
  EXPECT_THAT(std::string(ds.status().message()), HasSubstr(substring));
}

TEST(Dataset, ParsesHostsSamplesAndTargets) {
  auto ds = ParseBoth(kHosts, kRtts);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ(ds->hosts().size(), 4u);  // a, b, c and the rtts-only target x.
  EXPECT_EQ(ds->samples().size(), 4u);
  ASSERT_TRUE(ds->IndexOf("x").has_value());
  EXPECT_FALSE(ds->hosts()[*ds->IndexOf("x")].position.has_value());
  EXPECT_FALSE(ds->hosts()[*ds->IndexOf("c")].position.has_value());
  EXPECT_NEAR(ds->hosts()[*ds->IndexOf("b")].position->lat().degrees(), 52.0, 1e-12);
  EXPECT_EQ(ds->hosts()[*ds->IndexOf("b")].country, "NL");
  EXPECT_FALSE(ds->IndexOf("nobody").has_value());
  EXPECT_EQ(ds->PositionedHosts(), (std::vector<int>{0, 1}));
  EXPECT_EQ(ds->UnpositionedHosts(), (std::vector<int>{2, 3}));
  auto for_a = ds->SamplesForTarget(*ds->IndexOf("a"));
  ASSERT_EQ(for_a.size(), 1u);
  EXPECT_EQ(for_a[0].landmark, *ds->IndexOf("b"));
  EXPECT_DOUBLE_EQ(for_a[0].rtt_ms, 7.9);
}

TEST(Dataset, DuplicatePairKeepsMinimumAndCountsIt) {
  auto ds = ParseBoth(kHosts, std::string(kRtts) + "a,b,6.25\na,b,9.0\n");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->duplicate_rows_merged(), 2);
  auto for_b = ds->SamplesForTarget(*ds->IndexOf("b"));
  ASSERT_EQ(for_b.size(), 1u);
  EXPECT_DOUBLE_EQ(for_b[0].rtt_ms, 6.25);
}

TEST(Dataset, CityMayHoldCommas) {
  auto ds = ParseBoth("id,lat,lon,country,city\na,1,2,US,Ashburn, VA, US\nb,3,4,US,Reno\n",
                      "landmark,target,rtt_ms\na,b,40\n");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->hosts()[0].city, "Ashburn, VA, US");
  EXPECT_EQ(ds->hosts()[1].city, "Reno");
  // Anywhere else an extra field is still an error.
  ExpectInvalid(ParseBoth(kHosts, "landmark,target,rtt_ms\na,b,1,2\n"),
                "rtts.csv:2: expected 3 fields, found 4");
}

TEST(Dataset, MissingColumn) {
  ExpectInvalid(ParseBoth("id,lat,country,city\na,1,DE,X\n", kRtts),
                "hosts.csv:1: missing column 'lon'");
  ExpectInvalid(ParseBoth(kHosts, "landmark,target\na,b\n"), "rtts.csv:1: missing column 'rtt_ms'");
}

TEST(Dataset, NonNumericRtt) {
  ExpectInvalid(ParseBoth(kHosts, "landmark,target,rtt_ms\na,b,fast\n"),
                "rtts.csv:2: column 'rtt_ms': 'fast' is not a number");
}

TEST(Dataset, NegativeRtt) {
  ExpectInvalid(ParseBoth(kHosts, "landmark,target,rtt_ms\na,b,1\nb,a,-0.5\n"),
                "rtts.csv:3: negative rtt_ms -0.5");
}

TEST(Dataset, NanRttAndNanLatitude) {
  ExpectInvalid(ParseBoth(kHosts, "landmark,target,rtt_ms\na,b,nan\n"), "rtts.csv:2: column 'rtt_ms'");
  ExpectInvalid(ParseBoth("id,lat,lon,country,city\na,NaN,8,DE,F\n", kRtts),
                "hosts.csv:2: column 'lat'");
}

TEST(Dataset, LatitudeAndLongitudeOutOfRange) {
  ExpectInvalid(ParseBoth("id,lat,lon,country,city\na,90.5,8,DE,F\n", kRtts),
                "hosts.csv:2: host 'a': latitude 90.5 out of range [-90, 90]");
  ExpectInvalid(ParseBoth("id,lat,lon,country,city\na,10,-180.01,DE,F\n", kRtts),
                "hosts.csv:2: host 'a': longitude -180.01 out of range [-180, 180]");
}

TEST(Dataset, HalfAPositionIsRejected) {
  ExpectInvalid(ParseBoth("id,lat,lon,country,city\na,10,,DE,F\n", kRtts),
                "hosts.csv:2: host 'a': lat and lon must both be set or both be empty");
}

TEST(Dataset, DuplicateHostId) {
  ExpectInvalid(ParseBoth("id,lat,lon,country,city\na,1,2,DE,F\nb,1,2,DE,F\na,3,4,DE,F\n", kRtts),
                "hosts.csv:4: duplicate host id 'a' (first on line 2)");
}

TEST(Dataset, LandmarkMustBeKnownAndPositioned) {
  ExpectInvalid(ParseBoth(kHosts, "landmark,target,rtt_ms\na,b,1\nzz,a,2\n"),
                "rtts.csv:3: unknown landmark 'zz'");
  ExpectInvalid(ParseBoth(kHosts, "landmark,target,rtt_ms\nc,a,2\n"),
                "rtts.csv:2: landmark 'c' has no position");
}

TEST(Dataset, SelfMeasurementIsRejected) {
  ExpectInvalid(ParseBoth(kHosts, "landmark,target,rtt_ms\na,a,0.1\n"),
                "rtts.csv:2: landmark 'a' measures itself");
}

TEST(Dataset, EmptyFiles) {
  ExpectInvalid(ParseBoth("", kRtts), "hosts.csv: file is empty");
  ExpectInvalid(ParseBoth(kHosts, ""), "rtts.csv: file is empty");
  ExpectInvalid(ParseBoth(kHosts, "landmark,target,rtt_ms\n"), "rtts.csv: no data rows");
}

TEST(Dataset, MissingFileIsNotFound) {
  auto ds = Dataset::Load("/nonexistent/hosts.csv", "/nonexistent/rtts.csv");
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(ds.status().message()), HasSubstr("/nonexistent/hosts.csv"));
}

TEST(Dataset, LoadsTheRipeAtlasData) {
  const std::string dir = std::string(LIGHTCONE_SHARED_DATA_DIR) + "/ripe-atlas-2018/";
  auto ds = Dataset::Load(dir + "hosts.csv", dir + "rtts.csv");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->PositionedHosts().size(), 333u);
  EXPECT_EQ(ds->samples().size(), 47549u);
  EXPECT_EQ(ds->duplicate_rows_merged(), 0);
  EXPECT_EQ(ds->hosts()[*ds->IndexOf("us-qas-as16509")].city, "Ashburn, VA, US");
}

}  // namespace
}  // namespace lightcone::geo
