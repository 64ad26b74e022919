#include "landmark/prober.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"

namespace lightcone::landmark {
namespace {

// The test plays the agent on a real loopback socket so that it can send back any reply,
// honest or not.
class ProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto local = wire::ResolveEndpoint("127.0.0.1:0");
    ASSERT_TRUE(local.ok());
    auto fd = wire::BindUdpSocket(*local);
    ASSERT_TRUE(fd.ok());
    agent_fd_ = *fd;
    auto bound = wire::LocalEndpoint(agent_fd_);
    ASSERT_TRUE(bound.ok());
    agent_ = *bound;
    auto k1 = crypto::SigningKey::Generate();
    auto k2 = crypto::SigningKey::Generate();
    ASSERT_TRUE(k1.ok() && k2.ok());
    key_.emplace(*std::move(k1));
    other_key_.emplace(*std::move(k2));
    device_.fill(0xd1);
    other_device_.fill(0xd2);
    landmark_id_.fill(0x1a);
  }
  void TearDown() override { close(agent_fd_); }

  std::unique_ptr<Prober> MakeProber(std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
    ProbeTarget t1{device_, agent_, {key_->public_key()}};
    ProbeTarget t2{other_device_, agent_, {other_key_->public_key()}};
    Prober::Options options;
    options.landmark_id = landmark_id_;
    options.listen = "127.0.0.1:0";
    options.timeout = timeout;
    auto p = Prober::Create(options, {t1, t2});
    EXPECT_TRUE(p.ok()) << p.status();
    return *std::move(p);
  }

  // Receives one challenge as the agent.
  wire::Challenge ReceiveChallenge(sockaddr_storage* from, socklen_t* from_len) {
    pollfd p{agent_fd_, POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 5000), 1);
    uint8_t buf[wire::kMaxDatagramBytes];
    *from_len = sizeof(*from);
    ssize_t n = recvfrom(agent_fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(from), from_len);
    wire::Challenge c;
    EXPECT_EQ(wire::DecodeChallenge(std::span<const uint8_t>(buf, n), &c), wire::DecodeError::kOk);
    return c;
  }

  void Send(const std::vector<uint8_t>& bytes, const sockaddr_storage& to, socklen_t len) {
    ASSERT_EQ(sendto(agent_fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), len),
              static_cast<ssize_t>(bytes.size()));
  }

  static std::vector<uint8_t> Encode(const wire::Reply& r) {
    std::vector<uint8_t> out(wire::kReplyBytes);
    wire::EncodeReply(r, std::span<uint8_t, wire::kReplyBytes>(out.data(), out.size()));
    return out;
  }

  // Probes target 0 once, lets `make_replies` answer, and polls until quiet.
  ProberStats Exchange(Prober& prober,
                       const std::function<std::vector<std::vector<uint8_t>>(const wire::Challenge&)>& make_replies,
                       int* accepted) {
    EXPECT_TRUE(prober.Probe(0).ok());
    sockaddr_storage from;
    socklen_t len;
    wire::Challenge c = ReceiveChallenge(&from, &len);
    for (const auto& bytes : make_replies(c)) Send(bytes, from, len);
    for (int i = 0; i < 10; ++i) {
      prober.Poll(std::chrono::milliseconds(20), [&](const ProbeResult&) { ++*accepted; });
    }
    return prober.stats();
  }

  int agent_fd_ = -1;
  wire::Endpoint agent_;
  std::optional<crypto::SigningKey> key_;
  std::optional<crypto::SigningKey> other_key_;
  wire::Id device_, other_device_, landmark_id_;
};

