// A minimal HTTP/1.1 server for the agent's read-only endpoints (GET /metrics).
//
// It faces the network, so every resource is bounded by a named limit: request header
// bytes, open connections, and the time a client may take to send its request. One request
// per connection (Connection: close). Only GET and HEAD are served; anything else is 405, a
// request that is too large 431, a malformed one 400. Request bodies are not read.
//
// One thread runs a poll() loop over the listening socket and the open connections; the
// handler runs on that thread, so it must be quick (render from a snapshot, never wait on
// NVML). Thread-safe: Stop and the accessors may be called from any thread.
#ifndef LIGHTCONE_AGENT_HTTP_SERVER_H_
#define LIGHTCONE_AGENT_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace lightcone::agent {

struct HttpRequest {
  std::string method;  // "GET" or "HEAD"
  std::string path;    // without the query string
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Parsing of the bytes a client sent so far (the request line and headers).
enum class HttpParseStatus {
  kIncomplete,        // No blank line yet and under the limit: read more.
  kOk,                // `request` is set.
  kBadRequest,        // 400: malformed request line.
  kMethodNotAllowed,  // 405: not GET or HEAD.
  kTooLarge,          // 431: no end of headers within max_request_bytes.
};
struct HttpParseResult {
  HttpParseStatus status = HttpParseStatus::kIncomplete;
  HttpRequest request;
};
// Never reads past `buffered` and never allocates more than the request line.
HttpParseResult ParseHttpRequestHead(absl::string_view buffered, size_t max_request_bytes);

class HttpServer {
 public:
  struct Options {
    // "host:port"; IPv6 as "[::1]:9402". Port 0 picks a free port (see port()).
    std::string listen_address = "127.0.0.1:9402";
    size_t max_request_bytes = 8 * 1024;
    int max_connections = 32;
    absl::Duration request_timeout = absl::Seconds(5);  // to receive the request and send the reply
  };

  // Binds, listens and starts the server thread. kInvalidArgument for a malformed address;
  // kUnavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(Options options, HttpHandler handler);
  ~HttpServer();  // Stops.

  uint16_t port() const { return port_; }
  void Stop();

  uint64_t requests_served() const { return served_.load(); }
  uint64_t requests_rejected() const { return rejected_.load(); }  // 4xx and timeouts

 private:
  HttpServer(Options options, HttpHandler handler, int listen_fd, int wake_fd, uint16_t port);
  void Loop();

  const Options options_;
  const HttpHandler handler_;
  const int listen_fd_;
  const int wake_fd_;  // eventfd: written by Stop to wake poll()
  const uint16_t port_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> served_{0};
  std::atomic<uint64_t> rejected_{0};
  std::thread thread_;
};

}  // namespace lightcone::agent

#endif  // LIGHTCONE_AGENT_HTTP_SERVER_H_
