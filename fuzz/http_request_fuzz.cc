// Fuzzes the agent's HTTP request-head parser (the /metrics endpoint faces the network).
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/http_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  for (size_t limit : {size_t{64}, size_t{8192}}) {
    const auto r = lightcone::agent::ParseHttpRequestHead(input, limit);
    if (r.status == lightcone::agent::HttpParseStatus::kOk) {
      // A parsed request always has a method we serve and an absolute path.
      if (r.request.path.empty() || r.request.path[0] != '/') __builtin_trap();
      if (r.request.method != "GET" && r.request.method != "HEAD") __builtin_trap();
    }
  }
  return 0;
}