TEST_F(ProberTest, AcceptsHonestReplyWithPositiveRtt) {
  auto prober = MakeProber();
  int accepted = 0;
  int64_t rtt = -1;
  ASSERT_TRUE(prober->Probe(0).ok());
  sockaddr_storage from;
  socklen_t len;
  wire::Challenge c = ReceiveChallenge(&from, &len);
  EXPECT_EQ(c.landmark_id, landmark_id_);
  EXPECT_EQ(c.device_id, device_);
  wire::Reply r;
  wire::SignReply(c, *key_, &r);
  Send(Encode(r), from, len);
  for (int i = 0; i < 50 && accepted == 0; ++i) {
    prober->Poll(std::chrono::milliseconds(20), [&](const ProbeResult& res) {
      ++accepted;
      rtt = res.rtt_ns;
      EXPECT_EQ(res.target, 0u);
    });
  }
  EXPECT_EQ(accepted, 1);
  EXPECT_GT(rtt, 0);
  EXPECT_LT(rtt, 2'000'000'000);
  EXPECT_EQ(prober->stats().accepted, 1u);
  EXPECT_EQ(prober->outstanding(), 0u);
  if (prober->kernel_tx_timestamps()) {
    EXPECT_EQ(prober->stats().tx_kernel_timestamps, 1u);
  }
}

TEST_F(ProberTest, RejectsEachForgeryByReason) {
  auto prober = MakeProber();
  int accepted = 0;
  auto reason = [&](RejectReason r) { return prober->stats().rejected[static_cast<size_t>(r)]; };

  // Tampered signature.
  Exchange(*prober, [&](const wire::Challenge& c) {
    wire::Reply r;
    wire::SignReply(c, *key_, &r);
    r.signature[5] ^= 1;
    return std::vector<std::vector<uint8_t>>{Encode(r)};
  }, &accepted);
  EXPECT_EQ(reason(RejectReason::kBadSignature), 1u);

  // Wrong nonce.
  Exchange(*prober, [&](const wire::Challenge& c) {
    wire::Challenge forged = c;
    forged.nonce[0] ^= 1;
    wire::Reply r;
    wire::SignReply(forged, *key_, &r);
    return std::vector<std::vector<uint8_t>>{Encode(r)};
  }, &accepted);
  EXPECT_EQ(reason(RejectReason::kWrongNonce), 1u);

  // Signed for another landmark.
  Exchange(*prober, [&](const wire::Challenge& c) {
    wire::Challenge forged = c;
    forged.landmark_id.fill(0x77);
    wire::Reply r;
    wire::SignReply(forged, *key_, &r);
    return std::vector<std::vector<uint8_t>>{Encode(r)};
  }, &accepted);
  EXPECT_EQ(reason(RejectReason::kWrongLandmark), 1u);

  // Another device's reply credited to this one (other device's id inside).
  Exchange(*prober, [&](const wire::Challenge& c) {
    wire::Challenge forged = c;
    forged.device_id = other_device_;
    wire::Reply r;
    wire::SignReply(forged, *other_key_, &r);
    return std::vector<std::vector<uint8_t>>{Encode(r)};
  }, &accepted);
  EXPECT_EQ(reason(RejectReason::kWrongDevice), 1u);

  // This device's id, but signed by another device's key.
  Exchange(*prober, [&](const wire::Challenge& c) {
    wire::Reply r;
    wire::SignReply(c, *other_key_, &r);
    return std::vector<std::vector<uint8_t>>{Encode(r)};
  }, &accepted);
  EXPECT_EQ(reason(RejectReason::kOtherDeviceKey), 1u);

  // A key nobody registered.
  Exchange(*prober, [&](const wire::Challenge& c) {
    auto stranger = crypto::SigningKey::Generate();
    wire::Reply r;
    wire::SignReply(c, *stranger, &r);
    return std::vector<std::vector<uint8_t>>{Encode(r)};
  }, &accepted);
  EXPECT_EQ(reason(RejectReason::kUnknownKey), 1u);

  // A sequence never issued.
  Exchange(*prober, [&](const wire::Challenge& c) {
    wire::Challenge forged = c;
    forged.sequence += 1000;
    wire::Reply r;
    wire::SignReply(forged, *key_, &r);
    return std::vector<std::vector<uint8_t>>{Encode(r)};
  }, &accepted);
  EXPECT_EQ(reason(RejectReason::kUnknownSequence), 1u);

  // Honest reply sent three times: accepted once, then two replays.
  Exchange(*prober, [&](const wire::Challenge& c) {
    wire::Reply r;
    wire::SignReply(c, *key_, &r);
    return std::vector<std::vector<uint8_t>>{Encode(r), Encode(r), Encode(r)};
  }, &accepted);
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(reason(RejectReason::kReplay), 2u);

  // Truncated and oversized datagrams.
  Exchange(*prober, [&](const wire::Challenge& c) {
    wire::Reply r;
    wire::SignReply(c, *key_, &r);
    auto shorter = Encode(r);
    shorter.pop_back();
    auto longer = Encode(r);
    longer.push_back(0);
    std::vector<uint8_t> huge(wire::kMaxDatagramBytes + 100, 0);
    return std::vector<std::vector<uint8_t>>{shorter, longer, huge};
  }, &accepted);
  const ProberStats& s = prober->stats();
  EXPECT_EQ(s.decode_rejected[static_cast<size_t>(wire::DecodeError::kTruncated)], 1u);
  EXPECT_EQ(s.decode_rejected[static_cast<size_t>(wire::DecodeError::kOversized)], 2u);
  EXPECT_EQ(accepted, 1);
}

TEST_F(ProberTest, LateReplyIsRejected) {
  auto prober = MakeProber(std::chrono::milliseconds(30));
  ASSERT_TRUE(prober->Probe(0).ok());
  sockaddr_storage from;
  socklen_t len;
  wire::Challenge c = ReceiveChallenge(&from, &len);
  usleep(60'000);  // past the timeout (the check is on timestamps, not on wall time)
  wire::Reply r;
  wire::SignReply(c, *key_, &r);
  Send(Encode(r), from, len);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) prober->Poll(std::chrono::milliseconds(10), [&](const ProbeResult&) { ++accepted; });
  EXPECT_EQ(accepted, 0);
  EXPECT_EQ(prober->stats().rejected[static_cast<size_t>(RejectReason::kLate)], 1u);
  EXPECT_EQ(prober->stats().timeouts, 1u);
  EXPECT_EQ(prober->outstanding(), 0u);
}

TEST_F(ProberTest, HelloGivesAnAgentInitiatedTargetItsAddress) {
  ProbeTarget t{device_, std::nullopt, {key_->public_key()}, /*agent_initiated=*/true};
  ProbeTarget direct{other_device_, agent_, {other_key_->public_key()}};
  Prober::Options options;
  options.landmark_id = landmark_id_;
  options.listen = "127.0.0.1:0";
  auto prober = Prober::Create(options, {t, direct});
  ASSERT_TRUE(prober.ok());
  EXPECT_EQ((*prober)->Probe(0).code(), absl::StatusCode::kFailedPrecondition);
  // A hello for a directly probed target is ignored: hellos cannot redirect it.
  std::vector<uint8_t> hijack(wire::kHelloBytes);
  wire::EncodeHello({landmark_id_, other_device_},
                    std::span<uint8_t, wire::kHelloBytes>(hijack.data(), hijack.size()));
  std::vector<uint8_t> hello(wire::kHelloBytes);
  wire::EncodeHello({landmark_id_, device_}, std::span<uint8_t, wire::kHelloBytes>(hello.data(), hello.size()));
  wire::Endpoint lm = (*prober)->local_endpoint();
  Send(hello, lm.address, lm.length);
  Send(hijack, lm.address, lm.length);
  for (int i = 0; i < 20 && (*prober)->stats().hellos < 2; ++i) {
    (*prober)->Poll(std::chrono::milliseconds(20), nullptr);
  }
  EXPECT_EQ((*prober)->stats().hellos, 2u);
  EXPECT_EQ((*prober)->stats().hellos_rejected, 1u);
  EXPECT_EQ((*prober)->targets()[1].endpoint->length, agent_.length);
  ASSERT_TRUE((*prober)->Probe(0).ok());
  sockaddr_storage from;
  socklen_t len;
  wire::Challenge c = ReceiveChallenge(&from, &len);  // arrives on the agent's own socket
  EXPECT_EQ(c.device_id, device_);
}

}  // namespace
}  // namespace lightcone::landmark
