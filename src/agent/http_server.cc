#include "agent/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/logging.h"

namespace lightcone::agent {
namespace {

constexpr int kListenBacklog = 64;
constexpr size_t kReadChunkBytes = 4096;

struct Connection {
  int fd = -1;
  std::string in;
  std::string out;
  size_t out_offset = 0;
  bool responding = false;
  std::chrono::steady_clock::time_point deadline;
};

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Unknown";
  }
}

std::string Serialize(const HttpResponse& r, bool head) {
  std::string out = absl::StrCat("HTTP/1.1 ", r.status, " ", Reason(r.status),
                                 "\r\nContent-Type: ", r.content_type,
                                 "\r\nContent-Length: ", r.body.size(),
                                 "\r\nConnection: close\r\n\r\n");
  if (!head) out += r.body;
  return out;
}

HttpResponse Error(int status) {
  return HttpResponse{.status = status, .body = absl::StrCat(status, " ", Reason(status), "\n")};
}

// Splits "host:port" / "[v6]:port".
absl::Status SplitAddress(const std::string& address, std::string* host, std::string* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "' must be host:port"));
  }
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  uint32_t p = 0;
  if (!absl::SimpleAtoi(*port, &p) || p > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "' has a bad port"));
  }
  return absl::OkStatus();
}

}  // namespace

HttpParseResult ParseHttpRequestHead(absl::string_view buffered, size_t max_request_bytes) {
  HttpParseResult result;
  const size_t end = buffered.find("\r\n\r\n");
  if (end == absl::string_view::npos || end + 4 > max_request_bytes) {
    if (buffered.size() >= max_request_bytes) result.status = HttpParseStatus::kTooLarge;
    return result;
  }
  const absl::string_view line = buffered.substr(0, buffered.find("\r\n"));
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.") || parts[1].empty() ||
      parts[1][0] != '/') {
    result.status = HttpParseStatus::kBadRequest;
    return result;
  }
  if (parts[0] != "GET" && parts[0] != "HEAD") {
    result.status = HttpParseStatus::kMethodNotAllowed;
    return result;
  }
  result.status = HttpParseStatus::kOk;
  result.request.method = std::string(parts[0]);
  result.request.path = std::string(parts[1].substr(0, parts[1].find('?')));
  return result;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options,
                                                               HttpHandler handler) {
  std::string host, port;
  if (absl::Status s = SplitAddress(options.listen_address, &host, &port); !s.ok()) return s;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
      rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("listen address '", options.listen_address,
                                                   "': ", gai_strerror(rc)));
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, kListenBacklog) != 0) {
    const int err = errno;
    freeaddrinfo(res);
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address, ": ", strerror(err)));
  }
  freeaddrinfo(res);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const uint16_t bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("eventfd: ", strerror(errno)));
  }
  std::unique_ptr<HttpServer> server(
      new HttpServer(std::move(options), std::move(handler), fd, wake, bound_port));
  server->thread_ = std::thread(&HttpServer::Loop, server.get());
  return server;
}

HttpServer::HttpServer(Options options, HttpHandler handler, int listen_fd, int wake_fd,
                       uint16_t port)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port) {}

HttpServer::~HttpServer() {
  Stop();
  close(listen_fd_);
  close(wake_fd_);
}

void HttpServer::Stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void HttpServer::Loop() {
  std::vector<Connection> conns;
  std::vector<pollfd> fds;
  const auto timeout = absl::ToChronoNanoseconds(options_.request_timeout);
  while (!stopping_.load()) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    const bool accepting = static_cast<int>(conns.size()) < options_.max_connections;
    fds.push_back({listen_fd_, static_cast<short>(accepting ? POLLIN : 0), 0});
    auto now = std::chrono::steady_clock::now();
    auto next_deadline = now + timeout;
    for (const Connection& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.responding ? POLLOUT : POLLIN), 0});
      if (c.deadline < next_deadline) next_deadline = c.deadline;
    }
    const int wait_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now).count() + 1);
    if (poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) {
      Logger("agent")->error("metrics server: poll failed: {}", strerror(errno));
      break;
    }
    if (fds[0].revents & POLLIN) break;
    now = std::chrono::steady_clock::now();

    // Existing connections first (their pollfd entries start at 2).
    std::vector<Connection> kept;
    kept.reserve(conns.size());
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      const short rev = fds[i + 2].revents;
      bool close_it = false;
      if (!c.responding && (rev & (POLLIN | POLLHUP | POLLERR))) {
        char buf[kReadChunkBytes];
        const ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
        if (n <= 0) {
          close_it = !(n < 0 && (errno == EAGAIN || errno == EINTR));
        } else {
          // Never hold more than the limit: reject before growing further.
          const size_t room = options_.max_request_bytes - c.in.size();
          c.in.append(buf, std::min(static_cast<size_t>(n), room));
          HttpResponse resp;
          bool head = false;
          const HttpParseResult parsed = ParseHttpRequestHead(c.in, options_.max_request_bytes);
          const bool ready = parsed.status != HttpParseStatus::kIncomplete;
          switch (parsed.status) {
            case HttpParseStatus::kIncomplete: break;
            case HttpParseStatus::kBadRequest: resp = Error(400); break;
            case HttpParseStatus::kMethodNotAllowed: resp = Error(405); break;
            case HttpParseStatus::kTooLarge: resp = Error(431); break;
            case HttpParseStatus::kOk:
              head = parsed.request.method == "HEAD";
              resp = handler_(parsed.request);
              break;
          }
          if (ready) {
            if (resp.status >= 400) {
              rejected_++;
            } else {
              served_++;
            }
            c.out = Serialize(resp, head);
            c.responding = true;
            c.in.clear();
            c.in.shrink_to_fit();
          }
        }
      } else if (c.responding && (rev & (POLLOUT | POLLHUP | POLLERR))) {
        const ssize_t n = send(c.fd, c.out.data() + c.out_offset, c.out.size() - c.out_offset,
                               MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
          close_it = true;
        } else if (n > 0) {
          c.out_offset += static_cast<size_t>(n);
          if (c.out_offset == c.out.size()) close_it = true;
        }
      }
      if (!close_it && now >= c.deadline) {
        rejected_++;
        close_it = true;
      }
      if (close_it) {
        close(c.fd);
      } else {
        kept.push_back(std::move(c));
      }
    }
    conns = std::move(kept);

    if (accepting && (fds[1].revents & POLLIN)) {
      while (static_cast<int>(conns.size()) < options_.max_connections) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        Connection c;
        c.fd = fd;
        c.deadline = now + timeout;
        conns.push_back(std::move(c));
      }
    }
  }
  for (Connection& c : conns) close(c.fd);
}

}  // namespace lightcone::agent
