#include "landmark/min_rtt_window.h"

#include "gtest/gtest.h"

namespace lightcone::landmark {
namespace {

wire::MeasurementRecord Rec(uint8_t device, int64_t rtt) {
  wire::MeasurementRecord r;
  r.device_id.fill(device);
  r.rtt_ns = rtt;
  return r;
}

TEST(MinRttWindow, KeepsTheMinimumPerDevice) {
  MinRttWindow w(std::chrono::seconds(1), 0);
  w.Add(Rec(1, 500));
  w.Add(Rec(1, 300));
  w.Add(Rec(1, 400));
  w.Add(Rec(2, 900));
  std::vector<wire::MeasurementRecord> out;
  EXPECT_FALSE(w.Flush(999'999'999, false, &out));
  ASSERT_TRUE(w.Flush(1'000'000'000, false, &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].rtt_ns, 300);
  EXPECT_EQ(out[1].rtt_ns, 900);
  // The next window starts empty.
  ASSERT_TRUE(w.Flush(2'000'000'000, false, &out));
  EXPECT_TRUE(out.empty());
}

TEST(MinRttWindow, ForceFlushesEarly) {
  MinRttWindow w(std::chrono::seconds(60), 0);
  w.Add(Rec(1, 5));
  std::vector<wire::MeasurementRecord> out;
  ASSERT_TRUE(w.Flush(10, true, &out));
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace lightcone::landmark
