// Fleet server ingest over HTTP: measurements stored per second when landmarks POST signed
// 1,000-record batches to /api/v1/measurements/batches on a real loopback socket, with every
// batch signature and every device reply signature checked, into SQLite (a temporary file,
// synchronous=FULL) and into PostgreSQL (a real server, fsync on). The batches are signed
// before the clock starts; kClients connections submit them concurrently.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "figures.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "core/wire_record.h"
#include "core/logging.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/api/server.h"
#include "server/store/testing/pg_test_server.h"

namespace lightcone::server {
namespace {

using Json = nlohmann::json;

constexpr int kDevices = 64;
constexpr int kRecordsPerBatch = 1000;
constexpr int kBatches = 150;
constexpr int kClients = 4;

struct Fleet {
  std::vector<std::string> uuids;
  std::vector<std::unique_ptr<crypto::SigningKey>> device_keys;
  std::unique_ptr<crypto::SigningKey> landmark_key;
  wire::Id landmark_wire{};
  std::vector<std::string> bodies;  // signed batch JSON lines
};

Fleet MakeFleet() {
  Fleet f;
  f.landmark_key = std::make_unique<crypto::SigningKey>(*crypto::SigningKey::Generate());
  crypto::RandomBytes(f.landmark_wire);
  for (int d = 0; d < kDevices; ++d) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "GPU-%08x-0000-4000-8000-%012x", 0xbe000000 + d, d);
    f.uuids.push_back(buf);
    f.device_keys.push_back(std::make_unique<crypto::SigningKey>(*crypto::SigningKey::Generate()));
  }
  f.bodies.resize(kBatches);
  auto sign_range = [&](int begin, int end) {
    for (int b = begin; b < end; ++b) {
      wire::MeasurementBatch batch;
      batch.landmark_id = f.landmark_wire;
      batch.batch_sequence = b + 1;
      batch.created_unix_ns = absl::ToUnixNanos(absl::Now());
      for (int i = 0; i < kRecordsPerBatch; ++i) {
        const int d = i % kDevices;
        wire::MeasurementRecord rec;
        rec.device_id = *wire::ParseId(f.uuids[d]);
        rec.landmark_id = f.landmark_wire;
        rec.time_unix_ns = batch.created_unix_ns + i;
        rec.rtt_ns = 1'000'000 + i;
        crypto::RandomBytes(rec.nonce);
        rec.sequence = static_cast<uint64_t>(b) * kRecordsPerBatch + i;
        rec.key_id = f.device_keys[d]->key_id();
        std::array<uint8_t, wire::kReplySignedMessageBytes> message;
        wire::ReplySignedMessage(wire::RecordReply(rec), message);
        f.device_keys[d]->Sign(message, &rec.reply_signature);
        batch.records.push_back(rec);
      }
      (void)wire::SignBatch(*f.landmark_key, &batch);
      f.bodies[b] = wire::BatchToJsonLine(batch);
    }
  };
  std::thread other(sign_range, 0, kBatches / 2);
  sign_range(kBatches / 2, kBatches);
  other.join();
  return f;
}

httplib::Result Post(httplib::Client& c, const std::string& path, const std::string& token,
                     const std::string& body) {
  return c.Post(path.c_str(), {{"Authorization", "Bearer " + token}}, body, "application/json");
}

