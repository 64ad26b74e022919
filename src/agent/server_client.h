// ServerClient: the agent's side of the fleet server API (docs/api.md). One background
// thread, never the responder's:
//
//   - POST /api/v1/enroll with the host and every GPU (NVML inventory, plus configured
//     devices NVML does not list) at start and every `enroll_interval`;
//   - POST /api/v1/devices/{uuid}/key-binding for each device whose current session key the
//     server has not bound yet (at start, after every rotation, after the server forgot the
//     device): L1 with an attestation report over KeyBindingNonce(session key, the server's
//     key_binding_nonce) when the GPU can produce one, else L0. An L1 binding the server
//     rejects (400) is logged with the server's reason and replaced by an L0 binding;
//   - POST /api/v1/telemetry with the latest health of every GPU every `telemetry_interval`.
//
// Failures (server down, 5xx, timeouts) are retried with capped exponential backoff; a 4xx
// is logged with the server's message and the request is not repeated until something
// changes (next enrollment round). Nothing here can block or stop the agent: Stop() aborts
// the request in flight.
//
// Thread safety: UpdateKeys(), stats() and Stop() may be called from any thread.
#ifndef LIGHTCONE_AGENT_SERVER_CLIENT_H_
#define LIGHTCONE_AGENT_SERVER_CLIENT_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/api_client.h"
#include "agent/gpu/gpu_monitor.h"
#include "agent/gpu/gpu_source.h"
#include "agent/keys.h"
#include "agent/server_messages.h"

namespace lightcone::agent {

inline constexpr std::chrono::seconds kDefaultEnrollInterval{300};
inline constexpr std::chrono::seconds kDefaultServerTelemetryInterval{60};
inline constexpr std::chrono::milliseconds kDefaultRetryInitial{1000};
inline constexpr std::chrono::milliseconds kDefaultRetryMax{60000};

struct ServerClientStats {
  // Requests by endpoint ("enroll", "key_binding", "telemetry") and result
  // (api::ResultLabel: ok, client_error, server_error, unavailable).
  std::map<std::pair<std::string, std::string>, uint64_t> requests;
  bool enrolled = false;               // the last enrollment succeeded
  uint64_t bindings_l0 = 0;            // successful key bindings by assurance
  uint64_t bindings_l1 = 0;
  uint64_t attestation_failures = 0;   // attestation reports the GPU could not produce
};

class ServerClient {
 public:
  struct Options {
    api::ApiClientOptions api;
    std::string site;           // declared site name sent at enrollment ("" = none)
    std::string probe_address;  // "ip:port" landmarks probe; "" = agent-initiated
    std::string hostname;       // "" = the inventory's hostname
    std::chrono::seconds enroll_interval = kDefaultEnrollInterval;
    std::chrono::seconds telemetry_interval = kDefaultServerTelemetryInterval;
    std::chrono::milliseconds retry_initial = kDefaultRetryInitial;
    std::chrono::milliseconds retry_max = kDefaultRetryMax;
  };

  // `inventory` is what NVML listed (possibly no GPUs); `configured` the devices the agent
  // holds keys for. `source` (attestation) and `monitor` (telemetry) may be null, and must
  // outlive the client otherwise. Errors: as api::ApiClient::Create.
  static absl::StatusOr<std::unique_ptr<ServerClient>> Create(
      Options options, Inventory inventory, std::vector<DeviceConfig> configured,
      GpuSource* source, GpuMonitor* monitor);
  ~ServerClient();  // Stops.
  ServerClient(const ServerClient&) = delete;
  ServerClient& operator=(const ServerClient&) = delete;

  // Starts the thread (enrollment happens at once).
  void Start();
  // Aborts the request in flight and joins the thread. Idempotent.
  void Stop();

  // The agent's current public keys (DeviceKeyStore::PublicKeys() read on the thread that
  // rotates them); call at start and after every rotation. Wakes the thread to bind them.
  void UpdateKeys(std::vector<PublicKeyInfo> keys);

  ServerClientStats stats() const;

  // The enrollment request this agent sends (for tests and `--print-enrollment`).
  EnrollRequest BuildEnrollRequest() const;

 private:
  ServerClient(Options options, Inventory inventory, std::vector<DeviceConfig> configured,
               GpuSource* source, GpuMonitor* monitor);

  void Run();
  // Each returns false when the server could not be reached or answered 5xx (retry later).
  bool Enroll();
  bool BindKeys();
  bool PostTelemetry();
  bool BindOne(const std::string& uuid, const PublicKeyInfo& key, const EnrolledDevice& enrolled);
  absl::StatusOr<api::ApiResponse> Send(const char* endpoint, const std::string& method,
                                        const std::string& path, const std::string& body);
  std::vector<DeviceHealth> CollectHealth();

  const Options options_;
  const Inventory inventory_;
  const std::vector<DeviceConfig> configured_;
  GpuSource* source_;
  GpuMonitor* monitor_;
  std::unique_ptr<api::ApiClient> api_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool keys_changed_ = false;
  std::vector<PublicKeyInfo> keys_;  // guarded by mu_
  ServerClientStats stats_;          // guarded by mu_

  // Owned by the thread.
  std::map<std::string, EnrolledDevice> enrolled_;  // by uuid
  std::map<std::string, crypto::KeyId> bound_;      // uuid -> key id the server has bound
  std::map<std::string, crypto::KeyId> refused_;    // uuid -> key id the server refused (4xx)
  std::map<int, std::map<uint64_t, uint64_t>> last_xids_;  // gpu index -> counts seen
  std::map<int, uint64_t> last_xid_code_;
  std::thread thread_;
};

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_SERVER_CLIENT_H_
