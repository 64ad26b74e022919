// Pure detector logic on hand-built snapshots: the thresholds' edges (the SQLite-backed
// fleet_monitor_test covers each detector end to end).
#include "server/fleet/detectors.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/fleet/fleet_testing.h"

namespace lightcone::server::fleet {
namespace {

using testing::TestNow;

Device MakeDevice(int64_t id, int64_t host_id, absl::Time first_seen, absl::Time last_seen) {
  Device d;
  d.id = id;
  d.organization_id = 1;
  d.host_id = host_id;
  d.licence_id = 1;
  d.uuid = absl::StrCat("GPU-", id);
  d.serial = absl::StrCat("S", id);
  d.model = "NVIDIA H100 80GB HBM3";
  d.first_seen = first_seen;
  d.last_seen = last_seen;
  return d;
}

TEST(DetectCohortDark, SilentWhenTheCohortWentDarkOverDays) {
  std::vector<Device> devices;
  for (int i = 0; i < 8; ++i) {
    // One GPU every 8 hours: never 8 within 6 hours.
    devices.push_back(MakeDevice(i + 1, 1, TestNow() - absl::Hours(24 * 5),
                                 TestNow() - absl::Hours(2 + 8 * i)));
  }
  FleetSnapshot s;
  s.now = TestNow();
  for (const Device& d : devices) s.devices.push_back(DeviceState{.device = &d});
  EXPECT_TRUE(DetectCohortDark(s, {}).empty());
  CohortDarkOptions wide;
  wide.interval = absl::Hours(60);
  std::vector<Finding> f = DetectCohortDark(s, wide);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].alert.type, kCohortDark);
  EXPECT_EQ(f[0].key.rfind("host:1:since:", 0), 0u);
}

TEST(DetectImpossibleTravel, MoveWithinTheUncertaintyRadiiIsSilent) {
  Device d = MakeDevice(1, 1, TestNow() - absl::Hours(100), TestNow());
  Verdict prev;
  prev.device_id = 1;
  prev.time = TestNow() - absl::Hours(1);
  prev.estimate_latitude_deg = 1.3;
  prev.estimate_longitude_deg = 103.8;
  prev.estimate_radius_km = 1500;
  Decision now;
  now.has_estimate = true;
  now.verdict.time = TestNow();
  now.verdict.estimate_latitude_deg = 22.3;  // Hong Kong, ~2,600 km away.
  now.verdict.estimate_longitude_deg = 114.2;
  now.verdict.estimate_radius_km = 200;
  FleetSnapshot s;
  s.now = TestNow();
  s.devices.push_back(DeviceState{.device = &d, .previous = &prev, .decision = &now});
  EXPECT_TRUE(DetectImpossibleTravel(s, {}).empty());  // 2,600 - 1,700 = 900 km in 1 h.
  prev.estimate_radius_km = 50;
  std::vector<Finding> f = DetectImpossibleTravel(s, {});
  ASSERT_EQ(f.size(), 1u);
  auto ev = nlohmann::json::parse(CompleteAlert(f[0]).evidence_json);
  EXPECT_GT(ev["min_moved_km"].get<double>(), 2000);
  EXPECT_EQ(ev["dedup_key"], "device:1");
}

TEST(DetectLicenceOveruse, LicenceWithoutCapsIsNotOverused) {
  Licence lic;
  lic.id = 1;
  lic.reference = "L";
  std::vector<Device> devices;
  for (int i = 0; i < 3; ++i) devices.push_back(MakeDevice(i + 1, 1, TestNow(), TestNow()));
  FleetSnapshot s;
  s.now = TestNow();
  s.licences[1] = &lic;
  for (const Device& d : devices) s.devices.push_back(DeviceState{.device = &d});
  EXPECT_TRUE(DetectLicenceOveruse(s, {}).empty());
  lic.model_caps = {{"NVIDIA H100 80GB HBM3", 3}};
  EXPECT_TRUE(DetectLicenceOveruse(s, {}).empty());  // At the cap is fine.
  lic.model_caps = {{"NVIDIA H100 80GB HBM3", 2}};
  EXPECT_EQ(DetectLicenceOveruse(s, {}).size(), 1u);
}

TEST(DetectIdentityReappearance, SameSerialInTheSamePlaceIsSilent) {
  Device a = MakeDevice(1, 1, TestNow(), TestNow());
  Device b = MakeDevice(2, 1, TestNow(), TestNow());
  b.serial = a.serial;
  FleetSnapshot s;
  s.now = TestNow();
  s.devices = {DeviceState{.device = &a}, DeviceState{.device = &b}};
  EXPECT_TRUE(DetectIdentityReappearance(s, {}).empty());
  b.licence_id = 2;  // Same serial under another licence.
  EXPECT_EQ(DetectIdentityReappearance(s, {}).size(), 1u);
}

TEST(DetectWentDark, UnlicensedAndNewGpusAreNotDark) {
  Device unlicensed = MakeDevice(1, 1, TestNow() - absl::Hours(100), TestNow() - absl::Hours(5));
  unlicensed.licence_id = 0;
  Device young = MakeDevice(2, 1, TestNow() - absl::Minutes(30), TestNow() - absl::Minutes(30));
  Device dark = MakeDevice(3, 1, TestNow() - absl::Hours(100), TestNow() - absl::Hours(5));
  FleetSnapshot s;
  s.now = TestNow();
  s.devices = {DeviceState{.device = &unlicensed}, DeviceState{.device = &young},
               DeviceState{.device = &dark}};
  std::vector<Finding> f = DetectWentDark(s, {});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].alert.device_id, 3);
  // A measurement counts as being heard from.
  s.devices[2].last_heard = TestNow() - absl::Minutes(10);
  EXPECT_TRUE(DetectWentDark(s, {}).empty());
}

TEST(IsResolvableAlertType, EventsNeedAPerson) {
  EXPECT_TRUE(IsResolvableAlertType(kWentDark));
  EXPECT_TRUE(IsResolvableAlertType(kVerdictViolation));
  EXPECT_FALSE(IsResolvableAlertType(kIdentityReappearance));
  EXPECT_FALSE(IsResolvableAlertType(kImpossibleTravel));
  EXPECT_FALSE(IsResolvableAlertType(kLandmarkInconsistent));
}

}  // namespace
}  // namespace lightcone::server::fleet
