#include "server/fleet/verdict_engine.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "s2/s1angle.h"
#include "s2/s2latlng.h"
#include "geo/units.h"
#include "server/fleet/fleet_testing.h"
#include "server/fleet/licence_geometry.h"

namespace lightcone::server::fleet {
namespace {

using ::testing::HasSubstr;
using testing::FiberRttNs;
using testing::Place;
using testing::TestNow;

std::shared_ptr<CountryAreaCache> Countries() {
  static std::shared_ptr<CountryAreaCache> cache = CountryAreaCache::LoadDefault();
  return cache;
}

class VerdictEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    landmarks_ = testing::MakeLandmarks(13);
    for (size_t i = 0; i < landmarks_.size(); ++i) landmarks_[i].id = static_cast<int64_t>(i + 1);
    licence_ = testing::SingaporeLicence(1);
    licence_.id = 7;
    geometry_ = BuildLicenceGeometry(licence_, *Countries());
    ASSERT_TRUE(geometry_.status.ok()) << geometry_.status;
    device_.id = 42;
    device_.licence_id = licence_.id;
    device_.key.assurance = AssuranceLevel::kL1;
  }

  // Honest RTTs from every landmark to `place`.
  std::vector<MinRtt> RttsFrom(const Place& place) const {
    std::vector<MinRtt> rtts;
    for (const Landmark& l : landmarks_) {
      MinRtt r;
      r.device_id = device_.id;
      r.landmark_id = l.id;
      r.min_rtt_ns = FiberRttNs(place.latitude_deg, place.longitude_deg, l.latitude_deg,
                                l.longitude_deg);
      r.count = 10;
      r.last_time = TestNow() - absl::Minutes(5);
      rtts.push_back(r);
    }
    return rtts;
  }

  Decision Decide(const std::vector<MinRtt>& rtts, const VerdictEngineOptions& options = {},
                  const Licence* licence = nullptr, const Verdict* previous = nullptr) {
    VerdictEngine engine(options, landmarks_);
    DeviceInput in;
    in.device = &device_;
    in.rtts = rtts;
    in.licence = licence != nullptr ? licence : &licence_;
    in.geometry = &geometry_;
    in.previous = previous;
    return engine.Decide(in, TestNow());
  }

  std::vector<Landmark> landmarks_;
  Licence licence_;
  LicenceGeometry geometry_;
  Device device_;
};

double DistanceKm(double lat1, double lon1, double lat2, double lon2) {
  return geo::AngleToKm(
      S1Angle(S2LatLng::FromDegrees(lat1, lon1), S2LatLng::FromDegrees(lat2, lon2)));
}

TEST_F(VerdictEngineTest, HonestGpuAtItsSingaporeSiteIsCompliant) {
  Decision d = Decide(RttsFrom(testing::kSingaporeDc));
  EXPECT_EQ(d.verdict.status, VerdictStatus::kCompliant) << d.verdict.reason;
  EXPECT_THAT(d.verdict.reason, HasSubstr("SIN-DC1"));
  EXPECT_EQ(d.verdict.robustness_f, 1);
  EXPECT_EQ(d.verdict.assurance, AssuranceLevel::kL1);
  EXPECT_EQ(d.verdict.device_id, 42);
  ASSERT_TRUE(d.has_estimate);
  // The estimate is near the truth and its radius covers it.
  const double err = DistanceKm(d.verdict.estimate_latitude_deg, d.verdict.estimate_longitude_deg,
                                testing::kSingaporeDc.latitude_deg,
                                testing::kSingaporeDc.longitude_deg);
  EXPECT_LT(err, 30);
  EXPECT_LE(err, d.verdict.estimate_radius_km + 1);
  auto summary = nlohmann::json::parse(d.verdict.region_summary_json);
  EXPECT_EQ(summary["empty"], false);
  EXPECT_EQ(summary["landmarks_used"], 13);
  EXPECT_LT(summary["radius_km"].get<double>(), 50);
  EXPECT_GT(summary["area_km2"].get<double>(), 0);
  ASSERT_TRUE(d.last_compliant_at.has_value());
  EXPECT_EQ(*d.last_compliant_at, TestNow());
  EXPECT_EQ(summary["inputs"].get<std::string>().size(), 16u);
}

TEST_F(VerdictEngineTest, GpuAnsweringFromHongKongIsViolation) {
  Decision d = Decide(RttsFrom(testing::kHongKongDc));
  EXPECT_EQ(d.verdict.status, VerdictStatus::kViolation) << d.verdict.reason;
  EXPECT_THAT(d.verdict.reason, HasSubstr("outside the licensed area"));
  EXPECT_THAT(d.verdict.reason, HasSubstr("beyond site SIN-DC1"));
}