// Returns measurements per second, or a negative value when the run failed.
double Run(const Fleet& fleet, const std::string& db) {
  ServerOptions options;
  options.db = db;
  auto server = Server::Create(options);
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return -1;
  }
  auto admin = BootstrapAdminToken((*server)->store());
  if (!admin.ok() || !(*server)->Start().ok()) return -1;
  const int port = (*server)->port();
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  auto json_of = [](const httplib::Result& r) {
    return r ? Json::parse(r->body, nullptr, false) : Json();
  };
  const int64_t org = json_of(Post(c, "/api/v1/organizations", *admin, Json{{"name", "bench"}}.dump()))["id"];
  const int64_t landmark =
      json_of(Post(c, "/api/v1/landmarks", *admin,
                   Json{{"name", "bench-lm"}, {"wire_id", crypto::HexEncode(fleet.landmark_wire)},
                        {"latitude_deg", 1.3}, {"longitude_deg", 103.8},
                        {"public_key", crypto::HexEncode(fleet.landmark_key->public_key())}}
                       .dump()))["id"];
  const std::string lm_token = json_of(Post(c, "/api/v1/tokens", *admin,
                                            Json{{"name", "lm"}, {"role", "landmark"},
                                                 {"landmark_id", landmark}}.dump()))["token"];
  const std::string agent = json_of(Post(c, "/api/v1/tokens", *admin,
                                         Json{{"name", "agent"}, {"role", "agent"},
                                              {"organization_id", org}}.dump()))["token"];
  Json devices = Json::array();
  for (const std::string& uuid : fleet.uuids) devices.push_back({{"uuid", uuid}});
  Post(c, "/api/v1/enroll", agent, Json{{"hostname", "bench"}, {"devices", devices}}.dump());
  for (int d = 0; d < kDevices; ++d) {
    Post(c, "/api/v1/devices/" + fleet.uuids[d] + "/key-binding", agent,
         Json{{"public_key", crypto::HexEncode(fleet.device_keys[d]->public_key())},
              {"key_id", crypto::FormatKeyId(fleet.device_keys[d]->key_id())},
              {"assurance", "L0"}}
             .dump());
  }
  std::atomic<int> next{0};
  std::atomic<int64_t> inserted{0};
  std::atomic<int> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(120, 0);
      client.set_keep_alive(true);
      for (int b = next.fetch_add(1); b < kBatches; b = next.fetch_add(1)) {
        auto r = Post(client, "/api/v1/measurements/batches", lm_token, fleet.bodies[b]);
        if (!r || r->status != 200) {
          if (failures.fetch_add(1) == 0) {
            std::fprintf(stderr, "batch %d: %s\n", b, r ? r->body.c_str() : "no answer");
          }
          continue;
        }
        inserted += Json::parse(r->body, nullptr, false).value("inserted", 0);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  (*server)->Stop();
  if (failures.load() > 0 || inserted.load() != int64_t{kBatches} * kRecordsPerBatch) {
    std::fprintf(stderr, "%d failed batches, %lld inserted\n", failures.load(),
                 static_cast<long long>(inserted.load()));
    return -1;
  }
  const double rate = inserted.load() / seconds;
  std::printf("%s: %lld measurements in %.2f s = %.0f /s (%d clients, %d-record batches)\n",
              db.substr(0, db.find(':')).c_str(), static_cast<long long>(inserted.load()),
              seconds, rate, kClients, kRecordsPerBatch);
  return rate;
}

}  // namespace
}  // namespace lightcone::server

int main() {
  using namespace lightcone::server;  // NOLINT
  lightcone::SetLogLevel("warn");
  const Fleet fleet = MakeFleet();
  std::string tmpl = (std::filesystem::temp_directory_path() / "server_bench-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  const double sqlite = Run(fleet, "sqlite:" + dir + "/fleet.db");
  std::filesystem::remove_all(dir);
  if (sqlite > 0) {
    lightcone::bench::ReportFigure("server_ingest_sqlite_measurements_per_s", sqlite,
                                   "measurements/s", true);
  }
  testing::PgTestServerOptions pg_options;
  pg_options.fsync = true;
  auto pg = testing::PgTestServer::Start(pg_options);
  if (!pg.ok()) {
    std::fprintf(stderr, "postgres: %s\n", pg.status().ToString().c_str());
    return 1;
  }
  auto conninfo = (*pg)->CreateDatabase();
  if (!conninfo.ok()) return 1;
  const double postgres = Run(fleet, "postgres:" + *conninfo);
  if (postgres > 0) {
    lightcone::bench::ReportFigure("server_ingest_postgres_measurements_per_s", postgres,
                                   "measurements/s", true);
  }
  return sqlite > 0 && postgres > 0 ? 0 : 1;
}
