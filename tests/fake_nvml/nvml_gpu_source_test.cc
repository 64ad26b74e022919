// The agent's NVML path against the fake libnvidia-ml.so.1, loaded with dlopen exactly as
// the driver's library would be: inventory, telemetry, /metrics, XIDs, a hung call, a GPU
// that vanishes, and attestation verified end to end with the attest module.
#include "agent/gpu/nvml/nvml_gpu_source.h"

#include <chrono>
#include <string>
#include <thread>

#include "agent/gpu/gpu_monitor.h"
#include "agent/gpu/inventory.h"
#include "agent/gpu/key_binding.h"
#include "agent/http_server.h"
#include "agent/metrics.h"
#include "attest/verifier.h"
#include "gtest/gtest.h"
#include "tests/fake_nvml/fake_nvml_testing.h"
#include "tests/fake_nvml/scenario_builder.h"

namespace lightcone::agent {
namespace {

using fake_nvml::Eventually;
using fake_nvml::HttpGet;
using fake_nvml::kFakeNvmlPath;

std::unique_ptr<NvmlGpuSource> Open(const nlohmann::json& scenario,
                                    absl::Duration deadline = absl::Seconds(10)) {
  const std::string path = ::testing::TempDir() + "/fake_nvml_scenario.json";
  EXPECT_TRUE(fake_nvml::InstallScenario(scenario, path).ok());
  auto source = NvmlGpuSource::Create({.library_path = kFakeNvmlPath, .call_deadline = deadline});
  EXPECT_TRUE(source.ok()) << source.status();
  return source.ok() ? *std::move(source) : nullptr;
}

// The value of the first sample line starting with `prefix` (name plus leading labels), or
// -1 when there is none.
double MetricValue(const std::string& text, const std::string& prefix) {
  size_t pos = 0;
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      const size_t eol = text.find('\n', pos);
      const std::string line = text.substr(pos, eol - pos);
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
    pos += prefix.size();
  }
  return -1;
}

TEST(NvmlGpuSource, MissingLibraryIsNotFound) {
  auto source = NvmlGpuSource::Create({.library_path = "/nonexistent/libnvidia-ml.so.1"});
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
}

TEST(NvmlGpuSource, InventoryMatchesScenario) {
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(2);
  scenario["gpus"][1]["unsupported"] = {"nvmlDeviceGetSerial"};
  auto source = Open(scenario);
  ASSERT_NE(source, nullptr);
  ASSERT_EQ(source->gpu_count(), 2);
  // The fake exports nvmlDeviceGetPciInfo only as _v2: the fallback must have found it.
  EXPECT_NE(source->library().fn().DeviceGetPciInfo, nullptr);

  absl::StatusOr<Inventory> inv = source->ReadInventory();
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->host.driver_version, "550.54.15");
  EXPECT_EQ(inv->host.nvml_version, "12.550.54.15");
  EXPECT_EQ(inv->host.cuda_driver_version, 12040);
  EXPECT_EQ(inv->host.cc_environment, 2u);
  EXPECT_EQ(inv->host.cc_enabled, true);
  EXPECT_FALSE(inv->host.hostname.empty());
  ASSERT_EQ(inv->gpus.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const nlohmann::json& want = scenario["gpus"][i];
    const GpuInventory& g = inv->gpus[i];
    EXPECT_EQ(g.index, i);
    EXPECT_FALSE(g.lost);
    EXPECT_EQ(g.uuid, want["uuid"]);
    EXPECT_EQ(g.name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(g.architecture, "hopper");
    EXPECT_EQ(g.board_part_number, want["board_part_number"]);
    EXPECT_EQ(g.board_id, want["board_id"].get<uint32_t>());
    EXPECT_EQ(g.pci_bus_id, want["pci_bus_id"]);
    EXPECT_EQ(g.pci_device_id, 0x233010deu);
    EXPECT_EQ(g.pci_subsystem_id, 0x16c110deu);
    EXPECT_EQ(g.vbios_version, "96.00.99.00.01");
    EXPECT_EQ(g.inforom_version, "G520.0200.00.05");
    EXPECT_EQ(g.minor_number, static_cast<uint32_t>(i));
    ASSERT_EQ(g.nvlinks.size(), 18u);
    for (size_t l = 0; l < g.nvlinks.size(); ++l) {
      EXPECT_TRUE(g.nvlinks[l].active);
      EXPECT_EQ(g.nvlinks[l].remote_pci_bus_id, want["nvlinks"][l]["remote_pci_bus_id"]);
    }
  }
  EXPECT_EQ(inv->gpus[0].serial, scenario["gpus"][0]["serial"]);
  EXPECT_EQ(inv->gpus[1].serial, "");  // NOT_SUPPORTED is an absent field, not an error

  absl::StatusOr<Inventory> again = source->ReadInventory();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(InventoryHash(*inv), InventoryHash(*again));
}

TEST(NvmlGpuSource, TelemetryInBaseUnits) {
  auto source = Open(fake_nvml::MakeHgxScenario(1));
  ASSERT_NE(source, nullptr);
  absl::StatusOr<TelemetrySample> sample = source->ReadTelemetry();
  ASSERT_TRUE(sample.ok()) << sample.status();
  ASSERT_EQ(sample->gpus.size(), 1u);
  const GpuTelemetry& t = sample->gpus[0];
  EXPECT_FALSE(t.stale);
  EXPECT_FALSE(t.lost);
  EXPECT_DOUBLE_EQ(*t.power_watts, 312.0);
  EXPECT_DOUBLE_EQ(*t.energy_joules, 123456.789);
  EXPECT_DOUBLE_EQ(*t.gpu_temperature_celsius, 41);
  EXPECT_DOUBLE_EQ(*t.memory_temperature_celsius, 48);
  EXPECT_DOUBLE_EQ(*t.sm_clock_hertz, 1980e6);
  EXPECT_DOUBLE_EQ(*t.memory_clock_hertz, 2619e6);
  EXPECT_EQ(t.clock_event_reasons, 0u);  // via the ThrottleReasons fallback name
  EXPECT_DOUBLE_EQ(*t.gpu_utilization_ratio, 0.87);
  EXPECT_EQ(t.memory_total_bytes, 85520809984ull);
  EXPECT_EQ(t.memory_free_bytes, 85520809984ull - 60129542144ull);
  EXPECT_EQ(t.ecc_uncorrected_total, 0u);
  EXPECT_EQ(t.remapped_rows_correctable, 0u);
  EXPECT_EQ(t.nvlink_active_links, 18);
  EXPECT_EQ(t.nvlink_errors_total.at("replay"), 0u);
}

TEST(NvmlGpuSource, MetricsAppearAndUpdateOverTime) {
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(2);
  scenario["gpus"][0]["telemetry"]["power_mw"] = {{0, 100000}, {4.0, 250500}};
  scenario["gpus"][0]["telemetry"]["ecc_corrected"] = {{0, 0}, {4.0, 3}};
  auto source = Open(scenario);
  ASSERT_NE(source, nullptr);
  auto inv = source->ReadInventory();
  ASSERT_TRUE(inv.ok());
  GpuMonitor monitor(source.get(), *inv,
                     {.telemetry_interval = absl::Milliseconds(100),
                      .event_wait = absl::Milliseconds(100)});
  MetricsRegistry registry;
  registry.AddCollector(GpuMetricsCollector(&monitor));
  auto server = HttpServer::Start({.listen_address = "127.0.0.1:0"},
                                  [&](const HttpRequest&) {
                                    return HttpResponse{.content_type = std::string(kMetricsContentType),
                                                        .body = registry.Render()};
                                  });
  ASSERT_TRUE(server.ok());
  monitor.PollTelemetryOnce();

  const std::string labels0 = "{gpu=\"0\",UUID=\"" + inv->gpus[0].uuid +
                              "\",pci_bus_id=\"00000000:18:00.0\",modelName=\"NVIDIA H100 80GB "
                              "HBM3\",Hostname=\"" + inv->host.hostname + "\"";
  std::string text = HttpGet((*server)->port(), "/metrics");
  ASSERT_NE(text.find("HTTP/1.1 200 OK"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE lightcone_gpu_power_watts gauge"), std::string::npos);
  EXPECT_NE(text.find("# TYPE lightcone_gpu_energy_joules_total counter"), std::string::npos);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_power_watts" + labels0 + "}"), 100);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_power_watts{gpu=\"1\""), 313);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_temperature_celsius" + labels0 + ",sensor=\"gpu\"}"),
            41);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_clock_hertz" + labels0 + ",clock=\"sm\"}"), 1980e6);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_utilization_ratio" + labels0 + ",resource=\"gpu\"}"),
            0.87);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_ecc_errors_total" + labels0 + ",type=\"corrected\"}"),
            0);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_telemetry_stale" + labels0 + "}"), 0);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_lost" + labels0 + "}"), 0);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_info" + labels0), 1);
  EXPECT_GE(MetricValue(text, "lightcone_agent_nvml_call_duration_seconds_count"), 1);

  monitor.Start();
  ASSERT_TRUE(Eventually([&] {
    text = HttpGet((*server)->port(), "/metrics");
    return MetricValue(text, "lightcone_gpu_power_watts" + labels0 + "}") == 250.5;
  })) << text;
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_ecc_errors_total" + labels0 + ",type=\"corrected\"}"),
            3);
  EXPECT_GT(MetricValue(text, "lightcone_agent_telemetry_rounds_total"), 1);
  monitor.Stop();
}

