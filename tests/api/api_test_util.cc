#include "api_test_util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <memory>

#include "absl/time/clock.h"
#include "httplib.h"

namespace lightcone::server::testing {

HttpReply Call(int port, const std::string& method, const std::string& path,
               const std::string& token, const std::string& body,
               const std::string& content_type, const std::string& ca_cert_path) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (!ca_cert_path.empty()) {
    auto ssl = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
    ssl->set_ca_cert_path(ca_cert_path.c_str());
    ssl->enable_server_certificate_verification(true);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>("127.0.0.1", port);
  }
  client->set_read_timeout(60, 0);
  client->set_write_timeout(60, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto send = [&]() -> httplib::Result {
    if (method == "POST") return client->Post(path.c_str(), headers, body, content_type.c_str());
    if (method == "PUT") return client->Put(path.c_str(), headers, body, content_type.c_str());
    if (method == "PATCH") return client->Patch(path.c_str(), headers, body, content_type.c_str());
    if (method == "DELETE") return client->Delete(path.c_str(), headers);
    return client->Get(path.c_str(), headers);
  };
  httplib::Result result = send();
  HttpReply reply;
  if (!result) return reply;
  reply.status = result->status;
  reply.body = result->body;
  reply.content_type = result->get_header_value("Content-Type");
  reply.json = Json::parse(reply.body, nullptr, false);
  if (reply.json.is_discarded()) reply.json = nullptr;
  return reply;
}

wire::MeasurementRecord SignedRecord(const wire::Id& device, const wire::Id& landmark,
                                     const crypto::SigningKey& device_key, uint64_t sequence,
                                     int64_t rtt_ns) {
  wire::MeasurementRecord rec;
  rec.device_id = device;
  rec.landmark_id = landmark;
  rec.time_unix_ns = absl::ToUnixNanos(absl::Now());
  rec.rtt_ns = rtt_ns;
  crypto::RandomBytes(rec.nonce);
  rec.sequence = sequence;
  rec.key_id = device_key.key_id();
  std::array<uint8_t, wire::kReplySignedMessageBytes> message;
  wire::ReplySignedMessage(wire::RecordReply(rec), message);
  device_key.Sign(message, &rec.reply_signature);
  return rec;
}

wire::MeasurementBatch SignedBatch(const crypto::SigningKey& landmark_key, const wire::Id& landmark,
                                   uint64_t batch_sequence,
                                   std::vector<wire::MeasurementRecord> records) {
  wire::MeasurementBatch batch;
  batch.landmark_id = landmark;
  batch.batch_sequence = batch_sequence;
  batch.created_unix_ns = absl::ToUnixNanos(absl::Now());
  batch.records = std::move(records);
  (void)wire::SignBatch(landmark_key, &batch);
  return batch;
}

bool WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return false;
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(cert, bc, -1);
  X509_EXTENSION_free(bc);
  bool ok = X509_sign(cert, key, EVP_sha256()) > 0;
  FILE* f = std::fopen(cert_path.c_str(), "w");
  ok = ok && f != nullptr && PEM_write_X509(f, cert) == 1;
  if (f) std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  ok = ok && f != nullptr &&
       PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (f) std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace lightcone::server::testing
