// Internal to src/server/api: the state the handlers share (store, caches, verifier) and
// small helpers for scoping, ids, pagination and responses. One Add*Routes function per
// resource group (*_handlers.cc) appends its routes to the table.
#ifndef LIGHTCONE_SERVER_API_API_CONTEXT_H_
#define LIGHTCONE_SERVER_API_API_CONTEXT_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attest/verifier.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "server/api/json_mapping.h"
#include "server/api/server.h"
#include "server/http/route.h"
#include "server/http/token_auth.h"
#include "server/store/store.h"

namespace lightcone::server::api {

inline constexpr int64_t kMaxListLimit = kMaxPageSize;
inline constexpr size_t kMaxPendingNonces = 100'000;
inline constexpr size_t kMaxCachedDeviceKeys = 1'000'000;
inline constexpr size_t kMaxEnrollDevices = 1024;
inline constexpr size_t kMaxTelemetryDevices = 4096;
// POST /telemetry refuses a report dated further ahead of the server's clock than this.
inline constexpr absl::Duration kMaxTelemetryClockAheadOfServer = absl::Minutes(5);

// Runs chunks of work on a few threads plus the caller's. Thread-safe.
class WorkPool {
 public:
  explicit WorkPool(int threads);  // threads - 1 workers are started
  ~WorkPool();
  // Runs fn(0..n-1) across the pool and the calling thread; returns when all are done.
  void ParallelFor(int n, const std::function<void(int)>& fn);

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// wire device id -> the device's bound key, cached for batch verification.
class DeviceKeyCache {
 public:
  struct Entry {
    int64_t device_id = 0;
    int64_t organization_id = 0;
    bool has_key = false;
    crypto::PublicKey public_key{};
    crypto::KeyId key_id = 0;
    // The binding the current key replaced (store schema v3), if any.
    bool has_previous_key = false;
    crypto::PublicKey previous_public_key{};
    crypto::KeyId previous_key_id = 0;
    absl::Time previous_superseded_at;
    absl::Time fetched_at;
    // True when `key_id` is the current or the previous key of this device.
    bool Knows(crypto::KeyId id) const {
      return (has_key && id == key_id) || (has_previous_key && id == previous_key_id);
    }
  };
  DeviceKeyCache(Store* store, absl::Duration ttl) : store_(store), ttl_(ttl) {}
  // NotFound when no device has this id. `refresh` skips the cache.
  absl::StatusOr<Entry> Lookup(const wire::Id& id, bool refresh);
  void Invalidate(const std::string& uuid);

 private:
  Store* store_;
  absl::Duration ttl_;
  absl::Mutex mu_;
  std::map<wire::Id, Entry> cache_ ABSL_GUARDED_BY(mu_);
};

struct ApiContext {
  Store* store = nullptr;
  http::TokenAuthenticator* auth = nullptr;
  ServerOptions options;
  std::optional<attest::Verifier> verifier;
  std::unique_ptr<DeviceKeyCache> device_keys;
  std::unique_ptr<WorkPool> verify_pool;
  RegionProvider region_provider;

