// JSON <-> store records for the fleet server API (docs/api.md "Objects"), and a strict
// reader for request bodies: every accessor checks the type, and the first problem becomes
// an InvalidArgument naming the JSON path ("licence.model_caps[1].max_count: must be >= 0").
// Unknown fields are ignored (clients may echo back server-set fields such as "id").
#ifndef LIGHTCONE_SERVER_API_JSON_MAPPING_H_
#define LIGHTCONE_SERVER_API_JSON_MAPPING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/store/store.h"

namespace lightcone::server::api {

using Json = nlohmann::json;

inline constexpr int kMaxJsonDepth = 32;
inline constexpr size_t kMaxStringBytes = 4096;
inline constexpr size_t kMaxListItems = 100'000;

// Parses a request body: InvalidArgument for malformed JSON, nesting deeper than
// kMaxJsonDepth, or a top level that is not an object.
absl::StatusOr<Json> ParseBody(const std::string& body);

// RFC 3339 UTC ("2026-11-22T09:00:00Z", fractional seconds when present).
std::string ApiTime(absl::Time t);
// Null for the Unix epoch (the store's "never").
Json TimeOrNull(absl::Time t);
// The times the API accepts: what the store's int64 nanoseconds since 1970 can hold.
inline const absl::Time kEarliestApiTime = absl::UnixEpoch();
inline const absl::Time kLatestApiTime = absl::FromUnixSeconds(9'223'372'036);  // 2262-04-11
// InvalidArgument for text that is not RFC 3339 or is outside [kEarliestApiTime,
// kLatestApiTime] (absl also parses "infinite-past" and years like 0001).
absl::StatusOr<absl::Time> ParseApiTime(const std::string& text);

// Reads fields of one JSON object, remembering the first error.
class FieldReader {
 public:
  // `path` names the object in messages ("licence", "devices[3]"); "" for the root.
  FieldReader(const Json& object, std::string path);

  bool Has(const char* key) const;
  std::string String(const char* key, bool required, const std::string& fallback = "",
                     size_t max_bytes = kMaxStringBytes);
  double Number(const char* key, bool required, double fallback = 0);
  int64_t Int(const char* key, bool required, int64_t fallback = 0);
  bool Bool(const char* key, bool required, bool fallback = false);
  absl::Time Time(const char* key, bool required, absl::Time fallback = absl::UnixEpoch());
  std::vector<std::string> StringList(const char* key, bool required);
  // The array at `key` (nullptr when absent and not required, or on error).
  const Json* Array(const char* key, bool required);

  // Range checks recorded as errors on `key`.
  void CheckRange(const char* key, double value, double lo, double hi);
  void Fail(const std::string& key, const std::string& why);
  std::string PathOf(const std::string& key) const;

  const absl::Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

 private:
  const Json* Get(const char* key, bool required);
  const Json& object_;
  std::string path_;
  absl::Status status_;
};

// ---- records -> JSON ------------------------------------------------------------------
Json OrganizationToJson(const Organization& org);
Json LandmarkToJson(const Landmark& landmark);
Json SiteToJson(const Site& site);
Json LicenceToJson(const Licence& licence);
Json ShipmentToJson(const Shipment& shipment);
Json HostToJson(const Host& host);
Json KeyToJson(const KeyBinding& key);
Json VerdictToJson(const Verdict& verdict);
// `site_id` comes from the device's host; `verdict` may be null.
Json DeviceToJson(const Device& device, int64_t site_id, const Verdict* verdict);
Json AlertToJson(const Alert& alert);
Json TokenToJson(const ApiToken& token);
Json MeasurementToJson(const Measurement& m);
Json TopologyToJson(const TopologySnapshot& t);
Json DeviceEventToJson(const DeviceEvent& e);
Json TelemetryToJson(const Telemetry& t);
std::string AssuranceName(AssuranceLevel level);
absl::StatusOr<AssuranceLevel> ParseAssurance(const std::string& name);

// ---- JSON -> records (request bodies) ---------------------------------------------------
// Organization ids are not read here; handlers set them from the caller's scope.
absl::StatusOr<Site> SiteFromJson(const Json& body, const std::string& path);
absl::StatusOr<Licence> LicenceFromJson(const Json& body, const std::string& path);
absl::StatusOr<Shipment> ShipmentFromJson(const Json& body, const std::string& path);

// True for an ISO 3166-1 alpha-2 shaped code ("SG").
bool IsCountryCode(const std::string& code);
// True for "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, either case).
bool IsGpuUuid(const std::string& uuid);

}  // namespace lightcone::server::api

#endif  // LIGHTCONE_SERVER_API_JSON_MAPPING_H_
