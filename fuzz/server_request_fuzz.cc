// Fuzzes the fleet server's JSON request parsers (src/server/api/json_mapping.h): any body
// either parses into a record or is rejected with InvalidArgument, never crashes. The first
// byte picks the parser so one corpus covers all of them.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/api/json_mapping.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lightcone::server::api;  // NOLINT
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  absl::StatusOr<Json> parsed = ParseBody(body);
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  absl::Status status;
  switch (selector % 4) {
    case 0: status = LicenceFromJson(*parsed, "licence").status(); break;
    case 1: status = SiteFromJson(*parsed, "site").status(); break;
    case 2: status = ShipmentFromJson(*parsed, "shipment").status(); break;
    default: {
      FieldReader r(*parsed, "");
      (void)r.String("hostname", true);
      (void)r.Time("time", false);
      (void)r.Int("id", false);
      (void)r.StringList("nvlink_peers", false);
      if (const Json* devices = r.Array("devices", false); devices != nullptr) {
        for (const Json& d : *devices) {
          FieldReader dr(d, "devices[]");
          (void)dr.Number("temperature_c", false);
          (void)IsGpuUuid(dr.String("uuid", false));
        }
      }
      status = r.status();
    }
  }
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) std::abort();
  return 0;
}
