#include "core/net_timestamps.h"

#include <arpa/inet.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"

namespace lightcone::net {
namespace {

int64_t RealtimeNowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TimespecToNs(ts);
}

// A UDP socket bound to 127.0.0.1 port 0.
int LoopbackSocket(sockaddr_in* bound) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t length = sizeof(*bound);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(bound), &length), 0);
  return fd;
}

// Receives one datagram (waiting for it) and returns its kernel receive timestamp.
int64_t ReceiveOneTimestampNs(int fd) {
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 5000), 1);
  alignas(cmsghdr) uint8_t control[kTimestampControlBytes];
  uint8_t data[64];
  iovec iov{data, sizeof(data)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  EXPECT_GT(recvmsg(fd, &msg, 0), 0);
  return ReceiveTimestampNs(msg);
}

void SendTo(int fd, const sockaddr_in& to) {
  const char byte = 'x';
  ASSERT_EQ(sendto(fd, &byte, 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)), 1);
}

// The kernel turns receive timestamping on through deferred work (net_enable_timestamp):
// when no other socket on the machine has it on, the first datagrams right after the
// setsockopt may arrive unstamped. Every stamp that arrives must lie between the send and
// the receive, and one must arrive within a few tries.
void ExpectStampedDatagramsInBounds(int sender, int receiver, const sockaddr_in& receiver_addr) {
  int64_t rx_ns = 0;
  for (int attempt = 0; attempt < 50 && rx_ns == 0; ++attempt) {
    const int64_t before_ns = RealtimeNowNs();
    SendTo(sender, receiver_addr);
    rx_ns = ReceiveOneTimestampNs(receiver);
    const int64_t after_ns = RealtimeNowNs();
    if (rx_ns != 0) {
      EXPECT_GE(rx_ns, before_ns);
      EXPECT_LE(rx_ns, after_ns);
    } else {
      usleep(10'000);
    }
  }
  EXPECT_NE(rx_ns, 0) << "no receive timestamp in 50 datagrams";
}

TEST(NetTimestampsTest, TimespecToNs) {
  EXPECT_EQ(TimespecToNs(timespec{3, 25}), 3'000'000'025);
}

TEST(NetTimestampsTest, NoControlDataHasNoTimestamp) {
  msghdr msg{};
  EXPECT_EQ(ReceiveTimestampNs(msg), 0);
  TxTimestampReport report = ParseTxTimestamp(msg);
  EXPECT_EQ(report.tx_ns, 0);
  EXPECT_FALSE(report.id.has_value());
}

TEST(NetTimestampsTest, ReceiveTimestampFromTimestampNs) {
  sockaddr_in receiver_addr, sender_addr;
  int receiver = LoopbackSocket(&receiver_addr);
  int sender = LoopbackSocket(&sender_addr);
  int on = 1;
  ASSERT_EQ(setsockopt(receiver, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)), 0);
  ExpectStampedDatagramsInBounds(sender, receiver, receiver_addr);
  close(receiver);
  close(sender);
}

TEST(NetTimestampsTest, ReceiveTimestampFromTimestamping) {
  sockaddr_in receiver_addr, sender_addr;
  int receiver = LoopbackSocket(&receiver_addr);
  int sender = LoopbackSocket(&sender_addr);
  uint32_t flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
  ASSERT_EQ(setsockopt(receiver, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)), 0);
  ExpectStampedDatagramsInBounds(sender, receiver, receiver_addr);
  close(receiver);
  close(sender);
}

TEST(NetTimestampsTest, WithoutTimestampOptionThereIsNone) {
  sockaddr_in receiver_addr, sender_addr;
  int receiver = LoopbackSocket(&receiver_addr);
  int sender = LoopbackSocket(&sender_addr);
  SendTo(sender, receiver_addr);
  EXPECT_EQ(ReceiveOneTimestampNs(receiver), 0);
  close(receiver);
  close(sender);
}

TEST(NetTimestampsTest, TransmitTimestampsCarryTheirIds) {
  sockaddr_in receiver_addr, sender_addr;
  int receiver = LoopbackSocket(&receiver_addr);
  int sender = LoopbackSocket(&sender_addr);
  uint32_t flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                   SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
  ASSERT_EQ(setsockopt(sender, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)), 0);
  // Nothing sent yet: the error queue is empty.
  EXPECT_FALSE(ReadTxTimestamp(sender).has_value());
  EXPECT_EQ(errno, EAGAIN);
  int64_t before_ns = RealtimeNowNs();
  SendTo(sender, receiver_addr);
  SendTo(sender, receiver_addr);
  for (uint32_t expected_id = 0; expected_id < 2; ++expected_id) {
    std::optional<TxTimestampReport> report;
    pollfd p{sender, 0, 0};  // error-queue readiness shows as POLLERR
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    report = ReadTxTimestamp(sender);
    ASSERT_TRUE(report.has_value());
    EXPECT_GE(report->tx_ns, before_ns);
    EXPECT_LE(report->tx_ns, RealtimeNowNs());
    ASSERT_TRUE(report->id.has_value());
    EXPECT_EQ(*report->id, expected_id);
  }
  close(receiver);
  close(sender);
}

}  // namespace
}  // namespace lightcone::net
