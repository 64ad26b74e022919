// The JSON bodies the agent exchanges with the fleet server (docs/api.md: "Enrollment",
// "Key binding", "Telemetry"), as pure functions so that they are tested without a network.
#ifndef LIGHTCONE_AGENT_SERVER_MESSAGES_H_
#define LIGHTCONE_AGENT_SERVER_MESSAGES_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/gpu/gpu_source.h"
#include "core/crypto.h"
#include "nlohmann/json.hpp"

namespace lightcone::agent {

inline constexpr size_t kServerNonceBytes = 32;
// The most devices an enrollment answer may list (a host has at most a few dozen GPUs).
inline constexpr size_t kMaxEnrolledDevices = 1024;
inline constexpr char kAgentVersion[] = "0.1.0";

// One GPU as enrolled: identity from NVML (or only the UUID for a configured device that
// NVML does not list), NVLink peers as UUIDs.
struct EnrollDevice {
  std::string uuid;
  std::string serial;
  std::string model;
  std::string architecture;
  std::string vbios;
  std::string pci_bus_id;
  std::string ueid;
  std::vector<std::string> nvlink_peers;
};

struct EnrollRequest {
  std::string hostname;
  std::string probe_address;  // "" = agent-initiated sessions
  std::string agent_version = kAgentVersion;
  std::string site;           // declared site name; "" = none
  std::vector<EnrollDevice> devices;
};

// The enrollment answer, per device: the server's id and the key-binding nonce it issued.
struct EnrolledDevice {
  std::string uuid;
  int64_t id = 0;
  std::array<uint8_t, kServerNonceBytes> key_binding_nonce{};
};
struct EnrollResponse {
  int64_t host_id = 0;
  std::vector<EnrolledDevice> devices;
};

// The devices of an NVML inventory as enrollment entries. NVLink peers are resolved from
// remote PCI bus ids to the UUIDs of this host's GPUs (sorted, unique); a peer that is not
// one of them (an NVSwitch) is left out. Lost GPUs and GPUs without a UUID are skipped.
std::vector<EnrollDevice> EnrollDevicesFromInventory(const Inventory& inventory);

// "Hopper" for "hopper": the architecture as docs/api.md spells it.
std::string ArchitectureDisplayName(absl::string_view nvml_name);

std::string EnrollRequestJson(const EnrollRequest& request);
// Errors: kInvalidArgument naming the field that is missing or malformed, or more than
// kMaxEnrolledDevices devices.
absl::StatusOr<EnrollResponse> ParseEnrollResponse(absl::string_view body);

struct KeyBindingRequest {
  crypto::PublicKey public_key{};
  crypto::KeyId key_id = 0;
  std::string assurance = "L0";  // "L0" or "L1"
  std::vector<uint8_t> evidence;  // L1: the SPDM report
  std::string certificates;       // L1: PEM chain, leaf first
};
std::string KeyBindingRequestJson(const KeyBindingRequest& request);

// The latest health of one GPU, as posted to /telemetry.
struct DeviceHealth {
  std::string uuid;
  absl::Time time = absl::UnixEpoch();
  std::optional<double> temperature_c;
  std::optional<double> power_w;
  std::optional<double> utilization_pct;
  std::optional<uint64_t> ecc_uncorrected;
  uint64_t xid_count = 0;
  uint64_t last_xid = 0;
};
// Fields without a reading are left out.
std::string TelemetryRequestJson(const std::vector<DeviceHealth>& devices);

// RFC 3339 UTC with nanoseconds trimmed: "2026-11-22T09:00:00.123Z".
std::string FormatRfc3339(absl::Time t);

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_SERVER_MESSAGES_H_
