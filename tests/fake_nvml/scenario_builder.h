// Scenario files for the fake NVML library (tests/fake_nvml/fake_nvml.cc describes the
// format): a realistic HGX H100 board to start from, the test CA for attestation, and
// installation (write the file, point FAKE_NVML_SCENARIO at it).
#ifndef LIGHTCONE_TESTS_FAKE_NVML_SCENARIO_BUILDER_H_
#define LIGHTCONE_TESTS_FAKE_NVML_SCENARIO_BUILDER_H_

#include <string>

#include "absl/status/status.h"
#include "attest/test_ca.h"
#include "nlohmann/json.hpp"

namespace lightcone::fake_nvml {

// The fake libnvidia-ml.so.1 in the build tree.
inline constexpr char kFakeNvmlPath[] = LIGHTCONE_FAKE_NVML_PATH;

// `gpu_count` H100 SXM GPUs of one HGX board: distinct UUIDs, serials and PCI bus ids,
// 18 NVLinks each to four NVSwitches, constant telemetry values.
nlohmann::json MakeHgxScenario(int gpu_count);

// Makes the fake answer attestation requests with reports signed by devices of `ca`.
void AddAttestation(nlohmann::json& scenario, const attest::TestCa& ca);

// Writes `scenario` to `path` and sets FAKE_NVML_SCENARIO to it (the next nvmlInit reads it).
absl::Status InstallScenario(const nlohmann::json& scenario, const std::string& path);

}  // namespace lightcone::fake_nvml

#endif  // LIGHTCONE_TESTS_FAKE_NVML_SCENARIO_BUILDER_H_
