// Helpers shared by the fake NVML tests: a plain HTTP GET against a loopback port (the
// agent's /metrics) and a liveness-bounded poll.
#ifndef LIGHTCONE_TESTS_FAKE_NVML_FAKE_NVML_TESTING_H_
#define LIGHTCONE_TESTS_FAKE_NVML_FAKE_NVML_TESTING_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace lightcone::fake_nvml {

// Liveness bound of Eventually(): kEventuallyPolls polls kEventuallyPollInterval apart.
inline constexpr int kEventuallyPolls = 6000;
inline constexpr std::chrono::milliseconds kEventuallyPollInterval{10};

// Sends "GET <path> HTTP/1.1" to 127.0.0.1:<port> and returns the whole response (read until
// the server closes, 30 s receive timeout); "" when the connection is refused.
std::string HttpGet(uint16_t port, const std::string& path);

// Polls `pred` until it holds, for up to 60 s: a liveness bound, never a timing assertion.
// Returns whether it held.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < kEventuallyPolls; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(kEventuallyPollInterval);
  }
  return pred();
}

}  // namespace lightcone::fake_nvml

#endif  // LIGHTCONE_TESTS_FAKE_NVML_FAKE_NVML_TESTING_H_
