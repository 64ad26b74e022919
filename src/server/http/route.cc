#include "server/http/route.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace lightcone::server::http {
namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    out.emplace_back(part);
    if (out.size() > static_cast<size_t>(kMaxPathSegments)) break;
  }
  return out;
}

}  // namespace

std::optional<std::string> Request::Query(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

const std::string& Request::Param(const std::string& name) const {
  static const std::string* const kEmpty = new std::string;
  auto it = path_params.find(name);
  return it == path_params.end() ? *kEmpty : it->second;
}

Response Response::Json(std::string json_text, int status) {
  Response r;
  r.status = status;
  r.body = std::move(json_text);
  return r;
}

Response Response::Text(std::string text, std::string content_type, int status) {
  Response r;
  r.status = status;
  r.body = std::move(text);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::NoContent() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kResourceExhausted: return 413;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kUnimplemented: return 503;
    default: return 500;
  }
}

std::string ErrorCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return "invalid_argument";
    case absl::StatusCode::kUnauthenticated: return "unauthenticated";
    case absl::StatusCode::kPermissionDenied: return "permission_denied";
    case absl::StatusCode::kNotFound: return "not_found";
    case absl::StatusCode::kAlreadyExists: return "already_exists";
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted: return "failed_precondition";
    case absl::StatusCode::kResourceExhausted: return "payload_too_large";
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kUnimplemented: return "unavailable";
    default: return "internal";
  }
}

Response ErrorResponse(int http_status, const std::string& code, const std::string& message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return Response::Json(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                        http_status);
}

Response ErrorResponse(const absl::Status& status) {
  const int http_status = HttpStatusFor(status.code());
  std::string message(status.message());
  if (http_status == 500) message = "internal error";
  return ErrorResponse(http_status, ErrorCodeFor(status.code()), message);
}

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {
  compiled_.reserve(routes_.size());
  for (const Route& route : routes_) compiled_.push_back({SplitPath(route.pattern)});
}

Router::MatchResult Router::Match(const std::string& method, const std::string& path,
                                  const Route** route,
                                  std::map<std::string, std::string>* params) const {
  const std::vector<std::string> segments = SplitPath(path);
  bool path_matched = false;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const std::vector<std::string>& pattern = compiled_[i].segments;
    if (pattern.size() != segments.size()) continue;
    std::map<std::string, std::string> found;
    bool ok = true;
    for (size_t s = 0; s < pattern.size() && ok; ++s) {
      const std::string& p = pattern[s];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segments[s].empty()) ok = false;
        found[p.substr(1, p.size() - 2)] = segments[s];
      } else if (p != segments[s]) {
        ok = false;
      }
    }
    if (!ok) continue;
    path_matched = true;
    if (routes_[i].method != method) continue;
    *route = &routes_[i];
    *params = std::move(found);
    return MatchResult::kMatched;
  }
  return path_matched ? MatchResult::kWrongMethod : MatchResult::kNoPath;
}

bool RoleAllowed(const Route& route, Role role) {
  return std::find(route.roles.begin(), route.roles.end(), role) != route.roles.end();
}

}  // namespace lightcone::server::http
