// MetricsService against the fake NVML library, and without any NVML at all.
#include "agent/metrics_service.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/fake_nvml/fake_nvml_testing.h"
#include "tests/fake_nvml/scenario_builder.h"

namespace lightcone::agent {
namespace {

using fake_nvml::HttpGet;

TEST(MetricsService, ServesGpuMetricsAndExtraCollectors) {
  const std::string path = ::testing::TempDir() + "/metrics_service_scenario.json";
  ASSERT_TRUE(fake_nvml::InstallScenario(fake_nvml::MakeHgxScenario(2), path).ok());
  MetricsService::Options options;
  options.nvml.library_path = fake_nvml::kFakeNvmlPath;
  options.metrics_listen = "127.0.0.1:0";
  auto service = MetricsService::Start(options);
  ASSERT_TRUE(service.ok()) << service.status();
  ASSERT_TRUE((*service)->nvml_available());
  EXPECT_EQ((*service)->metrics_address(),
            "127.0.0.1:" + std::to_string((*service)->metrics_port()));
  EXPECT_EQ((*service)->inventory().gpus.size(), 2u);
  // What main does with the responder's counters.
  (*service)->registry().AddCollector([](MetricsWriter& w) {
    w.Family("lightcone_agent_challenges_answered_total", "counter", "Challenges answered.");
    w.Sample("lightcone_agent_challenges_answered_total", {}, 7);
  });
  (*service)->monitor()->PollTelemetryOnce();
  const std::string text = HttpGet((*service)->metrics_port(), "/metrics");
  EXPECT_NE(text.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(text.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(text.find("\nlightcone_agent_nvml_available 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nlightcone_agent_challenges_answered_total 7\n"), std::string::npos);
  EXPECT_NE(text.find("lightcone_gpu_power_watts{gpu=\"1\""), std::string::npos);
  EXPECT_NE(HttpGet((*service)->metrics_port(), "/nope").find("HTTP/1.1 404"), std::string::npos);
}

TEST(MetricsService, RunsWithoutNvml) {
  MetricsService::Options options;
  options.nvml.library_path = "/nonexistent/libnvidia-ml.so.1";
  options.metrics_listen = "127.0.0.1:0";
  auto service = MetricsService::Start(options);
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_FALSE((*service)->nvml_available());
  EXPECT_EQ((*service)->source(), nullptr);
  EXPECT_FALSE((*service)->inventory().host.hostname.empty());
  const std::string text = HttpGet((*service)->metrics_port(), "/metrics");
  EXPECT_NE(text.find("\nlightcone_agent_nvml_available 0\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("lightcone_gpu_"), std::string::npos);
}

TEST(MetricsService, BadListenAddressFails) {
  MetricsService::Options options;
  options.nvml.library_path = "/nonexistent/libnvidia-ml.so.1";
  options.metrics_listen = "nonsense";
  EXPECT_EQ(MetricsService::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(InventoryJsonOnce, PrintsInventoryWithHash) {
  const std::string path = ::testing::TempDir() + "/metrics_service_scenario.json";
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(3);
  ASSERT_TRUE(fake_nvml::InstallScenario(scenario, path).ok());
  auto text = InventoryJsonOnce({.library_path = fake_nvml::kFakeNvmlPath});
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json j = nlohmann::json::parse(*text);
  ASSERT_EQ(j["gpus"].size(), 3u);
  EXPECT_EQ(j["gpus"][2]["uuid"], scenario["gpus"][2]["uuid"]);
  EXPECT_EQ(j["inventory_hash"].get<std::string>().rfind("sha256:", 0), 0u);
  EXPECT_EQ(InventoryJsonOnce({.library_path = "/nonexistent.so"}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lightcone::agent