TEST(NvmlGpuSource, XidsAreCountedPerCode) {
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(2);
  scenario["gpus"][1]["xids"] = {{{"at_s", 0.1}, {"xid", 79}},
                                 {{"at_s", 0.2}, {"xid", 79}},
                                 {{"at_s", 0.3}, {"xid", 48}}};
  scenario["gpus"][0]["xids"] = {{{"at_s", 0.2}, {"xid", 13}}};
  auto source = Open(scenario);
  ASSERT_NE(source, nullptr);
  auto inv = source->ReadInventory();
  ASSERT_TRUE(inv.ok());
  GpuMonitor monitor(source.get(), *inv, {});
  ASSERT_TRUE(Eventually([&] {
    monitor.PollEventsOnce(absl::Milliseconds(200));
    const MonitorSnapshot s = monitor.Snapshot();
    uint64_t total = 0;
    for (const GpuState& g : s.gpus) {
      for (const auto& [xid, n] : g.xid_counts) total += n;
    }
    return total >= 4;
  }));
  const MonitorSnapshot s = monitor.Snapshot();
  EXPECT_EQ(s.gpus[1].xid_counts, (std::map<uint64_t, uint64_t>{{48, 1}, {79, 2}}));
  EXPECT_EQ(s.gpus[0].xid_counts, (std::map<uint64_t, uint64_t>{{13, 1}}));
  EXPECT_TRUE(s.events_available);

  MetricsRegistry registry;
  registry.AddCollector(GpuMetricsCollector(&monitor));
  const std::string text = registry.Render();
  EXPECT_NE(text.find("# TYPE lightcone_gpu_xid_errors_total counter"), std::string::npos);
  const std::string prefix = "lightcone_gpu_xid_errors_total{gpu=\"1\",UUID=\"" +
                             inv->gpus[1].uuid + "\"";
  size_t line79 = text.find(prefix);
  ASSERT_NE(line79, std::string::npos) << text;
  EXPECT_NE(text.find(",xid=\"79\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find(",xid=\"48\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find(",xid=\"13\"} 1\n"), std::string::npos) << text;
}

