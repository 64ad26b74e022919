#include "landmark/batch_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/logging.h"
#include "nlohmann/json.hpp"

namespace lightcone::landmark {
namespace {

constexpr char kOutbox[] = "outbox.jsonl";
constexpr char kDone[] = "outbox.done";
constexpr char kRejected[] = "rejected.jsonl";
constexpr char kSequence[] = "sequence";
// When the outbox is empty and larger than this, Ack/Reject truncate it.
constexpr uintmax_t kCompactOutboxBytes = 1 << 20;

absl::Status IoError(const std::string& path, const char* what) {
  return absl::UnavailableError(absl::StrCat(path, ": ", what, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, const std::string& path, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(path, "write");
    }
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Opens `path` with `flags`, writes `data`, fsyncs, closes.
absl::Status WriteDurably(const std::string& path, int flags, const std::string& data) {
  int fd = open(path.c_str(), flags | O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError(path, "open");
  absl::Status s = WriteAll(fd, path, data);
  if (s.ok() && fsync(fd) != 0) s = IoError(path, "fsync");
  close(fd);
  return s;
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError(dir, "open directory");
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return IoError(dir, "fsync directory");
  return absl::OkStatus();
}

// Replaces `path` atomically with `data`.
absl::Status ReplaceFile(const std::string& dir, const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  if (absl::Status s = WriteDurably(tmp, O_TRUNC, data); !s.ok()) return s;
  if (rename(tmp.c_str(), path.c_str()) != 0) return IoError(path, "rename");
  return SyncDirectory(dir);
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BatchSpool>> BatchSpool::Open(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat(state_dir, ": cannot create the state directory: ", ec.message()));
  }
  std::unique_ptr<BatchSpool> spool(new BatchSpool(state_dir));
  if (absl::Status s = spool->Load(); !s.ok()) return s;
  return spool;
}

absl::Status BatchSpool::Load() {
  auto log = Logger("landmark");
  const std::string outbox = absl::StrCat(dir_, "/", kOutbox);
  const std::string done_path = absl::StrCat(dir_, "/", kDone);
  const std::string sequence_path = absl::StrCat(dir_, "/", kSequence);
  {
    std::ifstream in(sequence_path);
    uint64_t v = 0;
    if (in >> v) last_sequence_ = v;
  }
  std::set<uint64_t> done;
  for (const std::string& line : ReadLines(done_path)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("sequence") && j["sequence"].is_number_unsigned()) {
      done.insert(j["sequence"].get<uint64_t>());
    }
  }
  std::vector<std::string> lines = ReadLines(outbox);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto batch = wire::BatchFromJsonLine(lines[i]);
    if (!batch.ok()) {
      // A torn line from a crash in the middle of an append: never acknowledged to anyone.
      log->warn("{}: line {} is not a batch, dropped: {}", outbox, i + 1,
                batch.status().ToString());
      continue;
    }
    last_sequence_ = std::max(last_sequence_, batch->batch_sequence);
    if (done.count(batch->batch_sequence) > 0) continue;
    pending_.push_back({batch->batch_sequence, std::move(lines[i])});
  }
  // Compact: the sequence high-water mark first, then the outbox with only pending batches,
  // then the done list.
  if (absl::Status s = ReplaceFile(dir_, sequence_path, absl::StrCat(last_sequence_, "\n"));
      !s.ok()) {
    return s;
  }
  std::string rewritten;
  for (const SpooledBatch& b : pending_) absl::StrAppend(&rewritten, b.json_line, "\n");
  if (absl::Status s = ReplaceFile(dir_, outbox, rewritten); !s.ok()) return s;
  if (absl::Status s = WriteDurably(done_path, O_TRUNC, ""); !s.ok()) return s;
  if (!pending_.empty()) {
    log->info("{}: {} batch(es) not yet acknowledged by the server, sending them again", dir_,
              pending_.size());
  }
  return SyncDirectory(dir_);
}

uint64_t BatchSpool::NextSequence(uint64_t floor) const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::max(last_sequence_ + 1, floor);
}

absl::Status BatchSpool::Append(const wire::MeasurementBatch& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (batch.batch_sequence <= last_sequence_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "spool ", dir_, ": batch sequence ", batch.batch_sequence,
        " is not above the last one appended (", last_sequence_, ")"));
  }
  if (pending_.size() >= kMaxPendingBatches) {
    return absl::ResourceExhaustedError(absl::StrCat("spool ", dir_, ": ", pending_.size(),
                                                     " batches already wait for the server"));
  }
  std::string line = wire::BatchToJsonLine(batch);
  if (absl::Status s = WriteDurably(absl::StrCat(dir_, "/", kOutbox), O_APPEND,
                                    absl::StrCat(line, "\n"));
      !s.ok()) {
    return s;
  }
  last_sequence_ = batch.batch_sequence;
  pending_.push_back({batch.batch_sequence, std::move(line)});
  return absl::OkStatus();
}

std::optional<SpooledBatch> BatchSpool::Front() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.empty()) return std::nullopt;
  return pending_.front();
}

size_t BatchSpool::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

uint64_t BatchSpool::acked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return acked_;
}

uint64_t BatchSpool::rejected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rejected_;
}

// REQUIRES: mu_ held.
absl::Status BatchSpool::Done(uint64_t sequence, const char* result) {
  if (pending_.empty() || pending_.front().sequence != sequence) {
    return absl::FailedPreconditionError(
        absl::StrCat("spool ", dir_, ": batch ", sequence, " is not the oldest pending batch"));
  }
  const std::string done_path = absl::StrCat(dir_, "/", kDone);
  nlohmann::json entry{{"sequence", sequence}, {"result", result}};
  if (absl::Status s = WriteDurably(done_path, O_APPEND, entry.dump() + "\n"); !s.ok()) return s;
  pending_.pop_front();
  if (pending_.empty()) {
    const std::string outbox = absl::StrCat(dir_, "/", kOutbox);
    std::error_code ec;
    uintmax_t size = std::filesystem::file_size(outbox, ec);
    if (!ec && size > kCompactOutboxBytes) {
      // Sequence mark first: once the outbox is empty it is the only record of it.
      absl::Status s = ReplaceFile(dir_, absl::StrCat(dir_, "/", kSequence),
                                   absl::StrCat(last_sequence_, "\n"));
      if (s.ok()) s = WriteDurably(outbox, O_TRUNC, "");
      if (s.ok()) s = WriteDurably(done_path, O_TRUNC, "");
      if (!s.ok()) Logger("landmark")->warn("spool compaction: {}", s.ToString());
    }
  }
  return absl::OkStatus();
}

absl::Status BatchSpool::Ack(uint64_t sequence) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Done(sequence, "acked");
  if (s.ok()) ++acked_;
  return s;
}

absl::Status BatchSpool::Reject(uint64_t sequence, int http_status, const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.empty() || pending_.front().sequence != sequence) {
    return absl::FailedPreconditionError(
        absl::StrCat("spool ", dir_, ": batch ", sequence, " is not the oldest pending batch"));
  }
  nlohmann::json batch = nlohmann::json::parse(pending_.front().json_line, nullptr, false);
  nlohmann::json entry{
      {"sequence", sequence},
      {"rejected_at", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())},
      {"http_status", http_status},
      {"error", error},
      {"batch", batch}};
  if (absl::Status s = WriteDurably(absl::StrCat(dir_, "/", kRejected), O_APPEND,
                                    entry.dump() + "\n");
      !s.ok()) {
    return s;
  }
  absl::Status s = Done(sequence, "rejected");
  if (s.ok()) ++rejected_;
  return s;
}

}  // namespace lightcone::landmark
