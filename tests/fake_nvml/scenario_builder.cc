#include "tests/fake_nvml/scenario_builder.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace lightcone::fake_nvml {
namespace {

constexpr int kHgxNvLinksPerGpu = 18;
// PCI bus numbers of the eight GPUs of an HGX H100 board and of its four NVSwitches.
constexpr int kGpuBus[] = {0x18, 0x2a, 0x3a, 0x5d, 0x9a, 0xab, 0xba, 0xdb};
constexpr int kSwitchBus[] = {0x05, 0x06, 0x07, 0x08};

std::string BusId(int bus) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "00000000:%02X:00.0", bus);
  return buf;
}

}  // namespace

nlohmann::json MakeHgxScenario(int gpu_count) {
  nlohmann::json gpus = nlohmann::json::array();
  for (int i = 0; i < gpu_count; ++i) {
    char uuid[64];
    std::snprintf(uuid, sizeof(uuid), "GPU-8c2a5f1e-%04x-4b1d-9e6f-0a1b2c3d4e%02x", 0x1000 + i, i);
    nlohmann::json links = nlohmann::json::array();
    for (int l = 0; l < kHgxNvLinksPerGpu; ++l) {
      links.push_back({{"active", true}, {"remote_pci_bus_id", BusId(kSwitchBus[l % 4])}});
    }
    const int bus = i < 8 ? kGpuBus[i] : 0x10 + i;
    gpus.push_back({
        {"uuid", uuid},
        {"serial", absl::StrCat(1654922000100 + i)},
        {"name", "NVIDIA H100 80GB HBM3"},
        {"architecture", 9},
        {"board_part_number", "692-2G520-0200-000"},
        {"board_id", 0x1800 + i},
        {"pci_bus_id", BusId(bus)},
        {"pci_device_id", 0x233010de},
        {"pci_subsystem_id", 0x16c110de},
        {"vbios_version", "96.00.99.00.01"},
        {"inforom_version", "G520.0200.00.05"},
        {"minor_number", i},
        {"nvlinks", links},
        {"attestation", {{"hwmodel", "GH100 A01 GSP BROM"}, {"vbios", "96.00.99.00.01"}}},
        {"telemetry",
         {{"power_mw", 312000 + 1000 * i},
          {"energy_mj", 123456789},
          {"temperature_c", 41},
          {"memory_temperature_c", 48},
          {"clock_graphics_mhz", 1980},
          {"clock_sm_mhz", 1980},
          {"clock_mem_mhz", 2619},
          {"clock_video_mhz", 1545},
          {"clock_event_reasons", 0},
          {"utilization_gpu_pct", 87},
          {"utilization_memory_pct", 45},
          {"memory_total_bytes", 85520809984LL},
          {"memory_used_bytes", 60129542144LL},
          {"ecc_corrected", 0},
          {"ecc_uncorrected", 0},
          {"remapped_correctable", 0},
          {"remapped_uncorrectable", 0},
          {"remap_pending", 0},
          {"remap_failure", 0},
          {"nvlink_replay_errors", 0},
          {"nvlink_recovery_errors", 0},
          {"nvlink_crc_flit_errors", 0},
          {"nvlink_crc_data_errors", 0},
          {"nvlink_ecc_data_errors", 0}}},
    });
  }
  return {{"driver_version", "550.54.15"},
          {"nvml_version", "12.550.54.15"},
          {"cuda_driver_version", 12040},
          {"confidential_computing", {{"environment", 2}, {"enabled", true}, {"devtools_mode", false}}},
          {"gpus", gpus}};
}

void AddAttestation(nlohmann::json& scenario, const attest::TestCa& ca) {
  scenario["attestation"] = {{"root_pem", ca.root_pem()},
                             {"root_key_pem", ca.root_key().PrivatePem()},
                             {"ica_pem", ca.ica_pem()},
                             {"ica_key_pem", ca.ica_key().PrivatePem()}};
}

absl::Status InstallScenario(const nlohmann::json& scenario, const std::string& path) {
  std::ofstream out(path);
  out << scenario.dump(2);
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write scenario ", path));
  setenv("FAKE_NVML_SCENARIO", path.c_str(), 1);
  return absl::OkStatus();
}

}  // namespace lightcone::fake_nvml
