#include "server/fleet/region_view.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "geo/units.h"
#include "s2/s1angle.h"
#include "s2/s2latlng.h"
#include "server/fleet/fleet_testing.h"

namespace lightcone::server::fleet {
namespace {

using testing::TestNow;

class RegionViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = testing::TempSqliteStore::Create();
    ASSERT_TRUE(t.ok()) << t.status();
    temp_ = *std::move(t);
    auto w = testing::SeedWorld(temp_->store());
    ASSERT_TRUE(w.ok()) << w.status();
    world_ = *std::move(w);
  }
  std::unique_ptr<testing::TempSqliteStore> temp_;
  testing::World world_;
};

double DistanceKm(double lat1, double lon1, double lat2, double lon2) {
  return geo::AngleToKm(
      S1Angle(S2LatLng::FromDegrees(lat1, lon1), S2LatLng::FromDegrees(lat2, lon2)));
}

TEST_F(RegionViewTest, ShowsCapsBoundaryEstimateAndLicence) {
  auto d = testing::AddDevice(temp_->store(), world_, {.name = "a"});
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(testing::Measure(temp_->store(), world_, d->id, testing::kSingaporeDc,
                               TestNow() - absl::Minutes(5))
                  .ok());
  auto view = RegionViewJson(temp_->store(), d->id, TestNow());
  ASSERT_TRUE(view.ok()) << view.status();
  const nlohmann::json& j = *view;
  ASSERT_EQ(j["caps"].size(), 16u);
  const auto& cap0 = j["caps"][0];
  EXPECT_EQ(cap0["name"], "sg-sin-as133165");
  EXPECT_NEAR(cap0["radius_km"].get<double>(),
              cap0["min_rtt_ms"].get<double>() * geo::kVacuumKmPerRttMs, 0.01);
  EXPECT_EQ(cap0["used"], true);
  EXPECT_EQ(j["region"]["empty"], false);
  // Caps below a hemisphere meet in one convex piece: one closed loop.
  ASSERT_EQ(j["region"]["boundary"].size(), 1u);
  // Every boundary point lies within the smallest caps' reach of the true position, and each
  // loop is closed.
  for (const auto& loop : j["region"]["boundary"]) {
    ASSERT_GE(loop.size(), static_cast<size_t>(kMinPointsPerArc));
    EXPECT_NEAR(loop.front()[0].get<double>(), loop.back()[0].get<double>(), 1e-4);
    EXPECT_NEAR(loop.front()[1].get<double>(), loop.back()[1].get<double>(), 1e-4);
    for (const auto& p : loop) {
      EXPECT_LT(DistanceKm(p[0], p[1], testing::kSingaporeDc.latitude_deg,
                           testing::kSingaporeDc.longitude_deg),
                2 * j["region"]["radius_km"].get<double>() + 1);
    }
  }
  ASSERT_TRUE(j["estimate"].is_object());
  EXPECT_LT(DistanceKm(j["estimate"]["latitude_deg"], j["estimate"]["longitude_deg"],
                       testing::kSingaporeDc.latitude_deg, testing::kSingaporeDc.longitude_deg),
            30);
  EXPECT_EQ(j["licensed_area"]["sites"][0]["name"], "SIN-DC1");
  EXPECT_EQ(j["licensed_area"]["countries"], nlohmann::json::array({"SG"}));
  EXPECT_EQ(j["prohibited_regions"], nlohmann::json::array({"CN", "HK", "MO"}));
}

TEST_F(RegionViewTest, DeviceWithoutMeasurementsHasFullRegionAndNoEstimate) {
  auto d = testing::AddDevice(temp_->store(), world_, {.name = "quiet", .licence_id = 0});
  ASSERT_TRUE(d.ok());
  auto view = RegionViewJson(temp_->store(), d->id, TestNow());
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_TRUE((*view)["caps"].empty());
  EXPECT_EQ((*view)["region"]["full"], true);
  EXPECT_TRUE((*view)["region"]["boundary"].empty());
  EXPECT_TRUE((*view)["estimate"].is_null());
  EXPECT_TRUE((*view)["licensed_area"]["sites"].empty());
}

TEST_F(RegionViewTest, UnknownDeviceIsNotFound) {
  auto view = RegionViewJson(temp_->store(), 987654, TestNow());
  EXPECT_EQ(view.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lightcone::server::fleet
