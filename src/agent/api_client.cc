#include "agent/api_client.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace lightcone::api {
namespace {

constexpr size_t kMaxErrorExcerptBytes = 200;
constexpr char kJsonContentType[] = "application/json";

}  // namespace

Outcome Classify(int http_status) {
  if ((http_status >= 200 && http_status < 300) || http_status == 304) return Outcome::kOk;
  if (http_status >= 500 || http_status == 408 || http_status == 429) return Outcome::kRetry;
  if (http_status >= 400) return Outcome::kPermanent;
  return Outcome::kRetry;  // 1xx/3xx other than 304: not an answer we understand yet
}

const char* ResultLabel(const absl::StatusOr<ApiResponse>& response) {
  if (!response.ok()) return "unavailable";
  if (response->status >= 500) return "server_error";
  if (Classify(response->status) == Outcome::kOk) return "ok";
  return "client_error";
}

std::string ErrorMessage(const ApiResponse& response) {
  auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error") && json["error"].is_object()) {
    const auto& e = json["error"];
    std::string code = e.value("code", std::string());
    std::string message = e.value("message", std::string());
    return absl::StrCat(code, ": ", message);
  }
  return response.body.substr(0, kMaxErrorExcerptBytes);
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the token file"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": token file is empty"));
  return token;
}

absl::StatusOr<std::unique_ptr<ApiClient>> ApiClient::Create(ApiClientOptions options) {
  const std::string& url = options.url;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos ||
      (url.substr(0, scheme_end) != "http" && url.substr(0, scheme_end) != "https")) {
    return absl::InvalidArgumentError(
        absl::StrCat("server url '", url, "': want http://HOST[:PORT] or https://HOST[:PORT]"));
  }
  size_t path_start = url.find('/', scheme_end + 3);
  std::string scheme_host_port = url.substr(0, path_start);
  std::string prefix = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (scheme_host_port.size() <= scheme_end + 3) {
    return absl::InvalidArgumentError(absl::StrCat("server url '", url, "': no host"));
  }
  auto client = std::make_unique<httplib::Client>(scheme_host_port);
  if (!client->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat("server url '", url, "': not a valid URL"));
  }
  client->set_connection_timeout(options.connect_timeout);
  client->set_read_timeout(options.read_timeout);
  client->set_write_timeout(options.read_timeout);
  client->set_keep_alive(true);
  client->set_follow_location(false);
  if (!options.token.empty()) client->set_bearer_token_auth(options.token);
  client->set_default_headers({{"User-Agent", options.user_agent}, {"Accept", kJsonContentType}});
  if (absl::StartsWith(url, "https://")) {
    client->enable_server_certificate_verification(true);
    if (!options.ca_file.empty()) client->set_ca_cert_path(options.ca_file);
  }
  std::unique_ptr<ApiClient> out(new ApiClient(std::move(options)));
  out->prefix_ = std::move(prefix);
  out->client_ = std::move(client);
  return out;
}

ApiClient::ApiClient(ApiClientOptions options) : options_(std::move(options)) {}
ApiClient::~ApiClient() = default;

absl::StatusOr<ApiResponse> ApiClient::Send(const char* method, const std::string& path,
                                            const std::string* json_body) {
  httplib::Request req;
  req.method = method;
  req.path = prefix_ + path;
  if (json_body != nullptr) {
    req.body = *json_body;
    req.set_header("Content-Type", kJsonContentType);
  }
  // Reads the body through a receiver so that an answer can be cut off at the limit instead
  // of being held in memory whole.
  std::string body;
  bool too_long = false;
  req.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
    if (body.size() + length > options_.max_response_bytes) {
      too_long = true;
      return false;
    }
    body.append(data, length);
    return true;
  };
  httplib::Result result = client_->send(req);
  if (too_long) {
    return absl::ResourceExhaustedError(
        absl::StrCat(method, " ", options_.url, path, ": answer longer than ",
                     options_.max_response_bytes, " bytes"));
  }
  if (!result) {
    return absl::UnavailableError(absl::StrCat(method, " ", options_.url, path, ": ",
                                               httplib::to_string(result.error())));
  }
  return ApiResponse{result->status, std::move(body)};
}

absl::StatusOr<ApiResponse> ApiClient::Get(const std::string& path) {
  return Send("GET", path, nullptr);
}

absl::StatusOr<ApiResponse> ApiClient::Post(const std::string& path, const std::string& json_body) {
  return Send("POST", path, &json_body);
}

void ApiClient::Cancel() { client_->stop(); }

RetryBackoff::RetryBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : initial_(initial), max_(std::max(initial, max)), rng_(std::random_device{}()) {}

std::chrono::milliseconds RetryBackoff::Next() {
  double base = static_cast<double>(initial_.count());
  for (int i = 0; i < attempt_ && base < static_cast<double>(max_.count()); ++i) base *= 2;
  base = std::min(base, static_cast<double>(max_.count()));
  ++attempt_;
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  return std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(base * jitter(rng_))));
}

}  // namespace lightcone::api
