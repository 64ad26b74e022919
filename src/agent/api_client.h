// ApiClient: the small HTTP(S) JSON client that the agent and the landmark use to talk to the
// fleet server (`lightcone server`, docs/api.md). It adds the bearer token, the timeouts and
// (for https://) certificate verification, and turns transport failures into statuses so
// that callers only decide what to do with an HTTP status.
//
// Also: RetryBackoff (capped exponential backoff with jitter) and the classification of an
// answer into ok / retry later / give up, shared by both clients.
//
// Thread safety: an ApiClient is used by one thread at a time, except Cancel(), which may be
// called from any thread to abort the request in progress (used on shutdown).
#ifndef LIGHTCONE_AGENT_API_CLIENT_H_
#define LIGHTCONE_AGENT_API_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace httplib {
class Client;
}

namespace lightcone::api {

inline constexpr std::chrono::seconds kDefaultConnectTimeout{5};
inline constexpr std::chrono::seconds kDefaultReadTimeout{30};
// The largest answer body read from the server (a landmark's target list of 100,000 GPUs is
// ~25 MB); a longer one is abandoned with kResourceExhausted.
inline constexpr size_t kDefaultMaxResponseBytes = 64 << 20;

struct ApiClientOptions {
  std::string url;    // "http://host:port" or "https://host:port"; a path prefix is allowed
  std::string token;  // sent as "Authorization: Bearer <token>"; empty: none
  std::string ca_file;  // PEM bundle to verify an https server against; empty: system store
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  std::chrono::milliseconds read_timeout = kDefaultReadTimeout;
  std::string user_agent = "lightcone";
  size_t max_response_bytes = kDefaultMaxResponseBytes;
};

struct ApiResponse {
  int status = 0;
  std::string body;
};

// What a caller should do with an answer.
enum class Outcome {
  kOk,         // 2xx (and 304 for conditional GETs)
  kRetry,      // 5xx, 408, 429: the server may accept the same request later
  kPermanent,  // any other 4xx: the same request will never succeed; do not resend it
};
Outcome Classify(int http_status);
// The label used in metrics: "ok", "client_error", "server_error" or "unavailable" (no
// answer at all).
const char* ResultLabel(const absl::StatusOr<ApiResponse>& response);

// "<code>: <message>" from the server's error body {"error": {"code", "message"}}; the
// first 200 bytes of the body when it is not that shape.
std::string ErrorMessage(const ApiResponse& response);

// Reads a token file (the whole file, surrounding whitespace removed). Errors: kNotFound when
// it cannot be read, kInvalidArgument when it is empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

class ApiClient {
 public:
  // Errors: kInvalidArgument for a URL that is not http(s)://host[:port][/prefix].
  static absl::StatusOr<std::unique_ptr<ApiClient>> Create(ApiClientOptions options);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // `path` starts with "/" and is appended to the URL's path prefix. Any HTTP status is a
  // response; kUnavailable when no answer arrived (refused, timeout, TLS failure), naming
  // the URL and the httplib error; kResourceExhausted when the body is longer than
  // options.max_response_bytes (reading stops there).
  absl::StatusOr<ApiResponse> Get(const std::string& path);
  absl::StatusOr<ApiResponse> Post(const std::string& path, const std::string& json_body);

  // Aborts a request in progress on another thread (it then fails with kUnavailable).
  void Cancel();

  const std::string& base_url() const { return options_.url; }

 private:
  explicit ApiClient(ApiClientOptions options);
  absl::StatusOr<ApiResponse> Send(const char* method, const std::string& path,
                                   const std::string* json_body);

  ApiClientOptions options_;
  std::string prefix_;  // path prefix from the URL, no trailing slash
  std::unique_ptr<httplib::Client> client_;
};

// Capped exponential backoff with +-25% jitter: Next() returns initial, 2x, 4x, ... up to max.
class RetryBackoff {
 public:
  RetryBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  std::chrono::milliseconds Next();
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace lightcone::api

#endif  // LIGHTCONE_AGENT_API_CLIENT_H_