TEST(NvmlGpuSource, HungCallMarksDataStaleAndDoesNotStopOtherWork) {
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(2);
  // GPU 1's power reading hangs for 3 s from the start; the deadline is 200 ms.
  scenario["hangs"] = {{{"function", "nvmlDeviceGetPowerUsage"}, {"gpu", 1}, {"after_s", 0},
                        {"duration_s", 3}}};
  auto source = Open(scenario, absl::Milliseconds(200));
  ASSERT_NE(source, nullptr);
  auto inv = source->ReadInventory();
  ASSERT_TRUE(inv.ok()) << inv.status();
  GpuMonitor monitor(source.get(), *inv, {.watch_events = false});
  MetricsRegistry registry;
  registry.AddCollector(GpuMetricsCollector(&monitor));
  auto server = HttpServer::Start({.listen_address = "127.0.0.1:0"}, [&](const HttpRequest&) {
    return HttpResponse{.body = registry.Render()};
  });
  ASSERT_TRUE(server.ok());

  // The round returns (at the deadline) with GPU 0 read and GPU 1 stale.
  monitor.PollTelemetryOnce();
  MonitorSnapshot s = monitor.Snapshot();
  EXPECT_FALSE(s.gpus[0].stale);
  EXPECT_TRUE(s.gpus[0].has_data);
  EXPECT_TRUE(s.gpus[1].stale);
  EXPECT_TRUE(s.source.hung);
  EXPECT_EQ(s.source.timeouts, 1u);

  // While NVML is hung: further rounds return at once, everything is stale, /metrics
  // still answers and says so.
  monitor.PollTelemetryOnce();
  s = monitor.Snapshot();
  EXPECT_TRUE(s.gpus[0].stale);
  EXPECT_GE(s.source.rejected, 1u);
  const std::string text = HttpGet((*server)->port(), "/metrics");
  EXPECT_NE(text.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_EQ(MetricValue(text, "lightcone_agent_nvml_hung "), 1) << text;
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_telemetry_stale{gpu=\"1\""), 1);
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_power_watts{gpu=\"0\""), 312);  // last good value

  // Once the hung call returns, telemetry is fresh again.
  ASSERT_TRUE(Eventually([&] {
    monitor.PollTelemetryOnce();
    const MonitorSnapshot now = monitor.Snapshot();
    return !now.gpus[0].stale && !now.gpus[1].stale;
  }));
  EXPECT_FALSE(monitor.Snapshot().source.hung);
  EXPECT_DOUBLE_EQ(*monitor.Snapshot().gpus[1].latest.power_watts, 313);
}

