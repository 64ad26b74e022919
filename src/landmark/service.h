// The landmark daemon's loop: probes every target on a jittered schedule, keeps each
// device's minimum RTT per window, and at each window's end writes one signed measurement
// batch (wire::MeasurementBatch, one JSON line) to its output.
//
// With a fleet server (ServerLink), each batch is also appended to the durable spool and the
// server client is woken to send it; target lists the server sends replace the prober's
// targets between two polls, and records signed by a key the server no longer lists for
// the device (the agent rotated it) are left out of the batch, since the server would
// refuse the whole batch for them. Not thread-safe; Run() blocks.
#ifndef LIGHTCONE_LANDMARK_SERVICE_H_
#define LIGHTCONE_LANDMARK_SERVICE_H_

#include <atomic>
#include <cstdio>
#include <memory>

#include "absl/status/statusor.h"
#include "core/crypto.h"
#include "landmark/config.h"
#include "landmark/min_rtt_window.h"
#include "landmark/prober.h"
#include "landmark/scheduler.h"

namespace lightcone::landmark {
class BatchSpool;
class LandmarkServerClient;
}  // namespace lightcone::landmark

namespace lightcone::landmark {

// The fleet server side of a landmark (both not owned; both null without a server).
struct ServerLink {
  BatchSpool* spool = nullptr;
  LandmarkServerClient* client = nullptr;
};

class LandmarkService {
 public:
  // `out` receives the batches (not owned; flushed after each; null: no file output).
  // Errors: as Prober::Create, kInvalidArgument/kNotFound for a target address that does
  // not resolve.
  static absl::StatusOr<std::unique_ptr<LandmarkService>> Create(const LandmarkConfig& config,
                                                                 crypto::SigningKey key,
                                                                 std::FILE* out,
                                                                 ServerLink server = {});

  // Runs until `stop` becomes true, then writes the last (partial) window.
  void Run(const std::atomic<bool>& stop);

  const Prober& prober() const { return *prober_; }
  uint64_t batches_written() const { return batches_written_; }
  // Records left out because their key is no longer the device's (server mode).
  uint64_t records_dropped_stale_key() const { return records_dropped_stale_key_; }

 private:
  LandmarkService(const LandmarkConfig& config, crypto::SigningKey key, std::FILE* out,
                  ServerLink server);
  void WriteBatch(std::vector<wire::MeasurementRecord> records, int64_t now_ns);
  // Installs a target list from the server; returns whether the prober took it.
  bool ApplyTargets(const std::vector<TargetConfig>& targets);

  LandmarkConfig config_;
  crypto::SigningKey key_;
  std::FILE* out_;
  ServerLink server_;
  std::unique_ptr<Prober> prober_;
  uint64_t batches_written_ = 0;
  uint64_t records_dropped_stale_key_ = 0;
};

}  // namespace lightcone::landmark

#endif  // LIGHTCONE_LANDMARK_SERVICE_H_
