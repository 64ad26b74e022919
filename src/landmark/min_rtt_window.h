// Keeps, per device, the measurement record with the smallest RTT seen in the current
// window (the best bound the window proves), and hands them over when the window ends.
// Not thread-safe.
#ifndef LIGHTCONE_LANDMARK_MIN_RTT_WINDOW_H_
#define LIGHTCONE_LANDMARK_MIN_RTT_WINDOW_H_

#include <chrono>
#include <map>
#include <vector>

#include "core/wire_record.h"

namespace lightcone::landmark {

class MinRttWindow {
 public:
  MinRttWindow(std::chrono::nanoseconds window, int64_t start_ns)
      : window_(window), window_end_ns_(start_ns + window.count()) {}

  void Add(const wire::MeasurementRecord& record);

  // When `now_ns` is past the window's end (or `force`), returns the window's per-device
  // minima (sorted by device id, possibly empty) and starts the next window; otherwise
  // returns false and leaves `out` alone.
  bool Flush(int64_t now_ns, bool force, std::vector<wire::MeasurementRecord>* out);

  int64_t window_end_ns() const { return window_end_ns_; }

 private:
  std::chrono::nanoseconds window_;
  int64_t window_end_ns_;
  std::map<wire::Id, wire::MeasurementRecord> best_;
};

}  // namespace lightcone::landmark

#endif  // LIGHTCONE_LANDMARK_MIN_RTT_WINDOW_H_