TEST(NvmlGpuSource, VanishedGpuIsReportedLost) {
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(2);
  scenario["gpus"][1]["lost_after_s"] = 0.5;
  auto source = Open(scenario);
  ASSERT_NE(source, nullptr);
  auto inv = source->ReadInventory();
  ASSERT_TRUE(inv.ok());
  GpuMonitor monitor(source.get(), *inv, {.watch_events = false});
  ASSERT_TRUE(Eventually([&] {
    monitor.PollTelemetryOnce();
    return monitor.Snapshot().gpus[1].lost;
  }));
  const MonitorSnapshot s = monitor.Snapshot();
  EXPECT_FALSE(s.gpus[0].lost);
  EXPECT_FALSE(s.gpus[0].stale);
  MetricsRegistry registry;
  registry.AddCollector(GpuMetricsCollector(&monitor));
  const std::string text = registry.Render();
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_lost{gpu=\"1\""), 1) << text;
  EXPECT_EQ(MetricValue(text, "lightcone_gpu_lost{gpu=\"0\""), 0);

  // A fresh inventory marks it too.
  auto later = source->ReadInventory();
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->gpus[1].lost);
  EXPECT_FALSE(later->gpus[0].lost);
  EXPECT_EQ(InventoryToJson(*later)["gpus"][1]["lost"], true);
}

