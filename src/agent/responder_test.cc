#include "agent/responder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <vector>

#include "core/wire_address.h"
#include "gtest/gtest.h"

namespace lightcone::agent {
namespace {

class ResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<DeviceConfig> devices(1);
    devices[0].id.fill(0xd1);
    auto store = DeviceKeyStore::Create(devices, {});
    ASSERT_TRUE(store.ok());
    keys_ = *std::move(store);
    key_ = keys_->PublicKeys()[0];
    source_ = {};
    auto* in = reinterpret_cast<sockaddr_in*>(&source_);
    in->sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &in->sin_addr);
  }

  std::vector<uint8_t> ChallengeBytes(const wire::Id& device, uint64_t seq) {
    wire::Challenge c;
    c.landmark_id.fill(0x1a);
    c.device_id = device;
    crypto::RandomBytes(c.nonce);
    c.sequence = seq;
    std::vector<uint8_t> out(wire::kChallengeBytes);
    wire::EncodeChallenge(c, std::span<uint8_t, wire::kChallengeBytes>(out.data(), out.size()));
    return out;
  }

  void TearDown() override {
    if (client_ >= 0) close(client_);
    if (fd_ >= 0) close(fd_);
  }

  // Binds the responder's socket (fd_, at bound_) and a client socket on loopback.
  void OpenLoopbackSockets() {
    auto local = wire::ResolveEndpoint("127.0.0.1:0");
    ASSERT_TRUE(local.ok());
    auto fd = wire::BindUdpSocket(*local);
    ASSERT_TRUE(fd.ok());
    fd_ = *fd;
    auto bound = wire::LocalEndpoint(fd_);
    ASSERT_TRUE(bound.ok());
    bound_ = *bound;
    auto client = wire::BindUdpSocket(*local);
    ASSERT_TRUE(client.ok());
    client_ = *client;
  }

  // Sends a challenge for the fixture's device from the client socket to the responder's and
  // checks that a valid signed reply with the same sequence comes back within 5 s.
  void ExchangeOverLoopback(uint64_t sequence) {
    const int client = client_;
    const wire::Endpoint& to = bound_;
    auto challenge = ChallengeBytes(key_.device_id, sequence);
    ASSERT_EQ(sendto(client, challenge.data(), challenge.size(), 0,
                     reinterpret_cast<const sockaddr*>(&to.address), to.length),
              static_cast<ssize_t>(challenge.size()));
    pollfd p{client, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    uint8_t buf[wire::kMaxDatagramBytes];
    ssize_t n = recv(client, buf, sizeof(buf), 0);
    ASSERT_EQ(n, static_cast<ssize_t>(wire::kReplyBytes));
    wire::Reply reply;
    ASSERT_EQ(wire::DecodeReply(std::span<const uint8_t>(buf, n), &reply),
              wire::DecodeError::kOk);
    EXPECT_EQ(reply.sequence, sequence);
    EXPECT_TRUE(wire::VerifyReply(reply, key_.public_key));
  }

  std::unique_ptr<DeviceKeyStore> keys_;
  PublicKeyInfo key_;
  sockaddr_storage source_;
  int fd_ = -1;      // OpenLoopbackSockets: the responder's socket
  int client_ = -1;  // and the client's
  wire::Endpoint bound_;
};

TEST_F(ResponderTest, AnswersKnownDeviceWithValidSignature) {
  Responder r(-1, keys_.get(), {});
  std::array<uint8_t, wire::kReplyBytes> out;
  auto challenge = ChallengeBytes(key_.device_id, 42);
  ASSERT_TRUE(r.Handle(challenge, source_, 0, out));
  wire::Reply reply;
  ASSERT_EQ(wire::DecodeReply(out, &reply), wire::DecodeError::kOk);
  EXPECT_EQ(reply.sequence, 42u);
  EXPECT_EQ(reply.key_id, key_.key_id);
  EXPECT_TRUE(wire::VerifyReply(reply, key_.public_key));
  EXPECT_EQ(r.stats().answered, 0u);  // counted by the thread when sent, not by Handle
}

