#include "landmark/min_rtt_window.h"

namespace lightcone::landmark {

void MinRttWindow::Add(const wire::MeasurementRecord& record) {
  auto [it, inserted] = best_.try_emplace(record.device_id, record);
  if (!inserted && record.rtt_ns < it->second.rtt_ns) it->second = record;
}

bool MinRttWindow::Flush(int64_t now_ns, bool force, std::vector<wire::MeasurementRecord>* out) {
  if (!force && now_ns < window_end_ns_) return false;
  out->clear();
  for (auto& [id, record] : best_) out->push_back(record);
  best_.clear();
  while (window_end_ns_ <= now_ns) window_end_ns_ += window_.count();
  return true;
}

}  // namespace lightcone::landmark