TEST(NvmlGpuSource, HungInitFailsAtDeadline) {
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(1);
  scenario["hangs"] = {{{"function", "nvmlInit_v2"}, {"after_s", 0}, {"duration_s", 1}}};
  const std::string path = ::testing::TempDir() + "/fake_nvml_scenario.json";
  ASSERT_TRUE(fake_nvml::InstallScenario(scenario, path).ok());
  auto source = NvmlGpuSource::Create(
      {.library_path = kFakeNvmlPath, .call_deadline = absl::Milliseconds(100)});
  EXPECT_EQ(source.status().code(), absl::StatusCode::kDeadlineExceeded);
  // Let the hung nvmlInit finish before another test installs its scenario.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
}

TEST(NvmlGpuSource, AttestationVerifiesEndToEndWithKeyBindingNonce) {
  absl::StatusOr<attest::TestCa> ca = attest::TestCa::Generate();
  ASSERT_TRUE(ca.ok()) << ca.status();
  nlohmann::json scenario = fake_nvml::MakeHgxScenario(2);
  fake_nvml::AddAttestation(scenario, *ca);
  auto source = Open(scenario);
  ASSERT_NE(source, nullptr);

  const std::vector<uint8_t> session_key(32, 0x5a);
  const std::vector<uint8_t> server_nonce(32, 0xc3);
  const std::array<uint8_t, 32> nonce = KeyBindingNonce(session_key, server_nonce);
  absl::StatusOr<AttestationEvidence> e0 = source->Attest(0, nonce);
  ASSERT_TRUE(e0.ok()) << e0.status();
  absl::StatusOr<AttestationEvidence> e1 = source->Attest(1, nonce);
  ASSERT_TRUE(e1.ok()) << e1.status();

  auto verifier = attest::Verifier::Create({.trusted_roots_pem = ca->root_pem()});
  ASSERT_TRUE(verifier.ok());
  attest::VerificationResult r0 = verifier->Verify(
      {.report = e0->report, .certificate_chain_pem = e0->attestation_cert_chain_pem,
       .expected_nonce = nonce, .claimed_driver_version = "550.54.15"});
  EXPECT_TRUE(r0.valid) << testing::PrintToString(r0.reasons);
  EXPECT_EQ(r0.hwmodel, "GH100 A01 GSP BROM");
  EXPECT_EQ(r0.arch, "HOPPER");
  attest::VerificationResult r1 = verifier->Verify(
      {.report = e1->report, .certificate_chain_pem = e1->attestation_cert_chain_pem,
       .expected_nonce = nonce});
  EXPECT_TRUE(r1.valid) << testing::PrintToString(r1.reasons);
  EXPECT_NE(r0.ueid, r1.ueid);

  // A report bound to another session key does not verify against this nonce.
  const std::vector<uint8_t> other_key(32, 0x5b);
  attest::VerificationResult wrong = verifier->Verify(
      {.report = e0->report, .certificate_chain_pem = e0->attestation_cert_chain_pem,
       .expected_nonce = KeyBindingNonce(other_key, server_nonce)});
  EXPECT_FALSE(wrong.valid);
  EXPECT_NE(std::find(wrong.reasons.begin(), wrong.reasons.end(), attest::kReasonNonceMismatch),
            wrong.reasons.end());

  // The pinned NVIDIA root alone does not trust the test chain.
  auto production = attest::Verifier::Create({});
  ASSERT_TRUE(production.ok());
  EXPECT_FALSE(production->Verify({.report = e0->report,
                                   .certificate_chain_pem = e0->attestation_cert_chain_pem,
                                   .expected_nonce = nonce})
                   .valid);
}

TEST(NvmlGpuSource, AttestationWithoutCaIsUnimplemented) {
  auto source = Open(fake_nvml::MakeHgxScenario(1));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->Attest(0, {}).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(source->Attest(5, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::agent