TEST_F(ResponderTest, UnknownDeviceGetsNoReply) {
  Responder r(-1, keys_.get(), {});
  std::array<uint8_t, wire::kReplyBytes> out;
  wire::Id other;
  other.fill(0x99);
  EXPECT_FALSE(r.Handle(ChallengeBytes(other, 1), source_, 0, out));
  EXPECT_EQ(r.stats().unknown_device, 1u);
}

TEST_F(ResponderTest, EveryDecodeRejectionIsCountedByReason) {
  Responder r(-1, keys_.get(), {});
  std::array<uint8_t, wire::kReplyBytes> out;
  auto good = ChallengeBytes(key_.device_id, 1);
  auto truncated = good;
  truncated.pop_back();
  auto oversized = good;
  oversized.push_back(0);
  auto bad_magic = good;
  bad_magic[0] = 'X';
  auto version = good;
  version[2] = 9;
  auto type = good;
  type[3] = 77;
  auto padding = good;
  padding.back() = 1;
  std::vector<uint8_t> reply_type(wire::kReplyBytes);
  wire::EncodeReply(wire::Reply{}, std::span<uint8_t, wire::kReplyBytes>(reply_type.data(), reply_type.size()));
  for (const auto& d : {truncated, oversized, bad_magic, version, type, padding, reply_type}) {
    EXPECT_FALSE(r.Handle(d, source_, 0, out));
  }
  ResponderStats s = r.stats();
  using E = wire::DecodeError;
  EXPECT_EQ(s.rejected[static_cast<size_t>(E::kTruncated)], 1u);
  EXPECT_EQ(s.rejected[static_cast<size_t>(E::kOversized)], 1u);
  EXPECT_EQ(s.rejected[static_cast<size_t>(E::kBadMagic)], 1u);
  EXPECT_EQ(s.rejected[static_cast<size_t>(E::kUnknownVersion)], 1u);
  EXPECT_EQ(s.rejected[static_cast<size_t>(E::kUnknownType)], 1u);
  EXPECT_EQ(s.rejected[static_cast<size_t>(E::kNonZeroPadding)], 1u);
  EXPECT_EQ(s.rejected[static_cast<size_t>(E::kUnexpectedType)], 1u);
  EXPECT_EQ(s.rejected_total(), 7u);
}

TEST_F(ResponderTest, RateLimitsPerSource) {
  Responder::Options options;
  options.rate_per_source_per_second = 1;
  options.burst_per_source = 3;
  Responder r(-1, keys_.get(), options);
  std::array<uint8_t, wire::kReplyBytes> out;
  int answered = 0;
  for (int i = 0; i < 10; ++i) answered += r.Handle(ChallengeBytes(key_.device_id, i), source_, 0, out);
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(r.stats().rate_limited, 7u);
}

TEST_F(ResponderTest, AnswersOverRealLoopbackSocket) {
  ASSERT_NO_FATAL_FAILURE(OpenLoopbackSockets());
  Responder r(fd_, keys_.get(), {});
  ASSERT_TRUE(r.Start().ok());
  ExchangeOverLoopback(7);
  r.Stop();
  EXPECT_EQ(r.stats().answered, 1u);
  EXPECT_EQ(r.stats().received, 1u);
}

// Busy polling answers while it polls and, once the window has passed, while it blocks.
TEST_F(ResponderTest, BusyPollingAnswersWhilePollingAndAfterTheWindow) {
  ASSERT_NO_FATAL_FAILURE(OpenLoopbackSockets());
  Responder::Options options;
  options.busy_poll_us = 300'000;
  Responder r(fd_, keys_.get(), options);
  ASSERT_TRUE(r.Start().ok());
  ExchangeOverLoopback(1);  // the first is read by the blocking receive
  EXPECT_EQ(r.stats().busy_polled, 0u);
  ExchangeOverLoopback(2);  // inside the 300 ms window: the polling loop
  usleep(600'000);
  ExchangeOverLoopback(3);  // after it: the blocking receive again
  r.Stop();
  EXPECT_EQ(r.stats().answered, 3u);
  EXPECT_EQ(r.stats().received, 3u);
  // Only the second was read by polling (it was sent microseconds after the first reply).
  EXPECT_EQ(r.stats().busy_polled, 1u);
}

}  // namespace
}  // namespace lightcone::agent
