// Test helpers for the fleet server API suite: an HTTP client that returns status + JSON,
// signed measurement batches, and a self-signed TLS certificate.
#ifndef LIGHTCONE_TESTS_API_API_TEST_UTIL_H_
#define LIGHTCONE_TESTS_API_API_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/wire.h"
#include "core/wire_record.h"
#include "nlohmann/json.hpp"

namespace lightcone::server::testing {

using Json = nlohmann::json;

struct HttpReply {
  int status = 0;  // 0 = no answer (connection failed)
  std::string body;
  std::string content_type;
  Json json;  // parsed body, or null
};

// Plain HTTP (or HTTPS with `ca_cert_path`) to 127.0.0.1:port.
HttpReply Call(int port, const std::string& method, const std::string& path,
               const std::string& token, const std::string& body = "",
               const std::string& content_type = "application/json",
               const std::string& ca_cert_path = "");

// A measurement record signed by `device_key` (a real reply signature).
wire::MeasurementRecord SignedRecord(const wire::Id& device, const wire::Id& landmark,
                                     const crypto::SigningKey& device_key, uint64_t sequence,
                                     int64_t rtt_ns);
// A batch signed by `landmark_key`.
wire::MeasurementBatch SignedBatch(const crypto::SigningKey& landmark_key, const wire::Id& landmark,
                                   uint64_t batch_sequence,
                                   std::vector<wire::MeasurementRecord> records);

// Writes a self-signed certificate for 127.0.0.1/localhost and its key as PEM files.
bool WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path);

}  // namespace lightcone::server::testing

#endif  // LIGHTCONE_TESTS_API_API_TEST_UTIL_H_
