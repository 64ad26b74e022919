// Test-only UDP man-in-the-middle between a landmark and an agent. It forwards challenges
// to --forward and replies back to whoever sent the last challenge, and can misbehave:
//
//   --mode pass            forward unchanged
//   --mode tamper          flip one bit of each reply's signature
//   --mode replay          forward each reply, then send it twice more
//   --mode wrong-landmark  rewrite the challenge's landmark id (the agent signs for another)
//   --mode swap-device     ask the agent for --swap-device's reply and credit it to the
//                          probed device (device id rewritten back in the reply)
//   --mode truncate        drop the reply's last byte
//   --mode oversize        append one byte to the reply
//
// Prints {"event":"listening","address":"HOST:PORT"} on stdout once ready; runs until
// SIGTERM.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/wire.h"
#include "core/wire_address.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

constexpr size_t kLandmarkIdOffset = 4;      // in a challenge
constexpr size_t kChallengeDeviceOffset = 20;
constexpr size_t kReplyDeviceOffset = 4;
constexpr size_t kReplySignatureOffset = 84;

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", forward, mode = "pass", swap_device;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--listen") listen = argv[i + 1];
    else if (flag == "--forward") forward = argv[i + 1];
    else if (flag == "--mode") mode = argv[i + 1];
    else if (flag == "--swap-device") swap_device = argv[i + 1];
    else {
      std::fprintf(stderr, "evil_relay: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  auto local = lightcone::wire::ResolveEndpoint(listen);
  auto upstream = lightcone::wire::ResolveEndpoint(forward);
  auto any = lightcone::wire::ResolveEndpoint("127.0.0.1:0");
  if (!local.ok() || !upstream.ok() || !any.ok()) {
    std::fprintf(stderr, "evil_relay: bad --listen or --forward\n");
    return 2;
  }
  lightcone::wire::Id swap_id{};
  if (mode == "swap-device") {
    auto id = lightcone::wire::ParseId(swap_device);
    if (!id.ok()) {
      std::fprintf(stderr, "evil_relay: --swap-device needs an id\n");
      return 2;
    }
    swap_id = *id;
  }
  auto front = lightcone::wire::BindUdpSocket(*local);
  auto back = lightcone::wire::BindUdpSocket(*any);
  if (!front.ok() || !back.ok()) return 1;
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  auto bound = lightcone::wire::LocalEndpoint(*front);
  std::printf("{\"event\":\"listening\",\"address\":\"%s\"}\n",
              lightcone::wire::FormatEndpoint(*bound).c_str());
  std::fflush(stdout);

  sockaddr_storage client{};
  socklen_t client_len = 0;
  uint8_t original_device[lightcone::wire::kIdBytes] = {};
  while (!g_stop) {
    pollfd fds[2] = {{*front, POLLIN, 0}, {*back, POLLIN, 0}};
    if (poll(fds, 2, 100) <= 0) continue;
    uint8_t buf[2048];
    if (fds[0].revents & POLLIN) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      ssize_t n = recvfrom(*front, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n > 0) {
        client = from;
        client_len = from_len;
        if (n == static_cast<ssize_t>(lightcone::wire::kChallengeBytes)) {
          std::memcpy(original_device, buf + kChallengeDeviceOffset, lightcone::wire::kIdBytes);
          if (mode == "wrong-landmark") std::memset(buf + kLandmarkIdOffset, 0x77, lightcone::wire::kIdBytes);
          if (mode == "swap-device") std::memcpy(buf + kChallengeDeviceOffset, swap_id.data(), swap_id.size());
        }
        sendto(*back, buf, n, 0, reinterpret_cast<const sockaddr*>(&upstream->address), upstream->length);
      }
    }
    if (fds[1].revents & POLLIN) {
      ssize_t n = recv(*back, buf, sizeof(buf), 0);
      if (n <= 0 || client_len == 0) continue;
      bool is_reply = n == static_cast<ssize_t>(lightcone::wire::kReplyBytes);
      int copies = 1;
      if (is_reply) {
        if (mode == "tamper") buf[kReplySignatureOffset + 10] ^= 0x01;
        if (mode == "swap-device") std::memcpy(buf + kReplyDeviceOffset, original_device, lightcone::wire::kIdBytes);
        if (mode == "truncate") n -= 1;
        if (mode == "oversize") buf[n++] = 0;
        if (mode == "replay") copies = 3;
      }
      for (int i = 0; i < copies; ++i) {
        sendto(*front, buf, n, 0, reinterpret_cast<const sockaddr*>(&client), client_len);
      }
    }
  }
  close(*front);
  close(*back);
  return 0;
}
