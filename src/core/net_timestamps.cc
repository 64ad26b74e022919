#include "core/net_timestamps.h"

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>

#include <cstring>

namespace lightcone::net {
namespace {

// Payload bytes read with an error-queue report: SOF_TIMESTAMPING_OPT_TSONLY sends none,
// and a longer looped-back packet is simply truncated (its control data still arrives).
constexpr size_t kErrorQueueDataBytes = 64;

}  // namespace

int64_t ReceiveTimestampNs(const msghdr& msg) {
  int64_t rx_ns = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_TIMESTAMPING) {
      scm_timestamping tss;
      std::memcpy(&tss, CMSG_DATA(c), sizeof(tss));
      rx_ns = TimespecToNs(tss.ts[0]);
    } else if (c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      rx_ns = TimespecToNs(ts);
    }
  }
  return rx_ns;
}

TxTimestampReport ParseTxTimestamp(const msghdr& msg) {
  TxTimestampReport report;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
      scm_timestamping tss;
      std::memcpy(&tss, CMSG_DATA(c), sizeof(tss));
      report.tx_ns = TimespecToNs(tss.ts[0]);
    } else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
               (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
      sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof(ee));
      if (ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) report.id = ee.ee_data;
    }
  }
  return report;
}

std::optional<TxTimestampReport> ReadTxTimestamp(int fd) {
  alignas(cmsghdr) uint8_t control[kTimestampControlBytes];
  uint8_t data[kErrorQueueDataBytes];
  iovec iov{data, sizeof(data)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return std::nullopt;
  return ParseTxTimestamp(msg);
}

}  // namespace lightcone::net
