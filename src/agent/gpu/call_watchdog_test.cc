#include "agent/gpu/call_watchdog.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"

namespace lightcone::agent {
namespace {

// A gate a hung call waits on until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return open; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

// Polls `pred` for up to 30 s (generous: this is a liveness wait, not a timing check).
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 3000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST(CallWatchdog, RunsCallAndReturnsOk) {
  CallWatchdog w({});
  int value = 0;
  ASSERT_TRUE(w.Run("set", absl::Seconds(30), [&] { value = 42; }).ok());
  EXPECT_EQ(value, 42);
  const SourceStats s = w.stats();
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.latency_count, 1u);
  EXPECT_EQ(s.timeouts, 0u);
  EXPECT_FALSE(s.hung);
}

TEST(CallWatchdog, HungCallReturnsAtDeadlineAndLaterCallsAreRefusedUntilItReturns) {
  CallWatchdog w({.name = "test"});
  auto gate = std::make_shared<Gate>();
  absl::Status s = w.Run("hang", absl::Milliseconds(50), [gate] { gate->Wait(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(w.stats().hung);
  EXPECT_EQ(w.stats().hung_call, "hang");

  bool ran = false;
  s = w.Run("next", absl::Seconds(30), [&] { ran = true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("hang"), absl::string_view::npos);
  EXPECT_FALSE(ran);
  EXPECT_EQ(w.stats().rejected, 1u);
  EXPECT_EQ(w.stats().timeouts, 1u);

  gate->Open();
  ASSERT_TRUE(Eventually([&] { return !w.stats().hung; }));
  EXPECT_TRUE(w.Run("after", absl::Seconds(30), [&] { ran = true; }).ok());
  EXPECT_TRUE(ran);
}

TEST(CallWatchdog, DestructionDoesNotWaitForHungCall) {
  auto gate = std::make_shared<Gate>();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  {
    CallWatchdog w({});
    EXPECT_EQ(w.Run("hang", absl::Milliseconds(20),
                    [gate, finished] {
                      gate->Wait();
                      *finished = true;
                    })
                  .code(),
              absl::StatusCode::kDeadlineExceeded);
  }  // must return although the call is still blocked
  EXPECT_FALSE(*finished);
  gate->Open();
  EXPECT_TRUE(Eventually([&] { return finished->load(); }));
}

TEST(CallWatchdog, ConcurrentCallersAllComplete) {
  CallWatchdog w({});
  std::atomic<int> sum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(w.Run("add", absl::Seconds(30), [&] { sum++; }).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sum.load(), 400);
  EXPECT_EQ(w.stats().calls, 400u);
}

}  // namespace
}  // namespace lightcone::agent
