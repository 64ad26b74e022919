// The fleet server's HTTP(S) front end over cpp-httplib: routes requests through a Router,
// authenticates bearer tokens, enforces the roles of each route, the body size limits
// (413) and the JSON content type (415), answers errors as JSON bodies, logs requests,
// serves the dashboard's static files for non-/api paths, and speaks TLS when a certificate
// and key are configured.
//
// Order of checks for an /api request: route (404, 405), token (401), role (403), body size
// (413), content type (415), then the handler. Thread-safe; handlers run on the server's
// thread pool and must be thread-safe.
#ifndef LIGHTCONE_SERVER_HTTP_HTTP_SERVER_H_
#define LIGHTCONE_SERVER_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "server/http/route.h"
#include "server/http/static_files.h"
#include "server/http/token_auth.h"

namespace httplib {
class Server;
}

namespace lightcone::server::http {

inline constexpr int kDefaultHttpThreads = 8;
inline constexpr int kMaxHttpThreads = 256;
inline constexpr int kKeepAliveMaxRequests = 10'000;
inline constexpr int kReadTimeoutSeconds = 30;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port; read it back with port()
  std::string tls_cert_path;  // PEM; both set = HTTPS
  std::string tls_key_path;
  std::string web_root;  // empty = no static files
  int threads = kDefaultHttpThreads;
};

class HttpServer {
 public:
  // `auth` must outlive the server. InvalidArgument for a bad web root, TLS files that do
  // not load, or a bad thread count.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                            Router router,
                                                            TokenAuthenticator* auth);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on a background thread. Unavailable when the address cannot be
  // bound.
  absl::Status Start();
  // Stops accepting, lets running requests finish, joins. Idempotent.
  void Stop();
  // The bound port (after Start).
  int port() const { return port_; }
  bool tls() const { return tls_; }
  const Router& router() const { return router_; }

 private:
  HttpServer(HttpServerOptions options, Router router, TokenAuthenticator* auth);
  void Install();

  HttpServerOptions options_;
  Router router_;
  TokenAuthenticator* auth_;
  std::optional<StaticFiles> static_files_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  bool tls_ = false;
  std::atomic<bool> started_{false};
};

}  // namespace lightcone::server::http

#endif  // LIGHTCONE_SERVER_HTTP_HTTP_SERVER_H_
