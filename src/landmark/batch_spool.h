// BatchSpool: the landmark's durable outbox of signed measurement batches waiting for the
// fleet server's acknowledgement. Nothing the landmark measured is lost between signing a
// batch and the server's 2xx, whatever the server, the network or the landmark process do.
//
// Files in the state directory (all append-only, one JSON line per entry):
//   outbox.jsonl    every batch appended, as wire::BatchToJsonLine
//   outbox.done     one line per batch that left the outbox: {"sequence":N,"result":"acked"}
//                   or "rejected"
//   rejected.jsonl  batches the server refused for good (4xx):
//                   {"sequence","rejected_at","http_status","error","batch":{...}}
//   sequence        the highest batch sequence ever appended (so that a restarted landmark
//                   never reuses one: the server would refuse different content under a
//                   sequence it already stored)
// Every append is fsync'ed before the call returns. A batch is pending when it is in the
// outbox and not in outbox.done; after a crash, Open() finds exactly the pending batches
// again (a torn last line, from a crash mid-append, is ignored: that batch was never
// acknowledged to anyone). Open() also compacts: it rewrites the outbox with only the
// pending batches (write to a temporary file, fsync, rename) and empties outbox.done.
//
// Thread safety: all methods may be called from any thread (one mutex).
#ifndef LIGHTCONE_LANDMARK_BATCH_SPOOL_H_
#define LIGHTCONE_LANDMARK_BATCH_SPOOL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/wire_record.h"

namespace lightcone::landmark {

// Outbox entries kept before new batches are refused (about a week of 1-minute windows).
inline constexpr size_t kMaxPendingBatches = 10000;

struct SpooledBatch {
  uint64_t sequence = 0;
  std::string json_line;  // wire::BatchToJsonLine, no newline
};

class BatchSpool {
 public:
  // Creates `state_dir` when missing and loads the pending batches. Errors: kUnavailable
  // when the directory or its files cannot be created, read or written.
  static absl::StatusOr<std::unique_ptr<BatchSpool>> Open(const std::string& state_dir);

  // The first batch sequence to use: above every sequence ever appended and at least
  // `floor` (the caller passes the current Unix time in milliseconds, so that a landmark
  // whose state directory was lost does not reuse the sequences it already sent).
  uint64_t NextSequence(uint64_t floor) const;

  // Appends a signed batch durably. Errors: kFailedPrecondition when the sequence is not
  // above every appended one, kResourceExhausted with kMaxPendingBatches pending,
  // kUnavailable on I/O errors.
  absl::Status Append(const wire::MeasurementBatch& batch);

  // The oldest pending batch, if any.
  std::optional<SpooledBatch> Front() const;
  size_t pending() const;

  // Removes the front batch after the server stored it (2xx). Errors: kFailedPrecondition
  // when `sequence` is not the front batch; kUnavailable on I/O errors (the batch then stays
  // pending and will be sent again: the server answers batch_already_stored).
  absl::Status Ack(uint64_t sequence);
  // Moves the front batch to rejected.jsonl with the server's answer. Errors as Ack.
  absl::Status Reject(uint64_t sequence, int http_status, const std::string& error);

  uint64_t acked() const;
  uint64_t rejected() const;
  const std::string& state_dir() const { return dir_; }

 private:
  explicit BatchSpool(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Load();
  absl::Status Done(uint64_t sequence, const char* result);

  const std::string dir_;
  mutable std::mutex mu_;
  std::deque<SpooledBatch> pending_;
  uint64_t last_sequence_ = 0;
  uint64_t acked_ = 0;
  uint64_t rejected_ = 0;
};

}  // namespace lightcone::landmark

#endif  // LIGHTCONE_LANDMARK_BATCH_SPOOL_H_
