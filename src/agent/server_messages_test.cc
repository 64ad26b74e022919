#include "agent/server_messages.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace lightcone::agent {
namespace {

using nlohmann::json;

Inventory TwoGpusAndASwitch() {
  Inventory inv;
  inv.host.hostname = "gpu-node-17";
  GpuInventory a;
  a.index = 0;
  a.uuid = "GPU-aaaaaaaa-0000-0000-0000-000000000001";
  a.serial = "1652123456789";
  a.name = "NVIDIA H100 80GB HBM3";
  a.architecture = "hopper";
  a.vbios_version = "96.00.99.00.01";
  a.pci_bus_id = "00000000:18:00.0";
  GpuInventory b = a;
  b.index = 1;
  b.uuid = "GPU-bbbbbbbb-0000-0000-0000-000000000002";
  b.serial = "1652123456790";
  b.pci_bus_id = "00000000:2A:00.0";
  // a: two links to b (deduplicated), one to an NVSwitch (not a GPU: left out), one inactive.
  a.nvlinks = {{0, true, "00000000:2a:00.0"}, {1, true, "00000000:2A:00.0"},
               {2, true, "00000000:C0:00.0"}, {3, false, ""}};
  b.nvlinks = {{0, true, "00000000:18:00.0"}};
  GpuInventory lost;
  lost.index = 2;
  lost.lost = true;
  lost.uuid = "GPU-cccccccc-0000-0000-0000-000000000003";
  inv.gpus = {a, b, lost};
  return inv;
}

TEST(ServerMessagesTest, EnrollmentCarriesEveryFieldOfTheContract) {
  EnrollRequest request;
  request.hostname = "gpu-node-17";
  request.probe_address = "10.0.0.17:7447";
  request.site = "SIN-DC1";
  request.devices = EnrollDevicesFromInventory(TwoGpusAndASwitch());
  ASSERT_EQ(request.devices.size(), 2u);  // the lost GPU is not enrolled
  json j = json::parse(EnrollRequestJson(request));
  EXPECT_EQ(j["hostname"], "gpu-node-17");
  EXPECT_EQ(j["probe_address"], "10.0.0.17:7447");
  EXPECT_EQ(j["agent_version"], kAgentVersion);
  EXPECT_EQ(j["site"], "SIN-DC1");
  ASSERT_EQ(j["devices"].size(), 2u);
  const json& d = j["devices"][0];
  EXPECT_EQ(d["uuid"], "GPU-aaaaaaaa-0000-0000-0000-000000000001");
  EXPECT_EQ(d["serial"], "1652123456789");
  EXPECT_EQ(d["model"], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(d["architecture"], "Hopper");
  EXPECT_EQ(d["vbios"], "96.00.99.00.01");
  EXPECT_EQ(d["pci_bus_id"], "00000000:18:00.0");
  EXPECT_EQ(d["ueid"], "");
  EXPECT_EQ(d["nvlink_peers"], json::array({"GPU-bbbbbbbb-0000-0000-0000-000000000002"}));
  EXPECT_EQ(j["devices"][1]["nvlink_peers"],
            json::array({"GPU-aaaaaaaa-0000-0000-0000-000000000001"}));
}

TEST(ServerMessagesTest, AgentInitiatedHostsSendAnEmptyProbeAddress) {
  EnrollRequest request;
  request.hostname = "h";
  json j = json::parse(EnrollRequestJson(request));
  EXPECT_EQ(j["probe_address"], "");
  EXPECT_TRUE(j["devices"].is_array());
}

TEST(ServerMessagesTest, ParsesTheEnrollmentAnswer) {
  std::string nonce(64, 'a');
  auto r = ParseEnrollResponse(R"({"host_id": 4, "devices": [{"uuid": "GPU-x", "id": 9,
      "key_binding_nonce": ")" + nonce + R"("}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->host_id, 4);
  ASSERT_EQ(r->devices.size(), 1u);
  EXPECT_EQ(r->devices[0].uuid, "GPU-x");
  EXPECT_EQ(r->devices[0].id, 9);
  EXPECT_EQ(r->devices[0].key_binding_nonce[0], 0xaa);
  EXPECT_EQ(r->devices[0].key_binding_nonce[31], 0xaa);
}

TEST(ServerMessagesTest, RejectsMalformedEnrollmentAnswersNamingTheField) {
  struct Case {
    const char* body;
    const char* field;
  } cases[] = {
      {"not json", "$"},
      {"[]", "$"},
      {R"({"devices": []})", "host_id"},
      {R"({"host_id": "4", "devices": []})", "host_id"},
      {R"({"host_id": 4})", "devices"},
      {R"({"host_id": 4, "devices": [1]})", "devices[0]"},
      {R"({"host_id": 4, "devices": [{"id": 1, "key_binding_nonce": ""}]})", "devices[0].uuid"},
      {R"({"host_id": 4, "devices": [{"uuid": "u", "key_binding_nonce": ""}]})", "devices[0].id"},
      {R"({"host_id": 4, "devices": [{"uuid": "u", "id": 1}]})", "devices[0].key_binding_nonce"},
      {R"({"host_id": 4, "devices": [{"uuid": "u", "id": 1, "key_binding_nonce": "abcd"}]})",
       "devices[0].key_binding_nonce"},
  };
  for (const Case& c : cases) {
    auto r = ParseEnrollResponse(c.body);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(r.status().message().find(c.field), absl::string_view::npos)
        << c.body << " -> " << r.status();
  }
}

TEST(ServerMessagesTest, EnrollmentAnswersWithTooManyDevicesAreRejected) {
  std::string nonce(2 * kServerNonceBytes, 'a');
  auto body = [&](size_t n) {
    std::string devices;
    for (size_t i = 0; i < n; ++i) {
      absl::StrAppend(&devices, i ? "," : "", R"({"uuid": "GPU-)", i, R"(", "id": )", i + 1,
                      R"(, "key_binding_nonce": ")", nonce, R"("})");
    }
    return absl::StrCat(R"({"host_id": 4, "devices": [)", devices, "]}");
  };
  auto at_limit = ParseEnrollResponse(body(kMaxEnrolledDevices));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->devices.size(), kMaxEnrolledDevices);
  auto over = ParseEnrollResponse(body(kMaxEnrolledDevices + 1));
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(over.status().message().find("devices"), absl::string_view::npos) << over.status();
}

