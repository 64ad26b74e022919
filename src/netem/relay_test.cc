#include "netem/relay.h"

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "netem/udp_test_util.h"

namespace lightcone::netem {
namespace {

using std::chrono::milliseconds;
using testing::EchoServer;
using testing::SteadyNowNs;
using testing::UdpClient;

constexpr auto kReplyTimeout = milliseconds(2000);
// Upper bounds are deliberately loose: a loaded machine may be slow, never fast.
constexpr double kSlackMs = 50.0;

LinkSpec Spec(const std::string& forward, double delay_ms) {
  LinkSpec spec;
  spec.listen = "127.0.0.1:0";
  spec.forward = forward;
  spec.delay = std::chrono::nanoseconds(static_cast<int64_t>(delay_ms * 1e6));
  return spec;
}

// Polls `condition` for up to five seconds.
template <typename F>
bool Eventually(F condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return condition();
}

TEST(Relay, PortZeroBindsARealPort) {
  EchoServer echo;
  Relay relay;
  auto bound = relay.AddLink(Spec(echo.address(), 1));
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_NE(bound->port(), 0);
  EXPECT_EQ(relay.listen_address(0), *bound);
  EXPECT_EQ(relay.link_spec(0).name, "link0");
}

TEST(Relay, RoundTripIncludesBothDelays) {
  EchoServer echo;
  Relay relay;
  auto bound = relay.AddLink(Spec(echo.address(), 10));
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  UdpClient client(*bound);
  double min_rtt_ms = 1e9;
  for (int i = 0; i < 5; ++i) {
    const std::string payload = absl::StrCat("ping ", i);
    const int64_t sent = SteadyNowNs();
    ASSERT_TRUE(client.Send(payload));
    auto reply = client.Receive(kReplyTimeout);
    const double rtt_ms = static_cast<double>(SteadyNowNs() - sent) / 1e6;
    ASSERT_TRUE(reply.has_value()) << "no reply to " << payload;
    EXPECT_EQ(*reply, payload);
    EXPECT_GE(rtt_ms, 20.0);
    min_rtt_ms = std::min(min_rtt_ms, rtt_ms);
  }
  EXPECT_LT(min_rtt_ms, 20.0 + kSlackMs);
  relay.Stop();
  const LinkCounters c = relay.counters(0);
  EXPECT_EQ(c.received, 5u);
  EXPECT_EQ(c.forwarded, 5u);
  EXPECT_EQ(c.replies_received, 5u);
  EXPECT_EQ(c.returned, 5u);
  EXPECT_EQ(c.mappings_created, 1u);
  EXPECT_EQ(relay.Lateness().count, 10u);
}

TEST(Relay, ReturnDelayMayDifferFromForwardDelay) {
  EchoServer echo;
  Relay relay;
  LinkSpec spec = Spec(echo.address(), 5);
  spec.return_delay = milliseconds(15);
  auto bound = relay.AddLink(spec);
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  UdpClient client(*bound);
  for (int i = 0; i < 3; ++i) {
    const int64_t sent = SteadyNowNs();
    ASSERT_TRUE(client.Send("x"));
    ASSERT_TRUE(client.Receive(kReplyTimeout).has_value());
    const int64_t received = SteadyNowNs();
    const double forward_ms = static_cast<double>(echo.last_arrival_ns() - sent) / 1e6;
    const double return_ms = static_cast<double>(received - echo.last_arrival_ns()) / 1e6;
    EXPECT_GE(forward_ms, 5.0);
    EXPECT_GE(return_ms, 15.0);
    EXPECT_LT(forward_ms + return_ms, 20.0 + kSlackMs);
  }
}

TEST(Relay, JitterKeepsEveryDelayWithinItsBounds) {
  EchoServer echo;
  RelayOptions options;
  options.seed = 11;
  Relay relay(options);
  LinkSpec spec = Spec(echo.address(), 10);
  spec.jitter = milliseconds(2);
  auto bound = relay.AddLink(spec);
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  UdpClient client(*bound);
  for (int i = 0; i < 10; ++i) {
    const int64_t sent = SteadyNowNs();
    ASSERT_TRUE(client.Send("j"));
    ASSERT_TRUE(client.Receive(kReplyTimeout).has_value());
    EXPECT_GE(static_cast<double>(SteadyNowNs() - sent) / 1e6, 16.0);  // 2 x (10 - 2) ms
  }
}

TEST(Relay, LossOfOneDropsEverything) {
  EchoServer echo;
  Relay relay;
  LinkSpec spec = Spec(echo.address(), 1);
  spec.loss = 1.0;
  auto bound = relay.AddLink(spec);
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  UdpClient client(*bound);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.Send("lost"));
  ASSERT_TRUE(Eventually([&] { return relay.counters(0).received == 20; }));
  EXPECT_FALSE(client.Receive(milliseconds(100)).has_value());
  const LinkCounters c = relay.counters(0);
  EXPECT_EQ(c.dropped_loss, 20u);
  EXPECT_EQ(c.forwarded, 0u);
  EXPECT_EQ(echo.received(), 0);
}

TEST(Relay, EachClientGetsItsOwnReplies) {
  EchoServer echo;
  Relay relay;
  auto bound = relay.AddLink(Spec(echo.address(), 2));
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  std::vector<std::unique_ptr<UdpClient>> clients;
  for (int c = 0; c < 3; ++c) clients.push_back(std::make_unique<UdpClient>(*bound));
  for (int round = 0; round < 4; ++round) {
    for (int c = 0; c < 3; ++c) {
      ASSERT_TRUE(clients[static_cast<size_t>(c)]->Send(absl::StrCat("client", c, "#", round)));
    }
  }
  for (int c = 0; c < 3; ++c) {
    for (int round = 0; round < 4; ++round) {
      auto reply = clients[static_cast<size_t>(c)]->Receive(kReplyTimeout);
      ASSERT_TRUE(reply.has_value()) << "client " << c << " round " << round;
      EXPECT_EQ(*reply, absl::StrCat("client", c, "#", round));
    }
    EXPECT_FALSE(clients[static_cast<size_t>(c)]->Receive(milliseconds(20)).has_value());
  }
  EXPECT_EQ(relay.counters(0).mappings_created, 3u);
  EXPECT_EQ(relay.counters(0).returned, 12u);
}

TEST(Relay, QueueLimitDropsAndCounts) {
  EchoServer echo;
  RelayOptions options;
  options.max_queued_datagrams = 5;
  Relay relay(options);
  // Long enough that nothing leaves the queue while the test looks at it.
  auto bound = relay.AddLink(Spec(echo.address(), 10'000));
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  UdpClient client(*bound);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.Send("q"));
  ASSERT_TRUE(Eventually([&] { return relay.counters(0).received == 20; }));
  EXPECT_EQ(relay.counters(0).dropped_queue_full, 15u);
  EXPECT_EQ(relay.queued_datagrams(), 5u);
}

TEST(Relay, OversizeDatagramsAreDroppedAndCounted) {
  EchoServer echo;
  RelayOptions options;
  options.max_datagram_bytes = 100;
  Relay relay(options);
  auto bound = relay.AddLink(Spec(echo.address(), 0));
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  UdpClient client(*bound);
  ASSERT_TRUE(client.Send(std::string(101, 'b')));
  ASSERT_TRUE(client.Send(std::string(100, 'a')));
  auto reply = client.Receive(kReplyTimeout);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, std::string(100, 'a'));
  EXPECT_EQ(relay.counters(0).dropped_oversize, 1u);
  EXPECT_EQ(relay.counters(0).forwarded, 1u);
}

TEST(Relay, MappingLimitDropsNewClients) {
  EchoServer echo;
  RelayOptions options;
  options.max_mappings_per_link = 1;
  Relay relay(options);
  auto bound = relay.AddLink(Spec(echo.address(), 0));
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  UdpClient first(*bound), second(*bound);
  ASSERT_TRUE(first.Send("1"));
  ASSERT_TRUE(first.Receive(kReplyTimeout).has_value());
  ASSERT_TRUE(second.Send("2"));
  EXPECT_FALSE(second.Receive(milliseconds(200)).has_value());
  EXPECT_EQ(relay.counters(0).dropped_mapping_limit, 1u);
}

TEST(Relay, FullMappingTableReclaimsIdleMappings) {
  EchoServer echo;
  RelayOptions options;
  options.max_mappings_per_link = 1;
  options.mapping_idle_timeout = milliseconds(20);
  Relay relay(options);
  auto bound = relay.AddLink(Spec(echo.address(), 0));
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  UdpClient first(*bound), second(*bound);
  ASSERT_TRUE(first.Send("1"));
  ASSERT_TRUE(first.Receive(kReplyTimeout).has_value());
  std::this_thread::sleep_for(milliseconds(150));  // first's mapping is idle now
  ASSERT_TRUE(second.Send("2"));
  auto reply = second.Receive(kReplyTimeout);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, "2");
  EXPECT_EQ(relay.counters(0).dropped_mapping_limit, 0u);
}

