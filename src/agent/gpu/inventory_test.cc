#include "agent/gpu/inventory.h"

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace lightcone::agent {
namespace {

Inventory Sample() {
  Inventory inv;
  inv.host.hostname = "node-1";
  inv.host.driver_version = "550.54.15";
  inv.host.cc_enabled = true;
  GpuInventory g;
  g.index = 0;
  g.uuid = "GPU-1";
  g.serial = "1650123456789";
  g.pci_bus_id = "00000000:18:00.0";
  g.board_id = 7;
  g.nvlinks = {{0, true, "00000000:05:00.0"}, {1, false, ""}};
  inv.gpus.push_back(g);
  return inv;
}

TEST(InventoryToJson, LeavesOutAbsentFields) {
  const nlohmann::json j = InventoryToJson(Sample());
  const nlohmann::json& g = j["gpus"][0];
  EXPECT_EQ(g["uuid"], "GPU-1");
  EXPECT_EQ(g["board_id"], 7);
  EXPECT_FALSE(g.contains("vbios_version"));
  EXPECT_FALSE(g.contains("minor_number"));
  EXPECT_FALSE(g.contains("lost"));
  EXPECT_EQ(g["nvlinks"][0]["remote_pci_bus_id"], "00000000:05:00.0");
  EXPECT_FALSE(g["nvlinks"][1].contains("remote_pci_bus_id"));
  EXPECT_EQ(j["host"]["confidential_computing"]["enabled"], true);
  EXPECT_FALSE(j["host"].contains("cuda_driver_version"));
}

TEST(InventoryHash, StableForEqualInventoriesAndChangesWithAnyField) {
  const std::string h = InventoryHash(Sample());
  EXPECT_EQ(h.rfind("sha256:", 0), 0u);
  EXPECT_EQ(h.size(), 7u + 64u);
  EXPECT_EQ(h, InventoryHash(Sample()));

  Inventory moved_peer = Sample();
  moved_peer.gpus[0].nvlinks[0].remote_pci_bus_id = "00000000:06:00.0";
  EXPECT_NE(h, InventoryHash(moved_peer));
  Inventory other_host = Sample();
  other_host.host.hostname = "node-2";
  EXPECT_NE(h, InventoryHash(other_host));
}

TEST(ReadHostFacts, ReadsAndTrimsMachineId) {
  const std::string path = ::testing::TempDir() + "/machine-id";
  std::ofstream(path) << "0123456789abcdef0123456789abcdef\n";
  const HostInventory host = ReadHostFacts(path);
  EXPECT_EQ(host.machine_id, "0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(host.hostname.empty());
  EXPECT_FALSE(host.kernel_release.empty());
  std::remove(path.c_str());
}

TEST(ReadHostFacts, MissingMachineIdIsEmpty) {
  EXPECT_EQ(ReadHostFacts("/nonexistent/machine-id").machine_id, "");
}

}  // namespace
}  // namespace lightcone::agent
