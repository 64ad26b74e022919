// DelaySampler: draws per-datagram delays (base delay plus jitter) and loss decisions for
// the relay. Not thread-safe: each sampler belongs to one thread (the relay's receive
// thread). Deterministic for a given seed, so tests can reproduce a run.
#ifndef LIGHTCONE_NETEM_DELAY_SAMPLER_H_
#define LIGHTCONE_NETEM_DELAY_SAMPLER_H_

#include <chrono>
#include <cstdint>
#include <random>

#include "netem/link_spec.h"

namespace lightcone::netem {

class DelaySampler {
 public:
  explicit DelaySampler(uint64_t seed) : engine_(seed) {}

  // A delay around `delay` spread by `jitter` per `distribution`. Never negative: a draw
  // below zero is clamped to zero (the datagram leaves as soon as possible).
  std::chrono::nanoseconds Sample(std::chrono::nanoseconds delay, std::chrono::nanoseconds jitter,
                                  JitterDistribution distribution);

  // True with probability `loss` (0 never, 1 always).
  bool Drop(double loss);

 private:
  std::mt19937_64 engine_;
};

}  // namespace lightcone::netem

#endif  // LIGHTCONE_NETEM_DELAY_SAMPLER_H_