TEST(Relay, IdleMappingsExpire) {
  EchoServer echo;
  RelayOptions options;
  options.mapping_idle_timeout = milliseconds(50);
  Relay relay(options);
  auto bound = relay.AddLink(Spec(echo.address(), 0));
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_TRUE(relay.Start().ok());
  UdpClient client(*bound);
  ASSERT_TRUE(client.Send("a"));
  ASSERT_TRUE(client.Receive(kReplyTimeout).has_value());
  ASSERT_TRUE(Eventually([&] { return relay.counters(0).mappings_expired == 1; }));
  // The same client comes back and gets a fresh mapping that works.
  ASSERT_TRUE(client.Send("b"));
  auto reply = client.Receive(kReplyTimeout);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, "b");
  EXPECT_EQ(relay.counters(0).mappings_created, 2u);
}

TEST(Relay, ManyLinksInOneProcess) {
  EchoServer near_server, far_server;
  Relay relay;
  auto near_link = relay.AddLink(Spec(near_server.address(), 1));
  auto far_link = relay.AddLink(Spec(far_server.address(), 30));
  ASSERT_TRUE(near_link.ok() && far_link.ok());
  ASSERT_TRUE(relay.Start().ok());
  UdpClient near_client(*near_link), far_client(*far_link);
  const int64_t sent = SteadyNowNs();
  ASSERT_TRUE(far_client.Send("far"));
  ASSERT_TRUE(near_client.Send("near"));
  ASSERT_EQ(near_client.Receive(kReplyTimeout).value_or(""), "near");
  ASSERT_EQ(far_client.Receive(kReplyTimeout).value_or(""), "far");
  EXPECT_GE(static_cast<double>(SteadyNowNs() - sent) / 1e6, 60.0);
  EXPECT_EQ(near_server.received(), 1);
  EXPECT_EQ(far_server.received(), 1);
}

