// The fleet server's HTTP vocabulary (docs/api.md): the request a handler sees (with the
// authenticated principal and the path parameters), the response it returns, JSON error
// bodies with the status mapping of the API contract, and the route table with the roles
// allowed per route. Independent of the HTTP library: src/server/http/http_server.h adapts
// it to cpp-httplib.
#ifndef LIGHTCONE_SERVER_HTTP_ROUTE_H_
#define LIGHTCONE_SERVER_HTTP_ROUTE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/store.h"

namespace lightcone::server::http {

// Request body limits (docs/api.md "Limits").
inline constexpr size_t kDefaultMaxBodyBytes = 1 << 20;      // 1 MiB
inline constexpr size_t kMaxBatchBodyBytes = 16 << 20;       // 16 MiB
inline constexpr int kMaxPathSegments = 16;

// Who is calling: the token the request presented.
struct Principal {
  int64_t token_id = 0;
  std::string name;
  Role role = Role::kOperator;
  int64_t organization_id = 0;
  int64_t landmark_id = 0;
};

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> path_params;  // "{id}" -> value
  std::multimap<std::string, std::string> query;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  // Null only on routes without authentication.
  const Principal* principal = nullptr;

  // The first query value of `name`, or nullopt.
  std::optional<std::string> Query(const std::string& name) const;
  // The path parameter `name` (the route guarantees it exists).
  const std::string& Param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(std::string json_text, int status = 200);
  static Response Text(std::string text, std::string content_type, int status = 200);
  static Response NoContent();
};

// HTTP status of an absl status code (docs/api.md "Errors").
int HttpStatusFor(absl::StatusCode code);
// The API error code ("invalid_argument", ...) of an absl status code.
std::string ErrorCodeFor(absl::StatusCode code);
// {"error":{"code":...,"message":...}} for `status`; internal errors hide their message.
Response ErrorResponse(const absl::Status& status);
// An error body with an explicit HTTP status and API code (413, 415, 405).
Response ErrorResponse(int http_status, const std::string& code, const std::string& message);

using Handler = std::function<absl::StatusOr<Response>(const Request&)>;

struct Route {
  std::string method;   // "GET", "POST", "PUT", "PATCH", "DELETE"
  std::string pattern;  // "/api/v1/devices/{id}/verdicts"
  // Roles allowed; empty with `public_route` = no authentication at all.
  std::vector<Role> roles;
  bool public_route = false;
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  Handler handler;
};

// The route table: matches a method and a path against the patterns.
class Router {
 public:
  explicit Router(std::vector<Route> routes);

  enum class MatchResult { kMatched, kNoPath, kWrongMethod };
  // On kMatched, *route and *params are set.
  MatchResult Match(const std::string& method, const std::string& path, const Route** route,
                    std::map<std::string, std::string>* params) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{name}" marks a parameter
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

// True when `role` is in `route.roles`.
bool RoleAllowed(const Route& route, Role role);

}  // namespace lightcone::server::http

#endif  // LIGHTCONE_SERVER_HTTP_ROUTE_H_
