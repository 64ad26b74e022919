#include "server/api/server.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "server/api/api_context.h"
#include "server/http/http_server.h"
#include "server/http/token_auth.h"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"

namespace lightcone::server {

absl::StatusOr<std::shared_ptr<Store>> OpenStoreFromUrl(const std::string& db) {
  if (absl::StartsWith(db, "sqlite:")) {
    SqliteStoreOptions options;
    options.path = db.substr(7);
    if (options.path.empty()) return absl::InvalidArgumentError("--db sqlite:PATH: empty path");
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(options);
    if (!store.ok()) return store.status();
    return std::shared_ptr<Store>(std::move(*store));
  }
  if (absl::StartsWith(db, "postgres:") || absl::StartsWith(db, "postgresql:")) {
    PostgresStoreOptions options;
    // "postgres:CONNINFO"; a full URI (postgresql://...) is passed through unchanged.
    options.conninfo = absl::StartsWith(db, "postgresql://") ? db : db.substr(db.find(':') + 1);
    absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(options);
    if (!store.ok()) return store.status();
    return std::shared_ptr<Store>(std::move(*store));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--db '", db, "': expected sqlite:PATH or postgres:CONNINFO"));
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  std::unique_ptr<Server> server(new Server());
  if (options.store != nullptr) {
    server->store_ = options.store;
  } else {
    absl::StatusOr<std::shared_ptr<Store>> store = OpenStoreFromUrl(options.db);
    if (!store.ok()) return store.status();
    server->store_ = *std::move(store);
  }
  http::HttpServerOptions http_options;
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen '", options.listen, "': expected HOST:PORT"));
  }
  http_options.host = options.listen.substr(0, colon);
  if (http_options.host.size() > 2 && http_options.host.front() == '[') {
    http_options.host = http_options.host.substr(1, http_options.host.size() - 2);
  }
  http_options.port = port;
  http_options.tls_cert_path = options.tls_cert_path;
  http_options.tls_key_path = options.tls_key_path;
  http_options.web_root = options.web_root;
  http_options.threads = options.http_threads;
  if (options.verify_threads < 1 || options.verify_threads > 64) {
    return absl::InvalidArgumentError("verify_threads must be in [1, 64]");
  }
  if (options.telemetry_sample_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("telemetry_sample_interval must be >= 0");
  }

  http::TokenAuthOptions auth_options;
  auth_options.cache_ttl = options.token_cache_ttl;
  server->auth_ = std::make_unique<http::TokenAuthenticator>(server->store_.get(), auth_options);

  auto ctx = std::make_unique<api::ApiContext>();
  ctx->store = server->store_.get();
  ctx->auth = server->auth_.get();
  attest::VerifierOptions verifier_options;
  verifier_options.trusted_roots_pem = options.attestation_roots_pem;
  absl::StatusOr<attest::Verifier> verifier = attest::Verifier::Create(verifier_options);
  if (!verifier.ok()) return verifier.status();
  ctx->verifier.emplace(*std::move(verifier));
  ctx->device_keys =
      std::make_unique<api::DeviceKeyCache>(server->store_.get(), options.device_key_cache_ttl);
  ctx->verify_pool = std::make_unique<api::WorkPool>(options.verify_threads);
  ctx->options = std::move(options);
  absl::Status sodium = crypto::InitSodium();
  if (!sodium.ok()) return sodium;

  std::vector<http::Route> routes;
  api::AddAdminRoutes(ctx.get(), &routes);
  api::AddLandmarkRoutes(ctx.get(), &routes);
  api::AddMeasurementRoutes(ctx.get(), &routes);
  api::AddAgentRoutes(ctx.get(), &routes);
  api::AddDeviceRoutes(ctx.get(), &routes);
  api::AddLicenceRoutes(ctx.get(), &routes);
  api::AddAlertRoutes(ctx.get(), &routes);
  api::AddReportRoutes(ctx.get(), &routes);
  server->context_ = std::move(ctx);

  absl::StatusOr<std::unique_ptr<http::HttpServer>> http =
      http::HttpServer::Create(http_options, http::Router(std::move(routes)), server->auth_.get());
  if (!http.ok()) return http.status();
  server->http_ = *std::move(http);
  return server;
}

Server::~Server() { Stop(); }

void Server::SetRegionProvider(RegionProvider provider) {
  context_->region_provider = std::move(provider);
}

absl::Status Server::Start() { return http_->Start(); }

void Server::Stop() {
  if (http_) http_->Stop();
}

int Server::port() const { return http_->port(); }
bool Server::tls() const { return http_->tls(); }

const std::vector<http::Route>& Server::routes() const { return http_->router().routes(); }

absl::StatusOr<std::pair<ApiToken, std::string>> CreateApiToken(Store& store, ApiToken token) {
  if (token.name.empty()) return absl::InvalidArgumentError("token.name: must not be empty");
  switch (token.role) {
    case Role::kAgent:
    case Role::kOperator: {
      if (token.organization_id <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "token.organization_id: required for role ", RoleName(token.role)));
      }
      absl::StatusOr<Organization> org = store.GetOrganization(token.organization_id);
      if (absl::IsNotFound(org.status())) {
        return absl::InvalidArgumentError(
            absl::StrCat("token.organization_id: no organization ", token.organization_id));
      }
      if (!org.ok()) return org.status();
      token.landmark_id = 0;
      break;
    }
    case Role::kLandmark: {
      if (token.landmark_id <= 0) {
        return absl::InvalidArgumentError("token.landmark_id: required for role landmark");
      }
      absl::StatusOr<Landmark> landmark = store.GetLandmark(token.landmark_id);
      if (absl::IsNotFound(landmark.status())) {
        return absl::InvalidArgumentError(
            absl::StrCat("token.landmark_id: no landmark ", token.landmark_id));
      }
      if (!landmark.ok()) return landmark.status();
      token.organization_id = 0;
      break;
    }
    case Role::kAuditor:
    case Role::kAdmin:
      token.organization_id = 0;
      token.landmark_id = 0;
      break;
  }
  const std::string secret = http::GenerateTokenSecret();
  token.secret_sha256 = http::HashTokenSecret(secret);
  token.created_at = absl::Now();
  token.revoked = false;
  absl::StatusOr<ApiToken> stored = store.CreateToken(token);
  if (!stored.ok()) return stored.status();
  return std::make_pair(*std::move(stored), secret);
}

absl::StatusOr<std::string> BootstrapAdminToken(Store& store) {
  absl::StatusOr<std::vector<ApiToken>> tokens = store.ListTokens();
  if (!tokens.ok()) return tokens.status();
  if (!tokens->empty()) return std::string();
  ApiToken token;
  token.name = "admin";
  token.role = Role::kAdmin;
  absl::StatusOr<std::pair<ApiToken, std::string>> created = CreateApiToken(store, token);
  if (!created.ok()) return created.status();
  return created->second;
}

}  // namespace lightcone::server
