#include "landmark/service.h"

#include <time.h>

#include <algorithm>

#include "core/logging.h"
#include "core/wire_record.h"
#include "core/clock.h"
#include "landmark/batch_spool.h"
#include "landmark/server_client.h"

namespace lightcone::landmark {
namespace {

// The loop wakes at least this often to expire probes and close windows.
constexpr int64_t kMaxPollWaitNs = 50'000'000;

// Probe targets from configured ones. Errors: an address that does not resolve.
absl::StatusOr<ProbeTarget> ToProbeTarget(const TargetConfig& t) {
  ProbeTarget target;
  target.device_id = t.device_id;
  target.public_keys = t.public_keys;
  if (!t.address.empty()) {
    auto endpoint = wire::ResolveEndpoint(t.address);
    if (!endpoint.ok()) return endpoint.status();
    target.endpoint = *endpoint;
  } else {
    target.agent_initiated = true;
  }
  return target;
}

}  // namespace

LandmarkService::LandmarkService(const LandmarkConfig& config, crypto::SigningKey key,
                                 std::FILE* out, ServerLink server)
    : config_(config), key_(std::move(key)), out_(out), server_(server) {}

absl::StatusOr<std::unique_ptr<LandmarkService>> LandmarkService::Create(
    const LandmarkConfig& config, crypto::SigningKey key, std::FILE* out, ServerLink server) {
  std::vector<ProbeTarget> targets;
  for (const TargetConfig& t : config.targets) {
    auto target = ToProbeTarget(t);
    if (!target.ok()) return target.status();
    targets.push_back(*std::move(target));
  }
  Prober::Options options;
  options.landmark_id = config.id;
  options.listen = config.listen;
  options.timeout = config.timeout;
  auto prober = Prober::Create(options, std::move(targets));
  if (!prober.ok()) return prober.status();
  std::unique_ptr<LandmarkService> service(
      new LandmarkService(config, std::move(key), out, server));
  service->prober_ = *std::move(prober);
  return service;
}

bool LandmarkService::ApplyTargets(const std::vector<TargetConfig>& targets) {
  auto log = Logger("landmark");
  std::vector<ProbeTarget> probe_targets;
  for (const TargetConfig& t : targets) {
    auto target = ToProbeTarget(t);
    if (!target.ok()) {
      log->warn("target {} not probed: {}", wire::FormatId(t.device_id),
                target.status().ToString());
      continue;
    }
    probe_targets.push_back(*std::move(target));
  }
  if (auto s = prober_->SetTargets(std::move(probe_targets)); !s.ok()) {
    log->error("target list not applied: {}", s.ToString());
    return false;
  }
  return true;
}

void LandmarkService::WriteBatch(std::vector<wire::MeasurementRecord> records, int64_t now_ns) {
  auto log = Logger("landmark");
  if (server_.spool != nullptr) {
    // Only records under a key the server still lists for the device.
    size_t before = records.size();
    std::erase_if(records, [&](const wire::MeasurementRecord& r) {
      for (const ProbeTarget& t : prober_->targets()) {
        if (t.device_id != r.device_id) continue;
        for (const crypto::PublicKey& k : t.public_keys) {
          if (crypto::ComputeKeyId(k) == r.key_id) return false;
        }
      }
      return true;
    });
    records_dropped_stale_key_ += before - records.size();
    if (records.empty()) return;  // nothing measured: no batch for the server
  }
  wire::MeasurementBatch batch;
  batch.landmark_id = config_.id;
  ++batches_written_;
  // With a server, sequences must never repeat across restarts (the spool remembers the
  // last one; the clock covers a lost state directory).
  batch.batch_sequence =
      server_.spool != nullptr
          ? server_.spool->NextSequence(static_cast<uint64_t>(now_ns / 1'000'000))
          : batches_written_;
  batch.created_unix_ns = now_ns;
  batch.records = std::move(records);
  if (auto s = wire::SignBatch(key_, &batch); !s.ok()) {
    log->error("batch {} not written: {}", batch.batch_sequence, s.ToString());
    return;
  }
  if (out_ != nullptr) {
    std::string line = wire::BatchToJsonLine(batch);
    std::fputs(line.c_str(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
  }
  if (server_.spool != nullptr) {
    if (auto s = server_.spool->Append(batch); !s.ok()) {
      log->error("batch {} not spooled for the server: {}", batch.batch_sequence, s.ToString());
      return;
    }
    if (server_.client != nullptr) server_.client->NotifyBatch();
  }
}

void LandmarkService::Run(const std::atomic<bool>& stop) {
  auto log = Logger("landmark");
  uint64_t seed;
  crypto::RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&seed), sizeof(seed)));
  JitteredScheduler scheduler(prober_->targets().size(),
                              {config_.interval, config_.jitter_fraction}, seed, MonotonicNs());
  MinRttWindow window(config_.window, RealtimeNs());
  std::vector<wire::MeasurementRecord> flushed;
  auto on_result = [&](const ProbeResult& r) {
    wire::MeasurementRecord rec;
    rec.device_id = r.reply.device_id;
    rec.landmark_id = r.reply.landmark_id;
    rec.time_unix_ns = r.sent_unix_ns;
    rec.rtt_ns = r.rtt_ns;
    rec.nonce = r.reply.nonce;
    rec.sequence = r.reply.sequence;
    rec.key_id = r.reply.key_id;
    rec.reply_signature = r.reply.signature;
    window.Add(rec);
    log->debug("device {} rtt {} ns", wire::FormatId(rec.device_id), rec.rtt_ns);
  };
  log->info("probing {} target(s) from {}", prober_->targets().size(),
            wire::FormatEndpoint(prober_->local_endpoint()));
  while (!stop.load()) {
    if (server_.client != nullptr) {
      if (auto targets = server_.client->TakeTargets(); targets && ApplyTargets(*targets)) {
        scheduler = JitteredScheduler(prober_->targets().size(),
                                      {config_.interval, config_.jitter_fraction}, ++seed,
                                      MonotonicNs());
        log->info("probing {} target(s)", prober_->targets().size());
      }
    }
    int64_t now = MonotonicNs();
    for (int t = scheduler.PopDue(now); t >= 0; t = scheduler.PopDue(now)) {
      // A failed probe is counted in the prober's stats (no_address, send_errors).
      (void)prober_->Probe(static_cast<size_t>(t));
    }
    int64_t wait = std::clamp<int64_t>(scheduler.next_due_ns() - MonotonicNs(), 0, kMaxPollWaitNs);
    prober_->Poll(std::chrono::nanoseconds(wait), on_result);
    int64_t real_now = RealtimeNs();
    if (window.Flush(real_now, false, &flushed)) WriteBatch(std::move(flushed), real_now);
  }
  // Let the probes in flight finish, then write the partial window.
  int64_t give_up = MonotonicNs() + std::chrono::nanoseconds(config_.timeout).count();
  while (prober_->outstanding() > 0 && MonotonicNs() < give_up) {
    prober_->Poll(std::chrono::milliseconds(10), on_result);
  }
  int64_t real_now = RealtimeNs();
  window.Flush(real_now, true, &flushed);
  if (!flushed.empty()) WriteBatch(std::move(flushed), real_now);
}

}  // namespace lightcone::landmark
