#include "server/http/http_server.h"

#include <chrono>
#include <exception>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/logging.h"
#include "httplib.h"

namespace lightcone::server::http {
namespace {

bool IsJsonContentType(const std::string& value) {
  const std::string lower = absl::AsciiStrToLower(value);
  return absl::StartsWith(lower, "application/json") ||
         (absl::StartsWith(lower, "application/") && absl::StrContains(lower, "+json"));
}

void WriteResponse(const Response& response, httplib::Response& res) {
  res.status = response.status;
  for (const auto& [name, value] : response.headers) res.set_header(name, value);
  if (response.status == 204 || response.status == 304) {
    res.body.clear();
    return;
  }
  res.set_content(response.body, response.content_type.empty() ? "application/json"
                                                                : response.content_type);
}

std::string ResponseErrorCode(const std::string& body) {
  // Small and allocation-light: only for logging.
  const auto pos = body.find("\"code\":\"");
  if (pos == std::string::npos) return "";
  const auto end = body.find('"', pos + 8);
  return body.substr(pos + 8, end == std::string::npos ? 0 : end - pos - 8);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                               Router router,
                                                               TokenAuthenticator* auth) {
  if (options.threads < 1 || options.threads > kMaxHttpThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("http threads: ", options.threads, " is outside [1, ", kMaxHttpThreads, "]"));
  }
  if (options.tls_cert_path.empty() != options.tls_key_path.empty()) {
    return absl::InvalidArgumentError("TLS needs both --tls-cert and --tls-key");
  }
  std::unique_ptr<HttpServer> server(new HttpServer(options, std::move(router), auth));
  if (!options.web_root.empty()) {
    absl::StatusOr<StaticFiles> files = StaticFiles::Create(options.web_root);
    if (!files.ok()) return files.status();
    server->static_files_.emplace(*std::move(files));
  }
  if (!options.tls_cert_path.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(options.tls_cert_path.c_str(),
                                                    options.tls_key_path.c_str());
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat("TLS certificate ", options.tls_cert_path,
                                                     " or key ", options.tls_key_path,
                                                     " could not be loaded"));
    }
    server->server_ = std::move(ssl);
    server->tls_ = true;
  } else {
    server->server_ = std::make_unique<httplib::Server>();
  }
  server->Install();
  return server;
}

