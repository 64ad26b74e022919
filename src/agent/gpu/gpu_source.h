// GpuSource: what the agent reads from the GPUs of its host — inventory, health telemetry,
// XID events and attestation evidence — independent of how it is read. The production
// implementation is NvmlGpuSource (src/agent/gpu/nvml/), which loads the driver's NVML
// library; tests load the fake NVML library through that same path.
//
// Fields a GPU or driver does not support are left empty (std::nullopt / empty string): an
// unsupported field is normal, not an error.
#ifndef LIGHTCONE_AGENT_GPU_GPU_SOURCE_H_
#define LIGHTCONE_AGENT_GPU_GPU_SOURCE_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace lightcone::agent {

// One NVLink of a GPU and what sits at its other end (the topology).
struct NvLinkInfo {
  int link = 0;
  bool active = false;
  std::string remote_pci_bus_id;  // empty when inactive or unknown
};

// Identity and configuration of one GPU. Stable across telemetry rounds.
struct GpuInventory {
  int index = 0;
  bool lost = false;  // NVML reported the GPU lost while reading it; other fields may be empty
  std::string uuid;
  std::string serial;
  std::string name;          // model name, e.g. "NVIDIA H100 80GB HBM3"
  std::string architecture;  // "hopper", "blackwell", ... or "" when unknown
  std::string board_part_number;
  std::optional<uint32_t> board_id;
  std::string pci_bus_id;  // "00000000:18:00.0"
  std::optional<uint32_t> pci_device_id;     // device << 16 | vendor, as NVML reports it
  std::optional<uint32_t> pci_subsystem_id;
  std::string vbios_version;
  std::string inforom_version;
  std::optional<uint32_t> minor_number;
  std::vector<NvLinkInfo> nvlinks;  // only links NVML knows about
};

// Host-wide facts.
struct HostInventory {
  std::string hostname;
  std::string machine_id;      // /etc/machine-id
  std::string kernel_release;  // uname -r
  std::string kernel_version;  // uname -v
  std::string driver_version;
  std::optional<int> cuda_driver_version;  // e.g. 12040 for CUDA 12.4
  std::string nvml_version;
  // Confidential computing as NVML reports it for the system.
  std::optional<uint32_t> cc_environment;  // 0 unavailable, 1 simulated, 2 hardware
  std::optional<bool> cc_enabled;
  std::optional<bool> cc_devtools_mode;
};

struct Inventory {
  HostInventory host;
  std::vector<GpuInventory> gpus;
};

// One health reading of one GPU, in base SI units.
struct GpuTelemetry {
  int index = 0;
  bool lost = false;   // NVML says the GPU is lost (fell off the bus)
  bool stale = false;  // this round's read did not complete (NVML hung or busy)
  std::optional<double> power_watts;
  std::optional<double> energy_joules;  // since driver load
  std::optional<double> gpu_temperature_celsius;
  std::optional<double> memory_temperature_celsius;
  std::optional<double> graphics_clock_hertz;
  std::optional<double> sm_clock_hertz;
  std::optional<double> memory_clock_hertz;
  std::optional<double> video_clock_hertz;
  std::optional<uint64_t> clock_event_reasons;  // NVML clocks event reason bit mask
  std::optional<double> gpu_utilization_ratio;     // 0..1
  std::optional<double> memory_utilization_ratio;  // 0..1
  std::optional<uint64_t> memory_total_bytes;
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_free_bytes;
  std::optional<uint64_t> ecc_corrected_total;    // aggregate (lifetime) counts
  std::optional<uint64_t> ecc_uncorrected_total;
  std::optional<uint32_t> remapped_rows_correctable;
  std::optional<uint32_t> remapped_rows_uncorrectable;
  std::optional<bool> remap_pending;
  std::optional<bool> remap_failure;
  // NVLink error counters summed over the GPU's links, keyed by counter name
  // ("replay", "recovery", "crc_flit", "crc_data", "ecc_data").
  std::map<std::string, uint64_t> nvlink_errors_total;
  std::optional<int> nvlink_active_links;
};

struct TelemetrySample {
  absl::Time time;
  std::vector<GpuTelemetry> gpus;
};

// An XID error reported by the driver for one GPU.
struct XidEvent {
  int gpu_index = -1;
  uint64_t xid = 0;
};

// Attestation evidence of one GPU for one nonce.
struct AttestationEvidence {
  std::array<uint8_t, 32> nonce{};
  std::vector<uint8_t> report;                  // SPDM GET_MEASUREMENTS request + response
  std::string attestation_cert_chain_pem;       // leaf first, ends at the device identity root
  std::vector<uint8_t> cert_chain;              // NVML's certChain, as returned
};

// Health of the source itself, for the agent's own metrics.
struct SourceStats {
  uint64_t calls = 0;          // guarded calls started
  uint64_t timeouts = 0;       // calls that exceeded their deadline
  uint64_t rejected = 0;       // calls refused because a hung call still holds NVML
  bool hung = false;           // a call is running past its deadline right now
  std::string hung_call;       // what it is
  double latency_seconds_sum = 0;
  // Cumulative histogram of completed call latencies; bucket i counts calls with latency
  // <= kLatencyBucketsSeconds[i].
  std::vector<uint64_t> latency_buckets;
  uint64_t latency_count = 0;
};
inline constexpr std::array<double, 6> kLatencyBucketsSeconds = {0.0001, 0.001, 0.01,
                                                                 0.1,    1.0,   10.0};

// Thread-safe: every method may be called from any thread, concurrently.
class GpuSource {
 public:
  virtual ~GpuSource() = default;

  // Reads the host and GPU inventory once.
  virtual absl::StatusOr<Inventory> ReadInventory() = 0;

  // Reads one health sample of every GPU. A GPU whose read hangs is returned with
  // stale = true; a vanished GPU with lost = true. Fails only if nothing could be read.
  virtual absl::StatusOr<TelemetrySample> ReadTelemetry() = 0;

  // Waits up to `timeout` for XID events and returns those that arrived (possibly none).
  virtual absl::StatusOr<std::vector<XidEvent>> WaitEvents(absl::Duration timeout) = 0;

  // Asks GPU `gpu_index` for an attestation report over `nonce` and its certificate chains.
  // kUnimplemented when the GPU or driver has no confidential-computing attestation.
  virtual absl::StatusOr<AttestationEvidence> Attest(int gpu_index,
                                                     const std::array<uint8_t, 32>& nonce) = 0;

  virtual SourceStats stats() const = 0;
};

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_GPU_GPU_SOURCE_H_