TEST_F(VerdictEngineTest, GpuAnsweringFromBeijingIsNeverCompliant) {
  Decision d = Decide(RttsFrom(testing::kBeijingDc));
  EXPECT_EQ(d.verdict.status, VerdictStatus::kViolation) << d.verdict.reason;
}

TEST_F(VerdictEngineTest, GpuFarAwayWithOnlySlowRepliesIsNeverCompliant) {
  // A diverted GPU that adds delay everywhere: far, slow region, never compliant.
  std::vector<MinRtt> rtts = RttsFrom(testing::kBeijingDc);
  for (MinRtt& r : rtts) r.min_rtt_ns += 40'000'000;
  Decision d = Decide(rtts);
  EXPECT_NE(d.verdict.status, VerdictStatus::kCompliant) << d.verdict.reason;
}

TEST_F(VerdictEngineTest, OneLyingLandmarkDoesNotMakeDivertedGpuCompliant) {
  // A Singapore landmark claims 0.1 ms to a GPU in Hong Kong.
  std::vector<MinRtt> rtts = RttsFrom(testing::kHongKongDc);
  rtts[0].min_rtt_ns = 100'000;
  Decision d = Decide(rtts);
  EXPECT_NE(d.verdict.status, VerdictStatus::kCompliant) << d.verdict.reason;
  EXPECT_TRUE(d.region_inconsistent);
  // The estimate ignores the liar.
  ASSERT_TRUE(d.has_estimate);
  EXPECT_LT(DistanceKm(d.verdict.estimate_latitude_deg, d.verdict.estimate_longitude_deg,
                       testing::kHongKongDc.latitude_deg, testing::kHongKongDc.longitude_deg),
            200);
}

TEST_F(VerdictEngineTest, OneLyingLandmarkDoesNotMakeHonestGpuViolation) {
  // A Hong Kong landmark claims 0.1 ms to a GPU in Singapore.
  std::vector<MinRtt> rtts = RttsFrom(testing::kSingaporeDc);
  rtts[3].min_rtt_ns = 100'000;
  Decision d = Decide(rtts);
  EXPECT_NE(d.verdict.status, VerdictStatus::kViolation) << d.verdict.reason;
}

TEST_F(VerdictEngineTest, WithoutRobustnessAnInconsistentRegionIsUnproven) {
  // With f = 0 the liar's cap empties the region: unproven as inconsistent, never compliant.
  std::vector<MinRtt> rtts = RttsFrom(testing::kHongKongDc);
  rtts[0].min_rtt_ns = 100'000;
  VerdictEngineOptions options;
  options.robustness_f = 0;
  Decision d = Decide(rtts, options);
  EXPECT_EQ(d.verdict.status, VerdictStatus::kUnproven) << d.verdict.reason;
  EXPECT_THAT(d.verdict.reason, HasSubstr("inconsistent"));
}

TEST_F(VerdictEngineTest, UnlicensedGpuIsUnprovenWithReasonUnlicensed) {
  VerdictEngine engine({}, landmarks_);
  std::vector<MinRtt> rtts = RttsFrom(testing::kSingaporeDc);
  DeviceInput in;
  in.device = &device_;
  in.rtts = rtts;
  Decision d = engine.Decide(in, TestNow());
  EXPECT_EQ(d.verdict.status, VerdictStatus::kUnproven);
  EXPECT_EQ(d.verdict.reason, "unlicensed");
  EXPECT_TRUE(d.has_estimate);  // Estimates do not need a licence.
}

TEST_F(VerdictEngineTest, ExpiredLicenceIsUnproven) {
  Licence expired = licence_;
  expired.valid_until = TestNow() - absl::Hours(1);
  Decision d = Decide(RttsFrom(testing::kSingaporeDc), {}, &expired);
  EXPECT_EQ(d.verdict.status, VerdictStatus::kUnproven);
  EXPECT_THAT(d.verdict.reason, HasSubstr("not valid"));
}

TEST_F(VerdictEngineTest, NoRecentMeasurementsIsUnproven) {
  std::vector<MinRtt> rtts = RttsFrom(testing::kSingaporeDc);
  for (MinRtt& r : rtts) r.last_time = TestNow() - absl::Hours(30);
  Decision d = Decide(rtts);
  EXPECT_EQ(d.verdict.status, VerdictStatus::kUnproven);
  EXPECT_THAT(d.verdict.reason, HasSubstr("no measurement"));
  Decision none = Decide({});
  EXPECT_EQ(none.verdict.status, VerdictStatus::kUnproven);
  EXPECT_FALSE(none.has_estimate);
}

