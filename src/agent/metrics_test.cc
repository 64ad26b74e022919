#include "agent/metrics.h"

#include "gtest/gtest.h"

namespace lightcone::agent {
namespace {

TEST(MetricsWriter, WritesFamilyHeaderAndSamples) {
  MetricsWriter w;
  w.Family("lightcone_test_total", "counter", "A test counter.");
  w.Sample("lightcone_test_total", {{"gpu", "0"}, {"xid", "79"}}, 3);
  w.Sample("lightcone_test_total", {}, 0.25);
  EXPECT_EQ(w.text(),
            "# HELP lightcone_test_total A test counter.\n"
            "# TYPE lightcone_test_total counter\n"
            "lightcone_test_total{gpu=\"0\",xid=\"79\"} 3\n"
            "lightcone_test_total 0.25\n");
}

TEST(EscapeLabelValue, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("NVIDIA H100 80GB HBM3"), "NVIDIA H100 80GB HBM3");
}

TEST(MetricsRegistry, RendersCollectorsInOrder) {
  MetricsRegistry r;
  r.AddCollector([](MetricsWriter& w) { w.Sample("a", {}, 1); });
  r.AddCollector([](MetricsWriter& w) { w.Sample("b", {}, 2); });
  EXPECT_EQ(r.Render(), "a 1\nb 2\n");
}

}  // namespace
}  // namespace lightcone::agent
