// The landmark's side of the fleet server API (docs/api.md), on one background thread that
// never touches the prober:
//
//   - learns its server id from GET /api/v1/whoami unless configured;
//   - follows GET /api/v1/landmarks/{id}/targets with ?if_version= polling and hands each
//     changed target list to the service loop (TakeTargets);
//   - sends the spool's pending batches, oldest first, with POST /api/v1/measurements/batches.
//     A batch leaves the spool only on a 2xx (acked) or a permanent 4xx (moved to
//     rejected.jsonl, with the server's message logged); 5xx, 408, 429 and no answer at all
//     are retried with capped exponential backoff, forever, in order.
//
// Thread safety: every public method may be called from any thread.
#ifndef LIGHTCONE_LANDMARK_SERVER_CLIENT_H_
#define LIGHTCONE_LANDMARK_SERVER_CLIENT_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/api_client.h"
#include "landmark/batch_spool.h"
#include "landmark/config.h"

namespace lightcone::landmark {

inline constexpr std::chrono::milliseconds kDefaultTargetsPollInterval{5000};
inline constexpr std::chrono::milliseconds kDefaultUploadRetryInitial{1000};
inline constexpr std::chrono::milliseconds kDefaultUploadRetryMax{60000};

// GET /landmarks/{id}/targets, decoded. Targets whose key is not bound yet (no public key)
// cannot be probed and are counted in `without_key` instead.
struct TargetList {
  int64_t version = 0;
  std::vector<TargetConfig> targets;
  size_t without_key = 0;
};
// Errors: kInvalidArgument naming the field.
absl::StatusOr<TargetList> ParseTargetsResponse(absl::string_view body);

// POST /measurements/batches answer.
struct BatchAnswer {
  int64_t batch_id = 0;
  int64_t inserted = 0;
  int64_t duplicates = 0;
  bool batch_already_stored = false;
};
absl::StatusOr<BatchAnswer> ParseBatchResponse(absl::string_view body);

// The landmark_id of GET /whoami. Errors: kInvalidArgument when absent or not positive (the
// token is not a landmark token).
absl::StatusOr<int64_t> ParseWhoamiLandmarkId(absl::string_view body);

struct ServerClientStats {
  uint64_t batches_acked = 0;
  uint64_t batches_rejected = 0;
  uint64_t upload_failures = 0;    // attempts that will be retried
  uint64_t target_updates = 0;     // changed target lists received
  uint64_t target_poll_failures = 0;
  int64_t targets_version = -1;    // -1 before the first list
  int64_t landmark_id = 0;         // the server's id of this landmark (0: not known yet)
};

class LandmarkServerClient {
 public:
  struct Options {
    api::ApiClientOptions api;
    int64_t landmark_id = 0;  // 0: learn it from /whoami
    // This landmark's wire id and public key, checked against the server's landmark object
    // at start (a mismatch is logged: the server would reject every batch).
    std::string expected_wire_id_hex;
    std::string expected_public_key_hex;
    std::chrono::milliseconds targets_poll_interval = kDefaultTargetsPollInterval;
    std::chrono::milliseconds retry_initial = kDefaultUploadRetryInitial;
    std::chrono::milliseconds retry_max = kDefaultUploadRetryMax;
  };

  // `spool` must outlive the client. Errors: as api::ApiClient::Create.
  static absl::StatusOr<std::unique_ptr<LandmarkServerClient>> Create(Options options,
                                                                       BatchSpool* spool);
  ~LandmarkServerClient();  // Stops.

  void Start();
  // Aborts the request in flight and joins the thread. Batches still pending stay in the
  // spool for the next run.
  void Stop();

  // The newest target list, when it changed since the last call.
  std::optional<std::vector<TargetConfig>> TakeTargets();
  // A batch was appended to the spool: send it now.
  void NotifyBatch();
  // Waits until the spool is empty or `timeout` passes (used at shutdown to flush the last
  // window); returns whether it is empty.
  bool WaitUntilFlushed(std::chrono::milliseconds timeout);

  ServerClientStats stats() const;

 private:
  LandmarkServerClient(Options options, BatchSpool* spool)
      : options_(std::move(options)), spool_(spool) {}
  void Run();
  // Each returns false when the attempt must be retried later.
  bool ResolveLandmarkId();
  bool PollTargets();
  bool UploadOne();

  const Options options_;
  BatchSpool* spool_;
  std::unique_ptr<api::ApiClient> api_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable flushed_cv_;
  bool stop_ = false;
  bool batch_ready_ = false;
  std::optional<std::vector<TargetConfig>> new_targets_;
  ServerClientStats stats_;
  std::thread thread_;
};

}  // namespace lightcone::landmark

#endif  // LIGHTCONE_LANDMARK_SERVER_CLIENT_H_
