#include "netem/delay_sampler.h"

#include <algorithm>
#include <cmath>

namespace lightcone::netem {

std::chrono::nanoseconds DelaySampler::Sample(std::chrono::nanoseconds delay,
                                              std::chrono::nanoseconds jitter,
                                              JitterDistribution distribution) {
  if (jitter.count() <= 0) return std::max(delay, std::chrono::nanoseconds(0));
  const double base = static_cast<double>(delay.count());
  const double spread = static_cast<double>(jitter.count());
  double drawn = base;
  switch (distribution) {
    case JitterDistribution::kUniform:
      drawn = std::uniform_real_distribution<double>(base - spread, base + spread)(engine_);
      break;
    case JitterDistribution::kNormal:
      drawn = std::normal_distribution<double>(base, spread)(engine_);
      break;
  }
  if (!(drawn > 0.0)) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(drawn)));
}

bool DelaySampler::Drop(double loss) {
  if (loss <= 0.0) return false;
  if (loss >= 1.0) return true;
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine_) < loss;
}

}  // namespace lightcone::netem
