// Kernel packet timestamps read from the control messages of recvmsg(): the receive time of
// a datagram (SO_TIMESTAMPNS or SO_TIMESTAMPING with SOF_TIMESTAMPING_RX_SOFTWARE) and the
// transmit time reported on the error queue (SOF_TIMESTAMPING_TX_SOFTWARE, optionally with
// SOF_TIMESTAMPING_OPT_ID). All times are CLOCK_REALTIME nanoseconds, as the kernel stamps.
#ifndef LIGHTCONE_CORE_NET_TIMESTAMPS_H_
#define LIGHTCONE_CORE_NET_TIMESTAMPS_H_

#include <sys/socket.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace lightcone::net {

// Control buffer large enough for every timestamp message (and an error-queue report)
// one recvmsg() returns.
inline constexpr size_t kTimestampControlBytes = 256;

inline int64_t TimespecToNs(const timespec& ts) {
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The kernel receive timestamp in `msg`'s control data (SCM_TIMESTAMPNS, or the software
// stamp of SCM_TIMESTAMPING), in CLOCK_REALTIME ns; 0 when the message carries none. If
// both are present the later control message wins.
int64_t ReceiveTimestampNs(const msghdr& msg);

// One transmit-timestamp report read from a socket's error queue.
struct TxTimestampReport {
  int64_t tx_ns = 0;  // software transmit stamp, CLOCK_REALTIME ns; 0: none in the message
  // The SOF_TIMESTAMPING_OPT_ID counter of the datagram (ee_data of an IP_RECVERR or
  // IPV6_RECVERR report whose origin is SO_EE_ORIGIN_TIMESTAMPING); empty without one.
  std::optional<uint32_t> id;
};

// Parses the control data of a message read with MSG_ERRQUEUE.
TxTimestampReport ParseTxTimestamp(const msghdr& msg);

// Reads one report from `fd`'s error queue without blocking (recvmsg with
// MSG_ERRQUEUE | MSG_DONTWAIT). Empty when nothing was read; errno is then recvmsg()'s
// (EAGAIN: the queue is empty).
std::optional<TxTimestampReport> ReadTxTimestamp(int fd);

}  // namespace lightcone::net

#endif  // LIGHTCONE_CORE_NET_TIMESTAMPS_H_
