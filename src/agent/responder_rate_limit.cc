#include "agent/responder_rate_limit.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace lightcone::agent {
namespace {

std::array<uint8_t, 16> AddressKey(const sockaddr_storage& source) {
  std::array<uint8_t, 16> key{};
  if (source.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&source);
    key[10] = key[11] = 0xff;  // v4-mapped, so v4 and v6 share one table
    std::memcpy(key.data() + 12, &in->sin_addr, 4);
  } else if (source.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&source);
    std::memcpy(key.data(), &in6->sin6_addr, 16);
  }
  return key;
}

uint64_t Hash(const std::array<uint8_t, 16>& key) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (uint8_t b : key) {
    h ^= b;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

SourceRateLimiter::SourceRateLimiter(Options options) : options_(options) {
  size_t slots = 1;
  while (slots < std::max(options.slots, kProbeWindow)) slots <<= 1;
  mask_ = slots - 1;
  buckets_.resize(slots);
}

bool SourceRateLimiter::Allow(const sockaddr_storage& source, int64_t now_ns) {
  std::array<uint8_t, 16> key = AddressKey(source);
  size_t start = Hash(key) & mask_;
  Bucket* found = nullptr;
  Bucket* victim = nullptr;
  for (size_t i = 0; i < kProbeWindow; ++i) {
    Bucket& b = buckets_[(start + i) & mask_];
    if (b.used && b.address == key) {
      found = &b;
      break;
    }
    // Prefer an empty slot, else the least recently seen source.
    if (!b.used) {
      if (victim == nullptr || victim->used) victim = &b;
    } else if (victim == nullptr || (victim->used && b.last_ns < victim->last_ns)) {
      victim = &b;
    }
  }
  if (found == nullptr) {
    found = victim;
    found->used = true;
    found->address = key;
    found->tokens = options_.burst;
    found->last_ns = now_ns;
  }
  double elapsed_s = static_cast<double>(now_ns - found->last_ns) * 1e-9;
  if (elapsed_s > 0) {
    found->tokens = std::min(options_.burst, found->tokens + elapsed_s * options_.rate_per_second);
  }
  found->last_ns = now_ns;
  if (found->tokens < 1.0) return false;
  found->tokens -= 1.0;
  return true;
}

}  // namespace lightcone::agent
