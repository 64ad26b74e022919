// Fuzzes the clients' parsers of the fleet server's answers: the agent's enrollment answer
// (src/agent/server_messages.h) and the landmark's target list, batch answer and whoami
// (src/landmark/server_client.h). Any body is parsed or rejected with InvalidArgument, never
// a crash; whatever is accepted respects the parsers' named limits. The first byte picks the
// parser so that one corpus covers all four.
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "agent/server_messages.h"
#include "landmark/config.h"
#include "landmark/server_client.h"

namespace {

void Check(const absl::Status& status) {
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto r = lightcone::agent::ParseEnrollResponse(body);
      Check(r.status());
      if (r.ok() && r->devices.size() > lightcone::agent::kMaxEnrolledDevices) std::abort();
      break;
    }
    case 1: {
      auto r = lightcone::landmark::ParseTargetsResponse(body);
      Check(r.status());
      if (r.ok() && r->targets.size() > lightcone::landmark::kMaxTargets) std::abort();
      break;
    }
    case 2: Check(lightcone::landmark::ParseBatchResponse(body).status()); break;
    default: {
      auto r = lightcone::landmark::ParseWhoamiLandmarkId(body);
      Check(r.status());
      if (r.ok() && *r <= 0) std::abort();
    }
  }
  return 0;
}