TEST_F(VerdictEngineTest, TooFewLandmarksIsUnproven) {
  std::vector<MinRtt> rtts = RttsFrom(testing::kSingaporeDc);
  rtts.resize(2);
  Decision d = Decide(rtts);
  EXPECT_EQ(d.verdict.status, VerdictStatus::kUnproven);
  EXPECT_THAT(d.verdict.reason, HasSubstr("only 2 landmark(s)"));
}

TEST_F(VerdictEngineTest, FlaggedLandmarksAreIgnored) {
  // Flag every landmark but two: too few remain.
  for (size_t i = 2; i < landmarks_.size(); ++i) landmarks_[i].status = LandmarkStatus::kFlagged;
  Decision d = Decide(RttsFrom(testing::kSingaporeDc));
  EXPECT_EQ(d.verdict.status, VerdictStatus::kUnproven);
  EXPECT_THAT(d.verdict.reason, HasSubstr("only 2 landmark(s)"));
}

TEST_F(VerdictEngineTest, RegionAcrossTheBorderIsUnproven) {
  // Only far landmarks (Europe, India, Australia): the region is huge.
  std::vector<MinRtt> rtts = RttsFrom(testing::kSingaporeDc);
  std::vector<MinRtt> far;
  for (const MinRtt& r : rtts) {
    if (r.landmark_id >= 11) far.push_back(r);
  }
  Decision d = Decide(far);
  EXPECT_EQ(d.verdict.status, VerdictStatus::kUnproven) << d.verdict.reason;
  EXPECT_THAT(d.verdict.reason, HasSubstr("not contained"));
}

TEST_F(VerdictEngineTest, StatusSinceAndLastCompliantCarryAcrossVerdicts) {
  Decision first = Decide(RttsFrom(testing::kSingaporeDc));
  Verdict previous = first.verdict;
  previous.time = TestNow() - absl::Hours(3);
  previous.region_summary_json = R"({"status_since":"2026-11-20T00:00:00Z"})";
  Decision second = Decide(RttsFrom(testing::kSingaporeDc), {}, nullptr, &previous);
  ASSERT_TRUE(second.status_since.has_value());
  EXPECT_EQ(*second.status_since, absl::FromUnixSeconds(1795132800));  // 2026-11-20
  // Now the GPU moves: the status changes, status_since resets, last compliant is kept.
  Verdict compliant_before = second.verdict;
  Decision moved = Decide(RttsFrom(testing::kHongKongDc), {}, nullptr, &compliant_before);
  EXPECT_EQ(moved.verdict.status, VerdictStatus::kViolation);
  EXPECT_EQ(*moved.status_since, TestNow());
  ASSERT_TRUE(moved.last_compliant_at.has_value());
  EXPECT_EQ(*moved.last_compliant_at, TestNow());
}

TEST_F(VerdictEngineTest, UnchangedInputsReuseThePreviousVerdict) {
  const std::vector<MinRtt> rtts = RttsFrom(testing::kSingaporeDc);
  Decision first = Decide(rtts);
  Verdict previous = first.verdict;
  previous.time = TestNow() - absl::Hours(2);
  // A marker only a reused verdict carries over.
  previous.reason = "reused marker";
  Decision again = Decide(rtts, {}, nullptr, &previous);
  EXPECT_EQ(again.verdict.reason, "reused marker");
  EXPECT_EQ(again.verdict.time, TestNow());
  EXPECT_EQ(again.verdict.status, VerdictStatus::kCompliant);
  EXPECT_TRUE(again.has_estimate);
  // Any change of input recomputes: a new RTT, another licence geometry, other options.
  std::vector<MinRtt> changed = rtts;
  changed[5].min_rtt_ns -= 1000;
  EXPECT_NE(Decide(changed, {}, nullptr, &previous).verdict.reason, "reused marker");
  Licence moved = licence_;
  moved.allowed_sites[0].radius_km = 60;
  EXPECT_NE(Decide(rtts, {}, &moved, &previous).verdict.reason, "reused marker");
  VerdictEngineOptions f0;
  f0.robustness_f = 0;
  EXPECT_NE(Decide(rtts, f0, nullptr, &previous).verdict.reason, "reused marker");
  // Crossing the end of the licence's validity recomputes too.
  Licence ending = licence_;
  ending.valid_until = TestNow() - absl::Seconds(1);
  EXPECT_THAT(Decide(rtts, {}, &ending, &previous).verdict.reason, HasSubstr("not valid"));
}

}  // namespace
}  // namespace lightcone::server::fleet