TEST(ServerMessagesTest, KeyBindingL0HasNoEvidenceAndL1HasHexEvidence) {
  KeyBindingRequest l0;
  l0.public_key.fill(0x11);
  l0.key_id = 0x0102030405060708;
  json j0 = json::parse(KeyBindingRequestJson(l0));
  EXPECT_EQ(j0["public_key"], std::string(64, '1'));
  EXPECT_EQ(j0["key_id"], "0102030405060708");
  EXPECT_EQ(j0["assurance"], "L0");
  EXPECT_FALSE(j0.contains("evidence"));
  EXPECT_FALSE(j0.contains("certificates"));

  KeyBindingRequest l1 = l0;
  l1.assurance = "L1";
  l1.evidence = {0x11, 0xe0, 0xff};
  l1.certificates = "-----BEGIN CERTIFICATE-----\n...";
  json j1 = json::parse(KeyBindingRequestJson(l1));
  EXPECT_EQ(j1["assurance"], "L1");
  EXPECT_EQ(j1["evidence"], "11e0ff");
  EXPECT_EQ(j1["certificates"], "-----BEGIN CERTIFICATE-----\n...");
}

TEST(ServerMessagesTest, TelemetryLeavesOutMissingReadings) {
  DeviceHealth full;
  full.uuid = "GPU-a";
  full.time = absl::FromUnixMillis(1795338000123);  // 2026-11-22T09:00:00.123Z
  full.temperature_c = 61;
  full.power_w = 420.5;
  full.utilization_pct = 97;
  full.ecc_uncorrected = 2;
  full.xid_count = 3;
  full.last_xid = 79;
  DeviceHealth empty;
  empty.uuid = "GPU-b";
  json j = json::parse(TelemetryRequestJson({full, empty}));
  ASSERT_EQ(j["devices"].size(), 2u);
  const json& a = j["devices"][0];
  EXPECT_EQ(a["uuid"], "GPU-a");
  EXPECT_EQ(a["time"], "2026-11-22T09:00:00.123Z");
  EXPECT_EQ(a["temperature_c"], 61);
  EXPECT_EQ(a["power_w"], 420.5);
  EXPECT_EQ(a["utilization_pct"], 97);
  EXPECT_EQ(a["ecc_uncorrected"], 2);
  EXPECT_EQ(a["xid_count"], 3);
  EXPECT_EQ(a["last_xid"], 79);
  const json& b = j["devices"][1];
  EXPECT_FALSE(b.contains("temperature_c"));
  EXPECT_FALSE(b.contains("power_w"));
  EXPECT_FALSE(b.contains("utilization_pct"));
  EXPECT_FALSE(b.contains("ecc_uncorrected"));
  EXPECT_EQ(b["xid_count"], 0);
}

TEST(ServerMessagesTest, ArchitectureIsCapitalizedAsTheContractSpellsIt) {
  EXPECT_EQ(ArchitectureDisplayName("hopper"), "Hopper");
  EXPECT_EQ(ArchitectureDisplayName("blackwell"), "Blackwell");
  EXPECT_EQ(ArchitectureDisplayName(""), "");
}

}  // namespace
}  // namespace lightcone::agent
