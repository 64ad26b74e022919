// GET /health, /openapi.json, /whoami; organizations; tokens.
#include "absl/strings/str_cat.h"
#include "server/api/api_context.h"

namespace lightcone::server::api {
namespace {

absl::StatusOr<Response> Health(ApiContext* ctx, const Request&) {
  absl::StatusOr<int> version = ctx->store->SchemaVersion();
  if (!version.ok()) return version.status();
  return JsonOk({{"status", "ok"}, {"schema_version", *version}});
}

absl::StatusOr<Response> WhoAmI(const Request& req) {
  const http::Principal& p = *req.principal;
  return JsonOk({{"name", p.name},
                 {"role", RoleName(p.role)},
                 {"organization_id", p.organization_id},
                 {"landmark_id", p.landmark_id}});
}

absl::StatusOr<Response> ListOrganizations(ApiContext* ctx, const Request& req) {
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<std::vector<Organization>> orgs = ctx->store->ListOrganizations();
  if (!orgs.ok()) return orgs.status();
  return SlicePage(*orgs, *page, OrganizationToJson);
}

absl::StatusOr<Response> CreateOrganization(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  FieldReader r(*body, "organization");
  Organization org;
  org.name = r.String("name", true);
  if (r.ok() && org.name.empty()) r.Fail("name", "must not be empty");
  if (!r.ok()) return r.status();
  org.created_at = absl::Now();
  absl::StatusOr<Organization> stored = ctx->store->CreateOrganization(org);
  if (!stored.ok()) return stored.status();
  return JsonOk(OrganizationToJson(*stored), 201);
}

absl::StatusOr<Response> GetOrganization(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "organization id");
  if (!id.ok()) return id.status();
  absl::StatusOr<Organization> org = ctx->store->GetOrganization(*id);
  if (!org.ok()) return org.status();
  return JsonOk(OrganizationToJson(*org));
}

absl::StatusOr<Response> ListTokens(ApiContext* ctx, const Request& req) {
  absl::StatusOr<PageRequest> page = QueryPage(req);
  if (!page.ok()) return page.status();
  absl::StatusOr<std::vector<ApiToken>> tokens = ctx->store->ListTokens();
  if (!tokens.ok()) return tokens.status();
  return SlicePage(*tokens, *page, TokenToJson);
}

absl::StatusOr<Response> CreateToken(ApiContext* ctx, const Request& req) {
  absl::StatusOr<Json> body = ParseBody(req.body);
  if (!body.ok()) return body.status();
  FieldReader r(*body, "token");
  ApiToken token;
  token.name = r.String("name", true);
  const std::string role = r.String("role", true);
  token.organization_id = r.Int("organization_id", false, 0);
  token.landmark_id = r.Int("landmark_id", false, 0);
  if (!r.ok()) return r.status();
  absl::StatusOr<Role> parsed = ParseRole(role);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token.role: '", role, "' is not one of agent, landmark, operator, auditor, admin"));
  }
  token.role = *parsed;
  absl::StatusOr<std::pair<ApiToken, std::string>> created = CreateApiToken(*ctx->store, token);
  if (!created.ok()) return created.status();
  Json out = TokenToJson(created->first);
  out["token"] = created->second;
  return JsonOk(out, 201);
}

absl::StatusOr<Response> RevokeToken(ApiContext* ctx, const Request& req) {
  absl::StatusOr<int64_t> id = ParseIdText(req.Param("id"), "token id");
  if (!id.ok()) return id.status();
  absl::Status status = ctx->store->RevokeToken(*id);
  if (!status.ok()) return status;
  ctx->auth->InvalidateAll();
  return Response::NoContent();
}

}  // namespace

void AddAdminRoutes(ApiContext* ctx, std::vector<Route>* routes) {
  auto bind = [ctx](auto fn) { return [ctx, fn](const Request& r) { return fn(ctx, r); }; };
  Route health{"GET", "/api/v1/health", {}, true};
  health.handler = bind(Health);
  routes->push_back(health);
  Route openapi{"GET", "/api/v1/openapi.json", {}, true};
  openapi.handler = [](const Request&) -> absl::StatusOr<Response> {
    return Response::Json(OpenApiDocument());
  };
  routes->push_back(openapi);
  routes->push_back({"GET", "/api/v1/whoami", kAnyRole, false, http::kDefaultMaxBodyBytes, WhoAmI});
  routes->push_back({"GET", "/api/v1/organizations", kAdminAndAuditor, false,
                     http::kDefaultMaxBodyBytes, bind(ListOrganizations)});
  routes->push_back({"POST", "/api/v1/organizations", kAdminOnly, false,
                     http::kDefaultMaxBodyBytes, bind(CreateOrganization)});
  routes->push_back({"GET", "/api/v1/organizations/{id}", kAdminAndAuditor, false,
                     http::kDefaultMaxBodyBytes, bind(GetOrganization)});
  routes->push_back({"GET", "/api/v1/tokens", kAdminOnly, false, http::kDefaultMaxBodyBytes,
                     bind(ListTokens)});
  routes->push_back({"POST", "/api/v1/tokens", kAdminOnly, false, http::kDefaultMaxBodyBytes,
                     bind(CreateToken)});
  routes->push_back({"DELETE", "/api/v1/tokens/{id}", kAdminOnly, false,
                     http::kDefaultMaxBodyBytes, bind(RevokeToken)});
}

}  // namespace lightcone::server::api