TEST(Relay, ListensOnIpv6AndForwardsToIpv4) {
  {
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    const bool have_ipv6 = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr),
                                           sizeof(addr)) == 0;
    if (fd >= 0) close(fd);
    if (!have_ipv6) GTEST_SKIP() << "no IPv6 loopback here";
  }
  EchoServer echo;
  Relay relay;
  LinkSpec spec = Spec(echo.address(), 1);
  spec.listen = "[::1]:0";
  auto bound = relay.AddLink(spec);
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->family(), AF_INET6);
  ASSERT_TRUE(relay.Start().ok());
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  ASSERT_EQ(sendto(fd, "six", 3, 0, bound->sockaddr_ptr(), bound->length()), 3);
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 2000), 1);
  char buffer[16];
  EXPECT_EQ(recv(fd, buffer, sizeof(buffer), 0), 3);
  EXPECT_EQ(std::string(buffer, 3), "six");
  close(fd);
}

TEST(Relay, RecoversWhenTheTargetComesBack) {
  // Find a free port, then leave it closed: the first datagram meets an ICMP unreachable.
  uint16_t port = 0;
  {
    EchoServer probe;
    port = SocketAddress::Parse(probe.address())->port();
  }
  Relay relay;
  auto bound = relay.AddLink(Spec(absl::StrCat("127.0.0.1:", port), 1));
  ASSERT_TRUE(bound.ok());
  ASSERT_TRUE(relay.Start().ok());
  UdpClient client(*bound);
  ASSERT_TRUE(client.Send("nobody home"));
  ASSERT_TRUE(Eventually([&] { return relay.counters(0).forwarded == 1; }));
  EXPECT_FALSE(client.Receive(milliseconds(50)).has_value());
  EchoServer echo(port);
  ASSERT_TRUE(echo.ok());
  ASSERT_TRUE(client.Send("back"));
  auto reply = client.Receive(kReplyTimeout);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, "back");
}

TEST(Relay, AddLinkRejectsBadSpecsAndLimits) {
  RelayOptions options;
  options.max_links = 1;
  Relay relay(options);
  LinkSpec bad = Spec("127.0.0.1:9", 1);
  bad.loss = 2.0;
  EXPECT_EQ(relay.AddLink(bad).status().code(), absl::StatusCode::kInvalidArgument);
  LinkSpec no_port = Spec("127.0.0.1", 1);
  EXPECT_EQ(relay.AddLink(no_port).status().code(), absl::StatusCode::kInvalidArgument);
  auto first = relay.AddLink(Spec("127.0.0.1:9", 1));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(relay.AddLink(Spec("127.0.0.1:9", 1)).status().code(),
            absl::StatusCode::kResourceExhausted);

  Relay other;
  LinkSpec taken = Spec("127.0.0.1:9", 1);
  taken.listen = first->ToString();  // already bound by `relay`
  EXPECT_EQ(other.AddLink(taken).status().code(), absl::StatusCode::kUnavailable);
}

TEST(Relay, StopIsCleanWithDatagramsQueued) {
  EchoServer echo;
  Relay relay;
  auto bound = relay.AddLink(Spec(echo.address(), 5'000));
  ASSERT_TRUE(bound.ok());
  ASSERT_TRUE(relay.Start().ok());
  UdpClient client(*bound);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.Send("pending"));
  ASSERT_TRUE(Eventually([&] { return relay.queued_datagrams() == 10; }));
  relay.Stop();
  relay.Stop();  // idempotent
  EXPECT_EQ(relay.queued_datagrams(), 0u);
  EXPECT_EQ(echo.received(), 0);
}

}  // namespace
}  // namespace lightcone::netem
