#include "netem/delay_queue.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "netem/clock.h"

namespace lightcone::netem {
namespace {

struct TestItem {
  int id = 0;
  size_t bytes = 1;
  size_t size_bytes() const { return bytes; }
};

struct Released {
  int id;
  int64_t due_ns;
  int64_t now_ns;
};

TEST(DelayQueue, ReleasesInDueOrderAndNeverEarly) {
  DelayQueue<TestItem> queue(DelayQueueOptions{});
  std::mutex mu;
  std::vector<Released> released;
  std::vector<int64_t> due(6);
  queue.Start([&](TestItem& item, int64_t now_ns) {
    std::lock_guard<std::mutex> lock(mu);
    released.push_back({item.id, due[static_cast<size_t>(item.id)], now_ns});
  });
  const int64_t base = MonotonicNowNs() + 5'000'000;
  // Pushed out of order; due order is 3, 1, 5, 0, 2, 4.
  const int64_t offsets_ms[] = {4, 2, 5, 1, 6, 3};
  for (int id = 0; id < 6; ++id) {
    due[static_cast<size_t>(id)] = base + offsets_ms[id] * 1'000'000;
    ASSERT_TRUE(queue.Push(TestItem{id}, due[static_cast<size_t>(id)]));
  }
  for (int i = 0; i < 500 && queue.Size() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  queue.Stop();
  ASSERT_EQ(released.size(), 6u);
  const int order[] = {3, 1, 5, 0, 2, 4};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(released[i].id, order[i]);
    EXPECT_GE(released[i].now_ns, released[i].due_ns) << "released early";
  }
  EXPECT_EQ(queue.Lateness().count, 6u);
}

TEST(DelayQueue, EarlierPushWakesASleepingTimer) {
  DelayQueueOptions options;
  options.spin_window = std::chrono::nanoseconds(0);
  DelayQueue<TestItem> queue(options);
  std::atomic<int> first{-1};
  queue.Start([&](TestItem& item, int64_t) {
    int expected = -1;
    first.compare_exchange_strong(expected, item.id);
  });
  const int64_t now = MonotonicNowNs();
  ASSERT_TRUE(queue.Push(TestItem{1}, now + 2'000'000'000));  // 2 s away
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(queue.Push(TestItem{2}, now + 10'000'000));  // 10 ms away
  for (int i = 0; i < 500 && first.load() < 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(first.load(), 2);
  EXPECT_EQ(queue.Size(), 1u);
  queue.Stop();
  EXPECT_EQ(queue.discarded_at_stop(), 1u);
}

TEST(DelayQueue, RefusesBeyondItemAndByteLimits) {
  DelayQueueOptions options;
  options.max_items = 3;
  options.max_bytes = 100;
  DelayQueue<TestItem> queue(options);
  const int64_t far = MonotonicNowNs() + 60'000'000'000;
  EXPECT_TRUE(queue.Push(TestItem{0, 10}, far));
  EXPECT_TRUE(queue.Push(TestItem{1, 10}, far));
  EXPECT_TRUE(queue.Push(TestItem{2, 10}, far));
  EXPECT_FALSE(queue.Push(TestItem{3, 10}, far));  // item limit
  EXPECT_EQ(queue.Size(), 3u);

  DelayQueue<TestItem> by_bytes(options);
  EXPECT_TRUE(by_bytes.Push(TestItem{0, 60}, far));
  EXPECT_FALSE(by_bytes.Push(TestItem{1, 50}, far));  // 110 > 100 bytes
  EXPECT_TRUE(by_bytes.Push(TestItem{2, 40}, far));
  EXPECT_EQ(by_bytes.Size(), 2u);
}

}  // namespace
}  // namespace lightcone::netem