HttpServer::HttpServer(HttpServerOptions options, Router router, TokenAuthenticator* auth)
    : options_(std::move(options)), router_(std::move(router)), auth_(auth) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Install() {
  httplib::Server& svr = *server_;
  const int threads = options_.threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(kMaxBatchBodyBytes);
  svr.set_keep_alive_max_count(kKeepAliveMaxRequests);
  svr.set_read_timeout(kReadTimeoutSeconds, 0);
  svr.set_tcp_nodelay(true);

  auto dispatch = [this](const httplib::Request& hreq, httplib::Response& hres,
                         const httplib::ContentReader* reader) {
    const auto start = std::chrono::steady_clock::now();
    Response response;
    bool body_consumed = reader == nullptr;
    auto drain = [&] {
      if (body_consumed) return;
      body_consumed = true;
      (*reader)([](const char*, size_t) { return true; });
    };
    [&] {
      // Static files for everything outside /api.
      if (!absl::StartsWith(hreq.path, "/api/") && hreq.path != "/api") {
        if ((hreq.method == "GET" || hreq.method == "HEAD") && static_files_.has_value()) {
          response = static_files_->Serve(hreq.path);
        } else {
          response = ErrorResponse(404, "not_found", absl::StrCat(hreq.path, ": not found"));
        }
        return;
      }
      const Route* route = nullptr;
      Request req;
      switch (router_.Match(hreq.method, hreq.path, &route, &req.path_params)) {
        case Router::MatchResult::kNoPath:
          response = ErrorResponse(404, "not_found", absl::StrCat(hreq.path, ": no such endpoint"));
          return;
        case Router::MatchResult::kWrongMethod:
          response = ErrorResponse(405, "method_not_allowed",
                                   absl::StrCat(hreq.method, " ", hreq.path, ": method not allowed"));
          return;
        case Router::MatchResult::kMatched:
          break;
      }
      Principal principal;
      if (!route->public_route) {
        absl::StatusOr<Principal> who = auth_->Authenticate(hreq.get_header_value("Authorization"));
        if (!who.ok()) {
          response = ErrorResponse(who.status());
          return;
        }
        principal = *std::move(who);
        if (!RoleAllowed(*route, principal.role)) {
          response = ErrorResponse(403, "permission_denied",
                                   absl::StrCat("role ", RoleName(principal.role), " may not ",
                                                hreq.method, " ", route->pattern));
          return;
        }
        req.principal = &principal;
      }
      // Body: size limit first (before reading when the length is declared), then type.
      const std::string declared = hreq.get_header_value("Content-Length");
      if (!declared.empty()) {
        uint64_t length = 0;
        if (!absl::SimpleAtoi(declared, &length)) length = UINT64_MAX;
        if (length > route->max_body_bytes) {
          response = ErrorResponse(413, "payload_too_large",
                                   absl::StrCat("request body of ", declared, " bytes exceeds ",
                                                route->max_body_bytes, " bytes"));
          return;
        }
      }
      if (reader != nullptr) {
        bool too_large = false;
        body_consumed = true;
        const bool read_ok = (*reader)([&](const char* data, size_t size) {
          if (req.body.size() + size > route->max_body_bytes) too_large = true;
          if (!too_large) req.body.append(data, size);
          return true;
        });
        if (too_large || !read_ok) {
          response = ErrorResponse(413, "payload_too_large",
                                   absl::StrCat("request body exceeds ", route->max_body_bytes,
                                                " bytes"));
          return;
        }
      } else {
        req.body = hreq.body;
      }
      if (!req.body.empty() && !IsJsonContentType(hreq.get_header_value("Content-Type"))) {
        response = ErrorResponse(415, "unsupported_media_type",
                                 "request body must be Content-Type: application/json");
        return;
      }
      req.method = hreq.method;
      req.path = hreq.path;
      for (const auto& [k, v] : hreq.params) req.query.emplace(k, v);
      try {
        absl::StatusOr<Response> result = route->handler(req);
        response = result.ok() ? *std::move(result) : ErrorResponse(result.status());
        if (!result.ok() && HttpStatusFor(result.status().code()) == 500) {
          Logger("server")->error("{} {}: {}", hreq.method, hreq.path,
                                  result.status().ToString());
        }
      } catch (const std::exception& e) {
        Logger("server")->error("{} {}: exception: {}", hreq.method, hreq.path, e.what());
        response = ErrorResponse(absl::InternalError(e.what()));
      }
    }();
    drain();
    WriteResponse(response, hres);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (response.status >= 500) {
      Logger("server")->warn("{} {} -> {} {} ({:.1f} ms)", hreq.method, hreq.path,
                             response.status, ResponseErrorCode(response.body), ms);
    } else {
      Logger("server")->debug("{} {} -> {} ({:.1f} ms)", hreq.method, hreq.path,
                              response.status, ms);
    }
  };

  svr.Get(".*", [dispatch](const httplib::Request& req, httplib::Response& res) {
    dispatch(req, res, nullptr);
  });
  svr.Delete(".*", [dispatch](const httplib::Request& req, httplib::Response& res) {
    dispatch(req, res, nullptr);
  });
  auto with_reader = [dispatch](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
    dispatch(req, res, &reader);
  };
  svr.Post(".*", with_reader);
  svr.Put(".*", with_reader);
  svr.Patch(".*", with_reader);
  svr.Delete(".*", with_reader);
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    Response error;
    switch (res.status) {
      case 413: error = ErrorResponse(413, "payload_too_large", "request body too large"); break;
      case 404: error = ErrorResponse(404, "not_found", absl::StrCat(req.path, ": not found")); break;
      default:
        error = ErrorResponse(res.status, res.status >= 500 ? "internal" : "invalid_argument",
                              absl::StrCat("HTTP ", res.status));
    }
    res.set_content(error.body, "application/json");
  });
}

absl::Status HttpServer::Start() {
  if (started_.exchange(true)) return absl::FailedPreconditionError("server already started");
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ <= 0) {
      return absl::UnavailableError(absl::StrCat("cannot bind ", options_.host, ":0"));
    }
  } else {
    if (!server_->bind_to_port(options_.host, options_.port)) {
      return absl::UnavailableError(
          absl::StrCat("cannot bind ", options_.host, ":", options_.port));
    }
    port_ = options_.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // listen_after_bind sets is_running() at once; wait so Stop() right after Start() works.
  for (int i = 0; i < 2000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Logger("server")->info("listening on {}{}:{}", tls_ ? "https://" : "http://", options_.host,
                         port_);
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!started_.load()) return;
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace lightcone::server::http
