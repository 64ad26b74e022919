// The fleet server (docs/api.md): the evidence store behind the /api/v1 HTTP API, the
// dashboard's static files, token authentication and TLS, in one object that the
// `lightcone server` command, the demo and the tests run in-process.
//
//   ServerOptions options;
//   options.db = "sqlite:/var/lib/lightcone/fleet.db";
//   options.listen = "127.0.0.1:8080";
//   auto server = Server::Create(options);           // opens the store, builds routes
//   (*server)->SetRegionProvider(...);                // optional hooks, before Start()
//   (*server)->Start();  ... (*server)->port(); ... (*server)->Stop();
//
// Extension points for the fleet analysis (src/server/fleet), wired by the server command:
//  - SetRegionProvider: answers GET /devices/{id}/region (503 "unavailable" while unset);
//  - ServerOptions::on_batch_ingested: called after each stored batch (e.g. to wake the
//    verdict loop);
//  - store() / shared_store(): the same Store the API writes, for the verdict loop and the
//    detectors to read and write (Store methods are thread-safe).
#ifndef LIGHTCONE_SERVER_API_SERVER_H_
#define LIGHTCONE_SERVER_API_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/http/route.h"
#include "server/store/store.h"

namespace lightcone::server {

namespace http {
class HttpServer;
class TokenAuthenticator;
}  // namespace http

namespace api {
struct ApiContext;
}

// The region view of one device: the JSON object of docs/api.md "Region"
// ({"caps", "region", "estimate", "licensed_area", "prohibited_regions"}). NotFound when the
// device has none yet; any error maps to its HTTP status.
using RegionProvider = std::function<absl::StatusOr<nlohmann::json>(int64_t device_id)>;

// Called after a batch is durably stored (never for a rejected batch); must be cheap and
// thread-safe.
using BatchIngestedCallback =
    std::function<void(int64_t landmark_id, const IngestResult& result)>;

inline constexpr int kDefaultVerifyThreads = 2;
// Default of `--telemetry-sample-interval-s`: the health history keeps about one report per
// device per this interval (plus every XID/ECC change).
inline constexpr absl::Duration kDefaultTelemetrySampleInterval = absl::Seconds(300);
// ServerOptions::licence_history_time_limit by default: what an HTTP client or proxy commonly
// waits for an answer, and how long the fleet pass may wait for the reader connection.
inline constexpr absl::Duration kDefaultLicenceHistoryTimeLimit = absl::Seconds(60);

// How long after a device's key was re-bound (superseded_at = the new binding's bound_at) a
// measurement record signed by the replaced key is still accepted: covers a landmark that took
// the measurement just before the rotation and the clock difference between landmark and
// server. A record signed by the previous key and dated at or after superseded_at + this grace
// fails its batch; keys older than the previous one never verify.
inline constexpr absl::Duration kKeyOverlapGrace = absl::Minutes(2);

struct ServerOptions {
  // "sqlite:PATH" or "postgres:CONNINFO"; ignored when `store` is set.
  std::string db;
  std::shared_ptr<Store> store;
  // "HOST:PORT"; port 0 = any free port (read it back with port()).
  std::string listen = "127.0.0.1:0";
  std::string tls_cert_path;
  std::string tls_key_path;
  std::string web_root;  // the dashboard's built files; empty = API only
  int http_threads = 8;
  // Threads that share the signature checks of one measurement batch (the request's own
  // thread included).
  int verify_threads = kDefaultVerifyThreads;
  // PEM roots for L1 evidence; empty = the pinned NVIDIA Device Identity CA. Tests and the
  // demo set the test CA here.
  std::string attestation_roots_pem;
  // How long a key_binding_nonce issued by POST /enroll stays valid.
  absl::Duration key_binding_nonce_ttl = absl::Minutes(15);
  absl::Duration token_cache_ttl = absl::Seconds(10);
  // How long a device's bound key stays cached for batch verification (bindings made by
  // this process invalidate at once; a mismatch always re-reads the store).
  absl::Duration device_key_cache_ttl = absl::Seconds(60);
  BatchIngestedCallback on_batch_ingested;
  // POST /telemetry appends a report to the device's health history when its previous sample
  // is at least this old or its XID/ECC counters changed (Store::RecordTelemetry); GET
  // /devices/{id}/telemetry reports it as sample_interval_s. Must be >= 0.
  absl::Duration telemetry_sample_interval = kDefaultTelemetrySampleInterval;
  // How long GET /licences/{id}/history may read verdicts (it holds the store's reader
  // connection meanwhile); past it the request is 503 (docs/api.md "Compliance over time").
  absl::Duration licence_history_time_limit = kDefaultLicenceHistoryTimeLimit;
};

// Opens "sqlite:PATH" or "postgres:CONNINFO". InvalidArgument for another scheme.
absl::StatusOr<std::shared_ptr<Store>> OpenStoreFromUrl(const std::string& db);

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // REQUIRES: not started. Answers GET /devices/{id}/region from then on.
  void SetRegionProvider(RegionProvider provider);

  absl::Status Start();
  void Stop();  // Idempotent; also run by the destructor.
  int port() const;
  bool tls() const;

  Store& store() { return *store_; }
  std::shared_ptr<Store> shared_store() { return store_; }
  // Every route of the API (for the OpenAPI consistency test).
  const std::vector<http::Route>& routes() const;

 private:
  Server() = default;
  std::shared_ptr<Store> store_;
  std::unique_ptr<http::TokenAuthenticator> auth_;
  std::unique_ptr<api::ApiContext> context_;
  std::unique_ptr<http::HttpServer> http_;
};

// Creates an admin token when the store has no token at all (first start). Returns the new
// secret, or "" when tokens already exist.
absl::StatusOr<std::string> BootstrapAdminToken(Store& store);

// Creates a token; returns {record, secret}. InvalidArgument when the role's scope is wrong
// (agent/operator need an existing organization, landmark an existing landmark).
absl::StatusOr<std::pair<ApiToken, std::string>> CreateApiToken(Store& store, ApiToken token);

}  // namespace lightcone::server

#endif  // LIGHTCONE_SERVER_API_SERVER_H_