  // key_binding_nonce per device uuid, with its expiry.
  absl::Mutex nonce_mu;
  struct PendingNonce {
    std::string nonce;  // raw 32 bytes
    absl::Time expires;
  };
  std::unordered_map<std::string, PendingNonce> nonces ABSL_GUARDED_BY(nonce_mu);
};

// ---- helpers shared by the handler files ----
using http::Request;
using http::Response;
using http::Route;

inline const std::vector<Role> kAnyRole = {Role::kAgent, Role::kLandmark, Role::kOperator,
                                           Role::kAuditor, Role::kAdmin};
inline const std::vector<Role> kReaders = {Role::kOperator, Role::kAuditor, Role::kAdmin};
inline const std::vector<Role> kWriters = {Role::kOperator, Role::kAdmin};
inline const std::vector<Role> kAdminOnly = {Role::kAdmin};
inline const std::vector<Role> kAdminAndAuditor = {Role::kAdmin, Role::kAuditor};
inline const std::vector<Role> kAgentOnly = {Role::kAgent};

// The organization the caller is confined to; nullopt for admin/auditor (and landmarks).
std::optional<int64_t> ScopeOf(const http::Principal& p);
// NotFound (naming `what`) when an object of organization `org` is outside the caller's scope.
absl::Status CheckScope(const http::Principal& p, int64_t org, const std::string& what);
// What of a device's history a caller may see: an organization-scoped caller (operator,
// agent) sees only what happened since the device last came into its organization (the
// start of the device's latest run of events stamped with that organization; a device that
// moved in from another organization brings none of that organization's verdicts, health,
// measurements, events or topology). InfinitePast for fleet-wide readers, and for a device
// whose events are all in the caller's organization (Store::ListDevicesMovedIn).
// REQUIRES: the device is in the caller's organization (callers check the scope first).
absl::StatusOr<absl::Time> VisibleSince(ApiContext* ctx, const http::Principal& p,
                                        int64_t device_id);
// A positive integer id from a path parameter or query value.
absl::StatusOr<int64_t> ParseIdText(const std::string& text, const std::string& what);
// The licence named by the request's {id}, when the caller's organization may see it
// (NotFound otherwise). Shared by the licence routes and the licence report.
absl::StatusOr<Licence> ScopedLicence(ApiContext* ctx, const Request& req);
// An optional integer id from the query (?name=N).
absl::StatusOr<std::optional<int64_t>> QueryId(const Request& req, const std::string& name);
absl::StatusOr<std::optional<absl::Time>> QueryTime(const Request& req, const std::string& name);
// ?since=&until= of a history read: until defaults to now, since to `default_window` before
// until; InvalidArgument (naming the parameter) when either is malformed or since > until.
struct TimeRange {
  absl::Time since;
  absl::Time until;
};
absl::StatusOr<TimeRange> QueryTimeRange(const Request& req, absl::Duration default_window);
// ?after_id=&limit= (limit <= kMaxListLimit, default kDefaultPageSize).
absl::StatusOr<PageRequest> QueryPage(const Request& req);
// {"items": [...], "next_after_id": N}
Response PageResponse(Json items, int64_t next_after_id);
Response JsonOk(const Json& body, int status = 200);
// A slice of an in-memory, id-ordered list as a page.
template <typename T, typename ToJson>
Response SlicePage(const std::vector<T>& all, const PageRequest& page, ToJson to_json) {
  const int limit = page.limit <= 0 ? kDefaultPageSize : page.limit;
  Json items = Json::array();
  int64_t next = 0;
  for (const T& item : all) {
    if (item.id <= page.after_id) continue;
    if (static_cast<int>(items.size()) == limit) {
      next = items.back()["id"].template get<int64_t>();
      break;
    }
    items.push_back(to_json(item));
  }
  return PageResponse(std::move(items), next);
}
// The canonical device uuid ("GPU-" + lower-case 8-4-4-4-12) of any accepted spelling.
absl::StatusOr<std::string> CanonicalUuid(const std::string& text);
// Every device matching `filter` (all pages).
absl::StatusOr<std::vector<Device>> AllDevices(Store& store, DeviceFilter filter);
// Every alert matching `filter` (all pages).
absl::StatusOr<std::vector<Alert>> AllAlerts(Store& store, AlertFilter filter);

// GET measurements (?device_id=&landmark_id=&since=&until=), scoped to the caller; a
// non-null `device_id` overrides the query's.
absl::StatusOr<Response> MeasurementsPage(ApiContext* ctx, const Request& req,
                                          std::optional<int64_t> device_id);

void AddAdminRoutes(ApiContext* ctx, std::vector<Route>* routes);
void AddLandmarkRoutes(ApiContext* ctx, std::vector<Route>* routes);
void AddMeasurementRoutes(ApiContext* ctx, std::vector<Route>* routes);
void AddAgentRoutes(ApiContext* ctx, std::vector<Route>* routes);
void AddDeviceRoutes(ApiContext* ctx, std::vector<Route>* routes);
void AddLicenceRoutes(ApiContext* ctx, std::vector<Route>* routes);
void AddAlertRoutes(ApiContext* ctx, std::vector<Route>* routes);
void AddReportRoutes(ApiContext* ctx, std::vector<Route>* routes);

// The OpenAPI document served at /api/v1/openapi.json (embedded at build time).
const std::string& OpenApiDocument();

}  // namespace lightcone::server::api

#endif  // LIGHTCONE_SERVER_API_API_CONTEXT_H_
