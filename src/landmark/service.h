// The landmark daemon's loop: probes every target on a jittered schedule, keeps each
// device's minimum RTT per window, and at each window's end writes one signed measurement
// batch (wire::MeasurementBatch, one JSON line) to its output. Not thread-safe; Run() blocks.
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

class LandmarkService {
 public:
  // `out` receives the batches (not owned; flushed after each). Errors: as Prober::Create,
  // kInvalidArgument/kNotFound for a target address that does not resolve.
  static absl::StatusOr<std::unique_ptr<LandmarkService>> Create(const LandmarkConfig& config,
                                                                 crypto::SigningKey key,
                                                                 std::FILE* out);

  // Runs until `stop` becomes true, then writes the last (partial) window.
  void Run(const std::atomic<bool>& stop);

  const Prober& prober() const { return *prober_; }
  uint64_t batches_written() const { return batches_written_; }

 private:
  LandmarkService(const LandmarkConfig& config, crypto::SigningKey key, std::FILE* out);
  void WriteBatch(std::vector<wire::MeasurementRecord> records, int64_t now_ns);

  LandmarkConfig config_;
  crypto::SigningKey key_;
  std::FILE* out_;
  std::unique_ptr<Prober> prober_;
  uint64_t batches_written_ = 0;
};

}  // namespace lightcone::landmark

#endif  // LIGHTCONE_LANDMARK_SERVICE_H_
