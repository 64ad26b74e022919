// The fleet server API over real HTTP on loopback, on SQLite and on PostgreSQL: every
// endpoint group, every role, organization scoping, bad input, signed batch ingest,
// L1 key binding, static files, TLS and the OpenAPI document.
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/gpu/key_binding.h"
#include "api_test_util.h"
#include "attest/report_builder.h"
#include "attest/test_ca.h"
#include "gtest/gtest.h"
#include "server/api/server.h"
#include "server/store/testing/pg_test_server.h"

namespace lightcone::server {
namespace {

using testing::Call;
using testing::HttpReply;
using testing::Json;

std::string TempDir(const std::string& name) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (name + "-XXXXXX")).string();
  return mkdtemp(tmpl.data());
}

// Times as the server formats them (docs/api.md "Times").
std::string ApiTimeForTest(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string UuidOf(int org, int i) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "GPU-%08x-1111-2222-3333-%012x", 0xabc00000 + org, 0x100 + i);
  return buf;
}

struct TestDevice {
  std::string uuid;
  int64_t id = 0;
  wire::Id wire_id{};
  std::unique_ptr<crypto::SigningKey> key;
  std::string nonce_hex;
};

struct TestLandmark {
  int64_t id = 0;
  wire::Id wire_id{};
  std::unique_ptr<crypto::SigningKey> key;
  std::string token;
};

class ApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = TempDir("api_test");
    ServerOptions options;
    if (GetParam() == "sqlite") {
      options.db = "sqlite:" + dir_ + "/fleet.db";
    } else {
      auto pg = server::testing::SharedPgTestServer();
      ASSERT_TRUE(pg.ok()) << pg.status();
      auto conninfo = (*pg)->CreateDatabase();
      ASSERT_TRUE(conninfo.ok()) << conninfo.status();
      options.db = "postgres:" + *conninfo;
    }
    options.web_root = dir_ + "/web";
    std::filesystem::create_directories(options.web_root + "/assets");
    std::ofstream(options.web_root + "/index.html") << "<!doctype html><title>Lightcone</title>";
    std::ofstream(options.web_root + "/assets/app.js") << "console.log('lightcone');";
    std::ofstream(dir_ + "/secret.txt") << "outside the web root";
    auto ca = attest::TestCa::Generate();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<attest::TestCa>(*std::move(ca));
    options.attestation_roots_pem = ca_->root_pem();
    options_ = options;
    auto server = Server::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto admin = BootstrapAdminToken(server_->store());
    ASSERT_TRUE(admin.ok()) << admin.status();
    ASSERT_FALSE(admin->empty());
    admin_ = *admin;
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }

  // Stops the server and starts a new one on the same store (a restart).
  void RestartServer() {
    server_->Stop();
    server_.reset();
    auto server = Server::Create(options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    std::filesystem::remove_all(dir_);
  }

  HttpReply Do(const std::string& method, const std::string& path, const std::string& token,
               const Json& body = nullptr) {
    return Call(port_, method, path, token, body.is_null() ? "" : body.dump());
  }

  // POST expecting `status`; returns the JSON answer.
  Json Expect(int status, const std::string& method, const std::string& path,
              const std::string& token, const Json& body = nullptr) {
    HttpReply r = Do(method, path, token, body);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    return r.json;
  }

  int64_t CreateOrg(const std::string& name) {
    return Expect(201, "POST", "/api/v1/organizations", admin_, {{"name", name}})["id"].get<int64_t>();
  }

  std::string CreateToken(const std::string& name, const std::string& role, int64_t org = 0,
                          int64_t landmark = 0) {
    Json body = {{"name", name}, {"role", role}};
    if (org) body["organization_id"] = org;
    if (landmark) body["landmark_id"] = landmark;
    Json j = Expect(201, "POST", "/api/v1/tokens", admin_, body);
    return j.value("token", "");
  }

  TestLandmark CreateLandmark(const std::string& name) {
    TestLandmark l;
    l.key = std::make_unique<crypto::SigningKey>(*crypto::SigningKey::Generate());
    crypto::RandomBytes(l.wire_id);
    Json j = Expect(201, "POST", "/api/v1/landmarks", admin_,
                    {{"name", name},
                     {"wire_id", crypto::HexEncode(l.wire_id)},
                     {"latitude_deg", 1.29},
                     {"longitude_deg", 103.85},
                     {"country", "SG"},
                     {"public_key", crypto::HexEncode(l.key->public_key())}});
    l.id = j.value("id", 0);
    l.token = CreateToken("landmark-" + name, "landmark", 0, l.id);
    return l;
  }

  // Enrolls `count` devices on one host and binds an L0 key to each.
  std::vector<TestDevice> EnrollAndBind(const std::string& agent_token, int org_tag,
                                        const std::string& hostname, int count) {
    std::vector<TestDevice> devices(count);
    Json list = Json::array();
    for (int i = 0; i < count; ++i) {
      devices[i].uuid = UuidOf(org_tag, i);
      list.push_back({{"uuid", devices[i].uuid}, {"serial", absl::StrCat("16521", org_tag, i)},
                      {"model", "NVIDIA H100 80GB HBM3"}, {"architecture", "Hopper"},
                      {"nvlink_peers", Json::array()}});
    }
    Json j = Expect(200, "POST", "/api/v1/enroll", agent_token,
                    {{"hostname", hostname}, {"probe_address", "127.0.0.1:7447"},
                     {"agent_version", "0.1.0"}, {"devices", list}});
    for (int i = 0; i < count; ++i) {
      devices[i].id = j["devices"][i].value("id", 0);
      devices[i].nonce_hex = j["devices"][i].value("key_binding_nonce", "");
      devices[i].wire_id = *wire::ParseId(devices[i].uuid);
      devices[i].key = std::make_unique<crypto::SigningKey>(*crypto::SigningKey::Generate());
      Expect(200, "POST", "/api/v1/devices/" + devices[i].uuid + "/key-binding", agent_token,
             {{"public_key", crypto::HexEncode(devices[i].key->public_key())},
              {"key_id", crypto::FormatKeyId(devices[i].key->key_id())},
              {"assurance", "L0"}});
    }
    return devices;
  }

  // Organizations "acme" (a) and "other" (b) with an operator each, an auditor, and an agent
  // of a: who reads the history endpoints.
  struct Readers {
    std::string op_a, op_b, auditor, agent_a;
  };
  Readers CreateReaders() {
    const int64_t org_a = CreateOrg("acme");
    const int64_t org_b = CreateOrg("other");
    return {CreateToken("ops-a", "operator", org_a), CreateToken("ops-b", "operator", org_b),
            CreateToken("audit", "auditor"), CreateToken("agent-a", "agent", org_a)};
  }

  std::string dir_;
  std::unique_ptr<attest::TestCa> ca_;
  std::unique_ptr<Server> server_;
  ServerOptions options_;  // what server_ was created with
  std::string admin_;
  int port_ = 0;
};

TEST_P(ApiTest, HealthAndOpenApiArePublicEverythingElseNeedsAToken) {
  HttpReply health = Do("GET", "/api/v1/health", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json.value("status", ""), "ok");
  EXPECT_GE(health.json.value("schema_version", 0), 2);
  EXPECT_EQ(Do("GET", "/api/v1/openapi.json", "").json.value("openapi", ""), "3.0.3");
  HttpReply none = Do("GET", "/api/v1/whoami", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.json["error"].value("code", ""), "unauthenticated");
  EXPECT_EQ(Do("GET", "/api/v1/whoami", "lct_not_a_token").status, 401);
  Json me = Expect(200, "GET", "/api/v1/whoami", admin_);
  EXPECT_EQ(me.value("role", ""), "admin");
  EXPECT_EQ(Do("GET", "/api/v1/no-such-thing", admin_).status, 404);
  EXPECT_EQ(Do("DELETE", "/api/v1/health", admin_).status, 405);
}

TEST_P(ApiTest, RevokedTokenIsRejected) {
  const int64_t org = CreateOrg("acme");
  Json created = Expect(201, "POST", "/api/v1/tokens", admin_,
                        {{"name", "ops"}, {"role", "operator"}, {"organization_id", org}});
  const std::string token = created.value("token", "");
  Expect(200, "GET", "/api/v1/whoami", token);
  Json list = Expect(200, "GET", "/api/v1/tokens", admin_);
  for (const Json& t : list["items"]) EXPECT_FALSE(t.contains("token"));
  EXPECT_EQ(Do("DELETE", absl::StrCat("/api/v1/tokens/", created.value("id", 0)), admin_).status, 204);
  EXPECT_EQ(Do("GET", "/api/v1/whoami", token).status, 401);
  // Tokens of scoped roles need their scope.
  EXPECT_EQ(Do("POST", "/api/v1/tokens", admin_, {{"name", "x"}, {"role", "operator"}}).status, 400);
  EXPECT_EQ(Do("POST", "/api/v1/tokens", admin_, {{"name", "y"}, {"role", "landmark"}, {"landmark_id", 99}}).status, 400);
}

TEST_P(ApiTest, OperatorsSeeOnlyTheirOrganizationAndAuditorsCannotWrite) {
  const int64_t org_a = CreateOrg("acme");
  const int64_t org_b = CreateOrg("globex");
  const std::string op_a = CreateToken("ops-a", "operator", org_a);
  const std::string op_b = CreateToken("ops-b", "operator", org_b);
  const std::string agent_a = CreateToken("agent-a", "agent", org_a);
  const std::string agent_b = CreateToken("agent-b", "agent", org_b);
  const std::string auditor = CreateToken("audit", "auditor");
  auto devices_a = EnrollAndBind(agent_a, 1, "node-a", 2);
  auto devices_b = EnrollAndBind(agent_b, 2, "node-b", 1);

  EXPECT_EQ(Expect(200, "GET", "/api/v1/devices", op_a)["items"].size(), 2u);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/devices", op_b)["items"].size(), 1u);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/devices", auditor)["items"].size(), 3u);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/hosts", op_b)["items"].size(), 1u);
  // Another organization's GPU does not exist for an operator, by id or by UUID.
  const std::string a0 = absl::StrCat("/api/v1/devices/", devices_a[0].id);
  HttpReply hidden = Do("GET", a0, op_b);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(hidden.json["error"].value("code", ""), "not_found");
  EXPECT_EQ(Do("GET", "/api/v1/devices/" + devices_a[0].uuid, op_b).status, 404);
  EXPECT_EQ(Do("GET", a0 + "/verdicts", op_b).status, 404);
  EXPECT_EQ(Do("GET", a0 + "/events", op_b).status, 404);
  Json device = Expect(200, "GET", a0, op_a);
  EXPECT_EQ(device["key"].value("assurance", ""), "L0");
  EXPECT_EQ(device.value("uuid", ""), devices_a[0].uuid);
  // Events: enrolled + key_bound.
  Json events = Expect(200, "GET", a0 + "/events", op_a);
  ASSERT_GE(events["items"].size(), 2u);
  EXPECT_EQ(events["items"][0].value("kind", ""), "enrolled");
  // Agents and landmarks cannot read the fleet.
  EXPECT_EQ(Do("GET", "/api/v1/devices", agent_a).status, 403);

  Json licence = {{"reference", "EL-2026-0042"}, {"holder", "Acme Compute Pte Ltd"},
                  {"allowed_sites", {{{"name", "SIN-DC1"}, {"latitude_deg", 1.33},
                                      {"longitude_deg", 103.7}, {"radius_km", 50}}}},
                  {"allowed_countries", {"SG"}}, {"prohibited_regions", {"CN", "HK"}},
                  {"model_caps", {{{"model", "NVIDIA H100 80GB HBM3"}, {"max_count", 1}}}},
                  {"valid_from", "2026-01-01T00:00:00Z"}, {"valid_until", "2027-01-01T00:00:00Z"},
                  {"reporting_cadence_s", 86400}};
  // Auditors change nothing.
  HttpReply denied = Do("POST", "/api/v1/licences", auditor, licence);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.json["error"].value("code", ""), "permission_denied");
  EXPECT_EQ(Do("PATCH", a0, auditor, {{"licence_id", 0}}).status, 403);
  // An operator writes in its own organization only.
  Json foreign = licence;
  foreign["organization_id"] = org_b;
  EXPECT_EQ(Do("POST", "/api/v1/licences", op_a, foreign).status, 403);
  Json created = Expect(201, "POST", "/api/v1/licences", op_a, licence);
  const int64_t licence_id = created.value("id", 0);
  EXPECT_EQ(created.value("organization_id", 0), org_a);
  const std::string lpath = absl::StrCat("/api/v1/licences/", licence_id);
  EXPECT_EQ(Do("GET", lpath, op_b).status, 404);
  EXPECT_EQ(Do("PUT", lpath, op_b, licence).status, 404);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/licences", op_b)["items"].size(), 0u);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/licences", auditor)["items"].size(), 1u);
  // A device of organization B cannot be put under A's licence, not even by admin.
  EXPECT_EQ(Do("PATCH", absl::StrCat("/api/v1/devices/", devices_b[0].id), admin_,
               {{"licence_id", licence_id}}).status, 400);
  for (const TestDevice& d : devices_a) {
    Expect(200, "PATCH", absl::StrCat("/api/v1/devices/", d.id), op_a, {{"licence_id", licence_id}});
  }
  EXPECT_EQ(Expect(200, "GET", absl::StrCat("/api/v1/devices?licence_id=", licence_id), op_a)["items"].size(), 2u);
  // Update.
  Json changed = licence;
  changed["holder"] = "Acme Compute Holdings";
  EXPECT_EQ(Expect(200, "PUT", lpath, op_a, changed).value("holder", ""), "Acme Compute Holdings");
  EXPECT_EQ(Expect(200, "GET", lpath, auditor).value("holder", ""), "Acme Compute Holdings");
  // Report: two H100s against a cap of one.
  Json report = Expect(200, "GET", absl::StrCat("/api/v1/reports/licences/", licence_id), auditor);
  EXPECT_EQ(report["devices"].size(), 2u);
  ASSERT_EQ(report["usage"].size(), 1u);
  EXPECT_EQ(report["usage"][0].value("in_use", 0), 2);
  EXPECT_EQ(report["usage"][0].value("max_count", 0), 1);
  HttpReply csv = Do("GET", absl::StrCat("/api/v1/reports/licences/", licence_id, "?format=csv"), op_a);
  EXPECT_EQ(csv.status, 200);
  EXPECT_TRUE(absl::StartsWith(csv.content_type, "text/csv"));
  EXPECT_TRUE(absl::StartsWith(csv.body, "uuid,serial,ueid,model,host,site,verdict"));
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 3);
  EXPECT_EQ(Do("GET", absl::StrCat("/api/v1/reports/licences/", licence_id), op_b).status, 404);
  // A licence with devices cannot be ended.
  EXPECT_EQ(Do("DELETE", lpath, op_a).status, 409);
}

TEST_P(ApiTest, SitesShipmentsTelemetryOverviewAndSiteReport) {
  const int64_t org = CreateOrg("acme");
  const std::string op = CreateToken("ops", "operator", org);
  const std::string agent = CreateToken("agent", "agent", org);
  Json site = Expect(201, "POST", "/api/v1/sites", op,
                     {{"name", "SIN-DC1"}, {"latitude_deg", 1.33}, {"longitude_deg", 103.7},
                      {"radius_km", 50}, {"country", "SG"}});
  const int64_t site_id = site.value("id", 0);
  Expect(200, "PUT", absl::StrCat("/api/v1/sites/", site_id), op,
         {{"name", "SIN-DC1"}, {"latitude_deg", 1.34}, {"longitude_deg", 103.7},
          {"radius_km", 40}, {"country", "SG"}});
  EXPECT_DOUBLE_EQ(Expect(200, "GET", absl::StrCat("/api/v1/sites/", site_id), op).value("radius_km", 0.0), 40);
  Json shipment = Expect(201, "POST", "/api/v1/shipments", op,
                         {{"reference", "AWB-123"}, {"consignee", "Acme"}, {"billed_country", "SG"},
                          {"shipped_at", "2026-03-01T00:00:00Z"}, {"serials", {"1652", "1653"}}});
  EXPECT_EQ(shipment["serials"].size(), 2u);
  EXPECT_EQ(Do("POST", "/api/v1/shipments", op,
               {{"reference", "AWB-124"}, {"billed_country", "Singapore"},
                {"shipped_at", "2026-03-01T00:00:00Z"}}).status, 400);
  Json enrolled = Expect(200, "POST", "/api/v1/enroll", agent,
                         {{"hostname", "node-1"}, {"site", "SIN-DC1"},
                          {"devices", {{{"uuid", UuidOf(1, 1)}, {"model", "H100"}}}}});
  const int64_t device_id = enrolled["devices"][0].value("id", 0);
  EXPECT_EQ(Do("POST", "/api/v1/telemetry", agent,
               {{"devices", {{{"uuid", UuidOf(1, 1)}, {"time", "2026-11-22T09:00:00Z"},
                              {"temperature_c", 61}, {"power_w", 420}, {"utilization_pct", 97},
                              {"ecc_uncorrected", 0}, {"xid_count", 2}, {"last_xid", 79}}}}}).status,
            204);
  Json device = Expect(200, "GET", absl::StrCat("/api/v1/devices/", device_id), op);
  EXPECT_EQ(device.value("site_id", 0), site_id);
  EXPECT_DOUBLE_EQ(device["telemetry"].value("temperature_c", 0.0), 61);
  EXPECT_EQ(device["telemetry"].value("last_xid", 0), 79);
  EXPECT_EQ(Do("POST", "/api/v1/telemetry", agent,
               {{"devices", {{{"uuid", UuidOf(9, 9)}}}}}).status, 404);
  Json overview = Expect(200, "GET", "/api/v1/overview", op);
  EXPECT_EQ(overview["devices"].value("total", 0), 1);
  EXPECT_EQ(overview["devices"].value("no_verdict", 0), 1);
  ASSERT_EQ(overview["by_site"].size(), 1u);
  EXPECT_EQ(overview["by_country"][0].value("country", ""), "SG");
  Json report = Expect(200, "GET", absl::StrCat("/api/v1/reports/sites/", site_id), op);
  ASSERT_EQ(report["devices"].size(), 1u);
  EXPECT_EQ(report["devices"][0].value("site", ""), "SIN-DC1");
  EXPECT_EQ(report["devices"][0].value("xid_count", 0), 2);
  EXPECT_EQ(Do("GET", absl::StrCat("/api/v1/devices?site_id=", site_id), op).json["items"].size(), 1u);
  // Region view not wired in this test: 503 unavailable.
  HttpReply region = Do("GET", absl::StrCat("/api/v1/devices/", device_id, "/region"), op);
  EXPECT_EQ(region.status, 503);
  EXPECT_EQ(region.json["error"].value("code", ""), "unavailable");
}

TEST_P(ApiTest, EnrollmentRecordsHostChangesAndTopology) {
  const int64_t org_a = CreateOrg("acme");
  const int64_t org_b = CreateOrg("globex");
  const std::string agent_a = CreateToken("agent-a", "agent", org_a);
  const std::string agent_b = CreateToken("agent-b", "agent", org_b);
  const std::string auditor = CreateToken("audit", "auditor");
  Json body = {{"hostname", "node-1"},
               {"devices", {{{"uuid", UuidOf(1, 1)}, {"nvlink_peers", {UuidOf(1, 2)}}}}}};
  Json first = Expect(200, "POST", "/api/v1/enroll", agent_a, body);
  const int64_t id = first["devices"][0].value("id", 0);
  Expect(200, "POST", "/api/v1/enroll", agent_a, body);  // idempotent
  const std::string topo = absl::StrCat("/api/v1/devices/", id, "/topology");
  EXPECT_EQ(Expect(200, "GET", topo, auditor)["items"].size(), 1u);
  body["devices"][0]["nvlink_peers"] = {UuidOf(1, 3)};
  Expect(200, "POST", "/api/v1/enroll", agent_a, body);
  EXPECT_EQ(Expect(200, "GET", topo, auditor)["items"].size(), 2u);
  // The same GPU shows up in another organization.
  Json moved = Expect(200, "POST", "/api/v1/enroll", agent_b, body);
  EXPECT_EQ(moved["devices"][0].value("id", 0), id);
  Json events = Expect(200, "GET", absl::StrCat("/api/v1/devices/", id, "/events"), auditor);
  bool host_changed = false;
  for (const Json& e : events["items"]) {
    if (e.value("kind", "") == "host_changed") {
      host_changed = true;
      EXPECT_EQ(e["details"].value("from_organization_id", 0), org_a);
    }
  }
  EXPECT_TRUE(host_changed);
  // Agent A can no longer bind a key to it.
  auto key = crypto::SigningKey::Generate();
  EXPECT_EQ(Do("POST", "/api/v1/devices/" + UuidOf(1, 1) + "/key-binding", agent_a,
               {{"public_key", crypto::HexEncode(key->public_key())},
                {"key_id", crypto::FormatKeyId(key->key_id())}, {"assurance", "L0"}}).status,
            404);
}

TEST_P(ApiTest, L1KeyBindingChecksEvidenceAgainstTheIssuedNonce) {
  const int64_t org = CreateOrg("acme");
  const std::string agent = CreateToken("agent", "agent", org);
  Json enrolled = Expect(200, "POST", "/api/v1/enroll", agent,
                         {{"hostname", "node-1"}, {"devices", {{{"uuid", UuidOf(1, 1)}}}}});
  const std::string nonce_hex = enrolled["devices"][0].value("key_binding_nonce", "");
  ASSERT_EQ(nonce_hex.size(), 64u);
  std::array<uint8_t, 32> server_nonce;
  ASSERT_TRUE(crypto::HexDecode(nonce_hex, server_nonce).ok());
  auto key = crypto::SigningKey::Generate();
  auto device = ca_->IssueDevice();
  ASSERT_TRUE(device.ok()) << device.status();
  auto report_for = [&](std::span<const uint8_t> nonce_input) {
    attest::ReportSpec spec;
    spec.nonce = agent::KeyBindingNonce(key->public_key(), nonce_input);
    spec.fwid = device->fwid;
    return *attest::BuildSpdmReport(spec, device->leaf_key);
  };
  Json binding = {{"public_key", crypto::HexEncode(key->public_key())},
                  {"key_id", crypto::FormatKeyId(key->key_id())},
                  {"assurance", "L1"},
                  {"certificates", device->chain_pem}};
  const std::string path = "/api/v1/devices/" + UuidOf(1, 1) + "/key-binding";
  // Evidence for another server nonce is rejected and nothing is bound.
  std::array<uint8_t, 32> other{};
  binding["evidence"] = crypto::HexEncode(report_for(other));
  HttpReply bad = Do("POST", path, agent, binding);
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(absl::StrContains(bad.body, "nonce_mismatch")) << bad.body;
  Json device_json = Expect(200, "GET", "/api/v1/devices/" + UuidOf(1, 1), admin_);
  EXPECT_TRUE(device_json["key"].is_null());
  // The right nonce binds with L1 and records the attested ueid.
  binding["evidence"] = crypto::HexEncode(report_for(server_nonce));
  Json ok = Expect(200, "POST", path, agent, binding);
  EXPECT_EQ(ok["key"].value("assurance", ""), "L1");
  EXPECT_EQ(ok["key"].value("evidence_sha256", "").size(), 64u);
  EXPECT_EQ(ok.value("ueid", ""), device->leaf_serial_hex);
  // The nonce is single-use.
  EXPECT_EQ(Do("POST", path, agent, binding).status, 409);
  // A key id that is not the key's is rejected.
  binding["key_id"] = "0000000000000000";
  EXPECT_EQ(Do("POST", path, agent, binding).status, 400);
}

TEST_P(ApiTest, SignedBatchesAreVerifiedAndIdempotent) {
  const int64_t org = CreateOrg("acme");
  const std::string agent = CreateToken("agent", "agent", org);
  const std::string op = CreateToken("ops", "operator", org);
  TestLandmark sin = CreateLandmark("sin-1");
  TestLandmark fra = CreateLandmark("fra-1");
  auto devices = EnrollAndBind(agent, 1, "node-1", 2);

  // Targets: a landmark reads its own only; if_version answers 304.
  Json targets = Expect(200, "GET", absl::StrCat("/api/v1/landmarks/", sin.id, "/targets"), sin.token);
  ASSERT_EQ(targets["targets"].size(), 2u);
  EXPECT_EQ(targets["targets"][0].value("address", ""), "127.0.0.1:7447");
  EXPECT_EQ(targets["targets"][0].value("wire_device_id", ""), crypto::HexEncode(devices[0].wire_id));
  const int64_t version = targets.value("version", int64_t{0});
  EXPECT_EQ(Do("GET", absl::StrCat("/api/v1/landmarks/", sin.id, "/targets?if_version=", version), sin.token).status, 304);
  EXPECT_EQ(Do("GET", absl::StrCat("/api/v1/landmarks/", fra.id, "/targets"), sin.token).status, 403);
  EXPECT_EQ(Do("GET", "/api/v1/landmarks", sin.token).status, 200);
  EXPECT_EQ(Do("POST", "/api/v1/measurements/batches", op, Json::object()).status, 403);

  std::vector<wire::MeasurementRecord> records;
  for (int i = 0; i < 20; ++i) {
    const TestDevice& d = devices[i % 2];
    records.push_back(testing::SignedRecord(d.wire_id, sin.wire_id, *d.key, i, 1'000'000 + i));
  }
  const std::string body = wire::BatchToJsonLine(testing::SignedBatch(*sin.key, sin.wire_id, 1, records));
  HttpReply first = Call(port_, "POST", "/api/v1/measurements/batches", sin.token, body);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json.value("inserted", 0), 20);
  EXPECT_FALSE(first.json.value("batch_already_stored", true));
  HttpReply again = Call(port_, "POST", "/api/v1/measurements/batches", sin.token, body);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(again.json.value("batch_already_stored", false));
  EXPECT_EQ(again.json.value("inserted", -1), 0);
  Json listed = Expect(200, "GET", "/api/v1/measurements?limit=1000", op);
  EXPECT_EQ(listed["items"].size(), 20u);
  Json per_device = Expect(200, "GET", absl::StrCat("/api/v1/devices/", devices[0].id, "/measurements"), op);
  EXPECT_EQ(per_device["items"].size(), 10u);
  Json rtts = Expect(200, "GET", absl::StrCat("/api/v1/devices/", devices[0].id, "/rtts"), op);
  ASSERT_EQ(rtts["items"].size(), 1u);
  EXPECT_EQ(rtts["items"][0].value("min_rtt_ns", 0), 1'000'000);
  EXPECT_EQ(rtts["items"][0].value("landmark_name", ""), "sin-1");

  // A bad reply signature anywhere rejects the whole batch, naming the record.
  std::vector<wire::MeasurementRecord> tampered;
  for (int i = 0; i < 8; ++i) {
    tampered.push_back(testing::SignedRecord(devices[0].wire_id, sin.wire_id, *devices[0].key, 100 + i, 2'000'000));
  }
  tampered[5].rtt_ns += 1;  // not covered by the reply signature: still valid
  tampered[6].nonce[0] ^= 1;  // covered: invalid
  HttpReply bad = Call(port_, "POST", "/api/v1/measurements/batches", sin.token,
                       wire::BatchToJsonLine(testing::SignedBatch(*sin.key, sin.wire_id, 2, tampered)));
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(absl::StrContains(bad.body, "records[6]")) << bad.body;
  // A record signed by another device's key.
  std::vector<wire::MeasurementRecord> wrong_key = {
      testing::SignedRecord(devices[0].wire_id, sin.wire_id, *devices[1].key, 200, 1)};
  HttpReply wrong = Call(port_, "POST", "/api/v1/measurements/batches", sin.token,
                         wire::BatchToJsonLine(testing::SignedBatch(*sin.key, sin.wire_id, 3, wrong_key)));
  EXPECT_EQ(wrong.status, 400);
  EXPECT_TRUE(absl::StrContains(wrong.body, "records[0]")) << wrong.body;
  // A landmark cannot submit another landmark's batch, nor a batch under another key.
  std::vector<wire::MeasurementRecord> fra_records = {
      testing::SignedRecord(devices[0].wire_id, fra.wire_id, *devices[0].key, 300, 1)};
  const std::string fra_body =
      wire::BatchToJsonLine(testing::SignedBatch(*fra.key, fra.wire_id, 1, fra_records));
  EXPECT_EQ(Call(port_, "POST", "/api/v1/measurements/batches", sin.token, fra_body).status, 400);
  std::vector<wire::MeasurementRecord> sin_records = {
      testing::SignedRecord(devices[0].wire_id, sin.wire_id, *devices[0].key, 301, 1)};
  EXPECT_EQ(Call(port_, "POST", "/api/v1/measurements/batches", sin.token,
                 wire::BatchToJsonLine(testing::SignedBatch(*fra.key, sin.wire_id, 4, sin_records))).status,
            400);
  // A broken batch signature.
  wire::MeasurementBatch broken = testing::SignedBatch(*sin.key, sin.wire_id, 5, sin_records);
  broken.signature[0] ^= 1;
  EXPECT_EQ(Call(port_, "POST", "/api/v1/measurements/batches", sin.token, wire::BatchToJsonLine(broken)).status, 400);
  // Nothing of the rejected batches was stored.
  EXPECT_EQ(Expect(200, "GET", "/api/v1/measurements?limit=1000", op)["items"].size(), 20u);
  // Overview shows the landmark's last batch.
  auto last_batch_at = [&](int64_t landmark_id) {
    Json overview = Expect(200, "GET", "/api/v1/overview", admin_);
    for (const Json& l : overview["landmarks"]) {
      if (l.value("id", int64_t{0}) == landmark_id) return l["last_batch_at"];
    }
    return Json();
  };
  const Json before = last_batch_at(sin.id);
  ASSERT_TRUE(before.is_string()) << before;
  EXPECT_TRUE(last_batch_at(fra.id).is_null());  // fra never had a batch stored
  // ... and still does after a restart (from the store's receive time, which the handler's
  // clock read follows within moments).
  RestartServer();
  const Json after = last_batch_at(sin.id);
  ASSERT_TRUE(after.is_string()) << after;
  absl::Time before_time, after_time;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, before.get<std::string>(), &before_time, &error))
      << error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, after.get<std::string>(), &after_time, &error))
      << error;
  EXPECT_LT(absl::AbsDuration(after_time - before_time), absl::Seconds(5));
  EXPECT_TRUE(last_batch_at(fra.id).is_null());
}

// Key rotation overlap (docs/protocol.md): after a re-binding, records signed by the replaced
// key are accepted when dated before the new binding's bound_at + kKeyOverlapGrace; later ones,
// and keys two rotations old, fail the batch naming the record.
TEST_P(ApiTest, RecordsSignedByTheReplacedKeyAreAcceptedOnlyWithinTheOverlap) {
  const int64_t org = CreateOrg("acme");
  const std::string agent = CreateToken("agent", "agent", org);
  const std::string op = CreateToken("ops", "operator", org);
  TestLandmark sin = CreateLandmark("sin-1");
  auto devices = EnrollAndBind(agent, 1, "node-1", 1);
  TestDevice& d = devices[0];
  const std::string batches = "/api/v1/measurements/batches";
  auto rebind = [&](const crypto::SigningKey& key) {
    Expect(200, "POST", "/api/v1/devices/" + d.uuid + "/key-binding", agent,
           {{"public_key", crypto::HexEncode(key.public_key())},
            {"key_id", crypto::FormatKeyId(key.key_id())},
            {"assurance", "L0"}});
  };
  auto record_at = [&](const crypto::SigningKey& key, uint64_t sequence, absl::Time time) {
    wire::MeasurementRecord rec = testing::SignedRecord(d.wire_id, sin.wire_id, key, sequence, 1'000'000);
    rec.time_unix_ns = absl::ToUnixNanos(time);  // covered by the batch signature only
    return rec;
  };
  auto post = [&](uint64_t batch_sequence, std::vector<wire::MeasurementRecord> records) {
    return Call(port_, "POST", batches, sin.token,
                wire::BatchToJsonLine(testing::SignedBatch(*sin.key, sin.wire_id, batch_sequence,
                                                           std::move(records))));
  };
  auto key1 = crypto::SigningKey::Generate();
  auto key2 = crypto::SigningKey::Generate();
  ASSERT_TRUE(key1.ok() && key2.ok());
  // The first bound key (from EnrollAndBind) is d.key: call it key0.
  const crypto::SigningKey& key0 = *d.key;
  // Before any rotation a key the device never had fails, naming the record.
  HttpReply never = post(1, {record_at(key0, 1, absl::Now()), record_at(*key1, 2, absl::Now())});
  EXPECT_EQ(never.status, 400);
  EXPECT_TRUE(absl::StrContains(never.body, "records[1].key_id")) << never.body;

  const absl::Time before_rotation = absl::Now() - absl::Seconds(1);
  rebind(*key1);  // key0 -> previous
  Json device = Expect(200, "GET", absl::StrCat("/api/v1/devices/", d.id), op);
  ASSERT_TRUE(device["previous_key"].is_object()) << device.dump();
  EXPECT_EQ(device["previous_key"].value("key_id", ""), crypto::FormatKeyId(key0.key_id()));
  EXPECT_EQ(device["key"].value("key_id", ""), crypto::FormatKeyId(key1->key_id()));
  EXPECT_EQ(device["previous_key"].value("superseded_at", ""), device["key"].value("bound_at", "x"));

  // Mixed batch: old-key records taken before the rotation (and one within the grace after
  // it), new-key records after it. All stored.
  HttpReply mixed = post(2, {record_at(key0, 10, before_rotation),
                             record_at(*key1, 11, absl::Now()),
                             record_at(key0, 12, absl::Now() + absl::Seconds(30)),
                             record_at(*key1, 13, absl::Now())});
  ASSERT_EQ(mixed.status, 200) << mixed.body;
  EXPECT_EQ(mixed.json.value("inserted", 0), 4);

  // An old-key record dated after bound_at + grace fails the batch, naming the record and
  // its time; nothing of the batch is stored.
  HttpReply late = post(3, {record_at(*key1, 20, absl::Now()),
                            record_at(key0, 21, absl::Now() + kKeyOverlapGrace + absl::Seconds(5))});
  EXPECT_EQ(late.status, 400);
  EXPECT_TRUE(absl::StrContains(late.body, "records[1].time")) << late.body;
  EXPECT_TRUE(absl::StrContains(late.body, crypto::FormatKeyId(key0.key_id()))) << late.body;

  // An old-key record with a valid key id but a signature from another key still fails on the
  // signature.
  wire::MeasurementRecord forged = record_at(*key1, 30, before_rotation);
  forged.key_id = key0.key_id();
  HttpReply bad_signature = post(4, {record_at(*key1, 31, absl::Now()), forged});
  EXPECT_EQ(bad_signature.status, 400);
  EXPECT_TRUE(absl::StrContains(bad_signature.body, "records[1].reply_signature"))
      << bad_signature.body;

  // A second rotation: key0 is now two rotations old and never accepted, even dated before
  // either rotation; key1 (the previous key) still is.
  rebind(*key2);
  HttpReply stale = post(5, {record_at(*key1, 40, absl::Now()), record_at(*key2, 41, absl::Now()),
                             record_at(key0, 42, before_rotation)});
  EXPECT_EQ(stale.status, 400);
  EXPECT_TRUE(absl::StrContains(stale.body, "records[2].key_id")) << stale.body;
  HttpReply current = post(6, {record_at(*key1, 50, absl::Now()), record_at(*key2, 51, absl::Now())});
  ASSERT_EQ(current.status, 200) << current.body;
  EXPECT_EQ(current.json.value("inserted", 0), 2);

  EXPECT_EQ(Expect(200, "GET", "/api/v1/measurements?limit=1000", op)["items"].size(), 6u);
}

TEST_P(ApiTest, BadInputIsRejectedWithTheRightCodeAndPath) {
  const int64_t org = CreateOrg("acme");
  const std::string op = CreateToken("ops", "operator", org);
  auto post = [&](const std::string& body, const std::string& type = "application/json") {
    return Call(port_, "POST", "/api/v1/licences", op, body, type);
  };
  HttpReply malformed = post("{\"reference\": ");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.json["error"].value("code", ""), "invalid_argument");
  EXPECT_EQ(post("[1,2]").status, 400);
  Json licence = {{"reference", "EL-1"}, {"holder", "Acme"},
                  {"model_caps", {{{"model", "H100"}, {"max_count", 1}}, {{"model", "H200"}, {"max_count", -1}}}},
                  {"valid_from", "2026-01-01T00:00:00Z"}, {"valid_until", "2027-01-01T00:00:00Z"}};
  HttpReply negative = post(licence.dump());
  EXPECT_EQ(negative.status, 400);
  EXPECT_EQ(negative.json["error"].value("message", ""), "licence.model_caps[1].max_count: must be >= 0");
  licence["model_caps"][1]["max_count"] = "many";
  EXPECT_TRUE(absl::StrContains(post(licence.dump()).json["error"].value("message", ""),
                                "licence.model_caps[1].max_count: expected an integer"));
  licence["model_caps"][1]["max_count"] = 2;
  licence.erase("holder");
  EXPECT_EQ(post(licence.dump()).json["error"].value("message", ""), "licence.holder: required field is missing");
  licence["holder"] = "Acme";
  licence["valid_from"] = "yesterday";
  EXPECT_TRUE(absl::StrContains(post(licence.dump()).json["error"].value("message", ""), "licence.valid_from"));
  licence["valid_from"] = "2026-01-01T00:00:00.250Z";
  EXPECT_EQ(post(licence.dump()).status, 201);
  EXPECT_EQ(post(licence.dump()).status, 409);  // reference taken
  // Deep nesting, wrong media type, oversized body.
  EXPECT_EQ(post(std::string(100, '[') + std::string(100, ']')).status, 400);
  HttpReply media = post(licence.dump(), "text/plain");
  EXPECT_EQ(media.status, 415);
  EXPECT_EQ(media.json["error"].value("code", ""), "unsupported_media_type");
  HttpReply big = post(std::string(2 << 20, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.json["error"].value("code", ""), "payload_too_large");
  // Unknown ids and malformed ids.
  EXPECT_EQ(Do("GET", "/api/v1/licences/999", op).status, 404);
  EXPECT_EQ(Do("GET", "/api/v1/licences/abc", op).status, 400);
  EXPECT_EQ(Do("GET", "/api/v1/devices?limit=100000", op).status, 400);
  EXPECT_EQ(Do("GET", "/api/v1/alerts?state=sleepy", op).status, 400);
  // The server still answers after all that.
  EXPECT_EQ(Do("GET", "/api/v1/health", "").status, 200);
}

TEST_P(ApiTest, AlertsAreScopedAndAcknowledgedByWritersOnly) {
  const int64_t org_a = CreateOrg("acme");
  const int64_t org_b = CreateOrg("globex");
  const std::string op_a = CreateToken("ops-a", "operator", org_a);
  const std::string op_b = CreateToken("ops-b", "operator", org_b);
  const std::string auditor = CreateToken("audit", "auditor");
  Alert alert;
  alert.organization_id = org_a;
  alert.type = "went_dark";
  alert.severity = AlertSeverity::kCritical;
  alert.subject = "GPU went dark";
  alert.evidence_json = R"({"last_seen":"2026-11-22T08:00:00Z"})";
  alert.created_at = absl::Now();
  auto stored = server_->store().CreateAlert(alert);
  ASSERT_TRUE(stored.ok()) << stored.status();
  const std::string path = absl::StrCat("/api/v1/alerts/", stored->id);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/alerts?state=open", op_a)["items"].size(), 1u);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/alerts?severity=info", op_a)["items"].size(), 0u);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/alerts", op_b)["items"].size(), 0u);
  EXPECT_EQ(Do("GET", path, op_b).status, 404);
  EXPECT_EQ(Expect(200, "GET", path, auditor)["evidence"].value("last_seen", ""), "2026-11-22T08:00:00Z");
  EXPECT_EQ(Do("POST", path + "/acknowledge", auditor, {{"comment", "x"}}).status, 403);
  EXPECT_EQ(Do("POST", path + "/acknowledge", op_b, {{"comment", "x"}}).status, 404);
  Json acked = Expect(200, "POST", path + "/acknowledge", op_a, {{"comment", "site visit booked"}});
  EXPECT_EQ(acked.value("state", ""), "acknowledged");
  EXPECT_EQ(acked.value("acknowledged_by", ""), "ops-a");
  EXPECT_EQ(acked.value("acknowledge_comment", ""), "site visit booked");
  EXPECT_EQ(Do("POST", path + "/acknowledge", op_a, {{"comment", "again"}}).status, 409);
  Json overview = Expect(200, "GET", "/api/v1/overview", op_a);
  EXPECT_EQ(overview["alerts_open"].value("critical", -1), 0);
}

TEST_P(ApiTest, LandmarksAreManagedByAdmin) {
  TestLandmark l = CreateLandmark("sin-1");
  const std::string auditor = CreateToken("audit", "auditor");
  const std::string path = absl::StrCat("/api/v1/landmarks/", l.id);
  EXPECT_EQ(Do("PATCH", path, auditor, {{"status", "flagged"}}).status, 403);
  Json patched = Expect(200, "PATCH", path, admin_, {{"status", "flagged"}, {"status_reason", "inconsistent"}});
  EXPECT_EQ(patched.value("status", ""), "flagged");
  EXPECT_EQ(patched.value("status_reason", ""), "inconsistent");
  EXPECT_EQ(patched.value("wire_id", ""), crypto::HexEncode(l.wire_id));
  EXPECT_EQ(Do("PATCH", path, admin_, {{"latitude_deg", 91}}).status, 400);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/landmarks", auditor)["items"].size(), 1u);
}

TEST_P(ApiTest, StaticFilesWithSpaFallbackAndNoTraversal) {
  HttpReply index = Do("GET", "/", "");
  EXPECT_EQ(index.status, 200);
  EXPECT_TRUE(absl::StartsWith(index.content_type, "text/html"));
  EXPECT_TRUE(absl::StrContains(index.body, "Lightcone"));
  HttpReply js = Do("GET", "/assets/app.js", "");
  EXPECT_EQ(js.status, 200);
  EXPECT_TRUE(absl::StartsWith(js.content_type, "text/javascript"));
  HttpReply spa = Do("GET", "/devices/17", "");
  EXPECT_EQ(spa.status, 200);
  EXPECT_TRUE(absl::StrContains(spa.body, "Lightcone"));
  EXPECT_EQ(Do("GET", "/assets/missing.js", "").status, 404);
  HttpReply traversal = Do("GET", "/../secret.txt", "");
  EXPECT_FALSE(absl::StrContains(traversal.body, "outside the web root"));
  HttpReply encoded = Do("GET", "/assets/%2e%2e/%2e%2e/secret.txt", "");
  EXPECT_FALSE(absl::StrContains(encoded.body, "outside the web root"));
  // /api paths never fall back to the dashboard.
  EXPECT_EQ(Do("GET", "/api/v1/nothing", admin_).status, 404);
}

TEST_P(ApiTest, OpenApiDocumentListsExactlyTheRoutes) {
  Json doc = Expect(200, "GET", "/api/v1/openapi.json", "");
  std::set<std::string> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(c));
      documented.insert(upper + " " + path);
    }
  }
  std::set<std::string> served;
  for (const http::Route& route : server_->routes()) served.insert(route.method + " " + route.pattern);
  EXPECT_EQ(documented, served);
}

// A query time ("Z", no '+' to escape).
std::string At(absl::Time t) { return ApiTimeForTest(t); }

TEST_P(ApiTest, HealthHistoryIsSampledScopedAndValidated) {
  const Readers readers = CreateReaders();
  const std::string& op_a = readers.op_a;
  const std::string& op_b = readers.op_b;
  const std::string& auditor = readers.auditor;
  const std::string& agent = readers.agent_a;
  Json enrolled = Expect(200, "POST", "/api/v1/enroll", agent,
                         {{"hostname", "node-1"},
                          {"devices", {{{"uuid", UuidOf(1, 1)}, {"model", "H100"}}}}});
  const int64_t device_id = enrolled["devices"][0].value("id", 0);
  const std::string path = absl::StrCat("/api/v1/devices/", device_id, "/telemetry");

  // Default interval 300 s: +0 kept, +60 thinned, +300 kept, +360 kept (XID changed).
  const absl::Time base = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - absl::Hours(1);
  auto post = [&](int64_t offset_s, double temperature_c, int64_t xid_count, int64_t last_xid) {
    EXPECT_EQ(Do("POST", "/api/v1/telemetry", agent,
                 {{"devices", {{{"uuid", UuidOf(1, 1)}, {"time", At(base + absl::Seconds(offset_s))},
                                {"temperature_c", temperature_c}, {"power_w", 400},
                                {"utilization_pct", 90}, {"ecc_uncorrected", 0},
                                {"xid_count", xid_count}, {"last_xid", last_xid}}}}})
                  .status,
              204);
  };
  post(0, 60, 0, 0);
  post(60, 61, 0, 0);
  post(300, 62, 0, 0);
  post(360, 63, 1, 79);

  Json history = Expect(200, "GET", path, op_a);  // Defaults: the last 24 h.
  EXPECT_EQ(history.value("device_id", 0), device_id);
  EXPECT_EQ(history.value("sample_interval_s", 0), 300);
  EXPECT_FALSE(history.value("truncated", true));
  ASSERT_EQ(history["items"].size(), 3u) << history.dump();
  EXPECT_EQ(history["items"][0].value("time", ""), ApiTimeForTest(base));
  EXPECT_DOUBLE_EQ(history["items"][1].value("temperature_c", 0.0), 62);
  EXPECT_EQ(history["items"][2].value("xid_count", 0), 1);
  EXPECT_EQ(history["items"][2].value("last_xid", 0), 79);
  EXPECT_DOUBLE_EQ(history["items"][2].value("power_w", 0.0), 400);
  EXPECT_DOUBLE_EQ(history["items"][2].value("utilization_pct", 0.0), 90);
  EXPECT_FALSE(history["items"][2].contains("device_id"));
  // The latest health is the newest report, thinned or not.
  EXPECT_DOUBLE_EQ(Expect(200, "GET", absl::StrCat("/api/v1/devices/", device_id), op_a)
                       ["telemetry"].value("temperature_c", 0.0),
                   63);

  // A range and a limit: the newest `limit`, oldest first, truncated.
  const std::string range = absl::StrCat("?since=", At(base + absl::Seconds(1)),
                                         "&until=", At(base + absl::Seconds(400)));
  Json ranged = Expect(200, "GET", path + range, auditor);
  ASSERT_EQ(ranged["items"].size(), 2u);
  EXPECT_EQ(ranged.value("since", ""), ApiTimeForTest(base + absl::Seconds(1)));
  EXPECT_FALSE(ranged.value("truncated", true));
  Json limited = Expect(200, "GET", path + "?limit=1", admin_);
  ASSERT_EQ(limited["items"].size(), 1u);
  EXPECT_TRUE(limited.value("truncated", false));
  EXPECT_EQ(limited["items"][0].value("xid_count", 0), 1);
  // The device's UUID names it too.
  EXPECT_EQ(Expect(200, "GET", absl::StrCat("/api/v1/devices/", UuidOf(1, 1), "/telemetry"), op_a)
                ["items"].size(),
            3u);
  // Before any sample: empty.
  EXPECT_EQ(Expect(200, "GET", path + "?until=" + At(base - absl::Seconds(1)), op_a)["items"].size(),
            0u);

  // Roles and scope.
  EXPECT_EQ(Do("GET", path, op_b).status, 404);
  EXPECT_EQ(Do("GET", path, agent).status, 403);
  EXPECT_EQ(Do("GET", absl::StrCat("/api/v1/devices/", device_id + 100, "/telemetry"), admin_).status,
            404);
  // Bad parameters.
  for (const std::string& query : std::vector<std::string>{
           "?since=yesterday", "?until=2026-13-01T00:00:00Z", "?limit=0", "?limit=10001",
        "?limit=ten", "?limit=-5", "?since=infinite-past", "?until=infinite-future",
        "?since=0001-01-01T00:00:00Z", "?until=2263-01-01T00:00:00Z",
        absl::StrCat("?since=", At(base + absl::Seconds(10)), "&until=", At(base))}) {
    HttpReply bad = Do("GET", path + query, op_a);
    EXPECT_EQ(bad.status, 400) << query << ": " << bad.body;
    EXPECT_EQ(bad.json["error"].value("code", ""), "invalid_argument") << query;
  }
  EXPECT_EQ(Do("GET", path + "?limit=10000", op_a).status, 200);
  // A report dated more than kMaxTelemetryClockAheadOfServer ahead is refused, whole.
  HttpReply future = Do("POST", "/api/v1/telemetry", agent,
                        {{"devices", {{{"uuid", UuidOf(1, 1)},
                                       {"time", At(absl::Now() + absl::Hours(1))},
                                       {"temperature_c", 99}}}}});
  EXPECT_EQ(future.status, 400) << future.body;
  EXPECT_TRUE(absl::StrContains(future.body, "devices[0].time")) << future.body;
  EXPECT_DOUBLE_EQ(Expect(200, "GET", absl::StrCat("/api/v1/devices/", device_id), op_a)
                       ["telemetry"].value("temperature_c", 0.0),
                   63);
}

// A GPU whose UUID is enrolled by another organization moves there (the identity
// reappearance detectors see it); it must not bring its history along: the new
// organization's operator sees only what happened since the move, fleet-wide readers all.
TEST_P(ApiTest, AMovedGpuBringsNoHistoryIntoItsNewOrganization) {
  const Readers readers = CreateReaders();
  const int64_t org_b =
      Expect(200, "GET", "/api/v1/whoami", readers.op_b).value("organization_id", int64_t{0});
  ASSERT_GT(org_b, 0);
  const std::string agent_b = CreateToken("agent-b", "agent", org_b);
  auto enroll = [&](const std::string& agent, const std::string& hostname) {
    return Expect(200, "POST", "/api/v1/enroll", agent,
                  {{"hostname", hostname},
                   {"devices", {{{"uuid", UuidOf(1, 1)}, {"model", "H100"}}}}});
  };
  auto report = [&](const std::string& agent, absl::Time t, double temperature_c) {
    EXPECT_EQ(Do("POST", "/api/v1/telemetry", agent,
                 {{"devices", {{{"uuid", UuidOf(1, 1)}, {"time", At(t)},
                                {"temperature_c", temperature_c}}}}})
                  .status,
              204);
  };
  const int64_t device_id = enroll(readers.agent_a, "node-a")["devices"][0].value("id", 0);
  const std::string device = absl::StrCat("/api/v1/devices/", device_id);
  const std::string window = absl::StrCat("?since=", At(absl::Now() - absl::Hours(2)));
  report(readers.agent_a, absl::Now() - absl::Minutes(10), 61);
  ASSERT_EQ(Expect(200, "GET", device + "/telemetry" + window, readers.op_a)["items"].size(), 1u);

  enroll(agent_b, "node-b");  // the move
  EXPECT_EQ(Do("GET", device + "/telemetry", readers.op_a).status, 404);
  EXPECT_EQ(Expect(200, "GET", device + "/telemetry" + window, readers.op_b)["items"].size(), 0u);
  EXPECT_TRUE(Expect(200, "GET", device, readers.op_b)["telemetry"].is_null());
  Json events_b = Expect(200, "GET", device + "/events", readers.op_b);
  ASSERT_EQ(events_b["items"].size(), 1u) << events_b.dump();
  EXPECT_EQ(events_b["items"][0].value("kind", ""), "host_changed");
  // Fleet-wide readers see the whole history.
  EXPECT_EQ(Expect(200, "GET", device + "/telemetry" + window, readers.auditor)["items"].size(), 1u);
  EXPECT_EQ(Expect(200, "GET", device + "/events", admin_)["items"].size(), 2u);
  // What happens after the move is the new organization's.
  report(agent_b, absl::Now(), 55);
  Json after = Expect(200, "GET", device + "/telemetry" + window, readers.op_b);
  ASSERT_EQ(after["items"].size(), 1u);
  EXPECT_DOUBLE_EQ(after["items"][0].value("temperature_c", 0.0), 55);
  EXPECT_DOUBLE_EQ(Expect(200, "GET", device, readers.op_b)["telemetry"].value("temperature_c", 0.0),
                   55);
}

// The device list agrees with GET /devices/{id}: a GPU that moved into the caller's
// organization shows no verdict from before the move (nor matches ?verdict= by it) until a
// verdict is written in its new organization; its old organization's GPUs keep theirs.
TEST_P(ApiTest, TheDeviceListHidesVerdictsFromBeforeAMoveIn) {
  const Readers readers = CreateReaders();
  const int64_t org_b =
      Expect(200, "GET", "/api/v1/whoami", readers.op_b).value("organization_id", int64_t{0});
  ASSERT_GT(org_b, 0);
  const std::string agent_b = CreateToken("agent-b", "agent", org_b);
  auto enroll = [&](const std::string& agent, const std::string& hostname,
                    const std::vector<int>& gpus) {
    Json list = Json::array();
    for (int i : gpus) list.push_back({{"uuid", UuidOf(1, i)}, {"model", "H100"}});
    Json j = Expect(200, "POST", "/api/v1/enroll", agent,
                    {{"hostname", hostname}, {"devices", list}});
    std::vector<int64_t> ids;
    for (const Json& d : j["devices"]) ids.push_back(d.value("id", int64_t{0}));
    return ids;
  };
  auto verdict = [&](int64_t device, absl::Time t, VerdictStatus status) {
    Verdict v;
    v.device_id = device;
    v.time = t;
    v.status = status;
    ASSERT_TRUE(server_->store().AppendVerdicts({v}).ok());
  };
  // GPUs 0-2 in a; GPU 3 in b from the start (never moved).
  const std::vector<int64_t> in_a = enroll(readers.agent_a, "node-a", {0, 1, 2});
  const std::vector<int64_t> in_b = enroll(agent_b, "node-b0", {3});
  ASSERT_EQ(in_a.size(), 3u);
  ASSERT_EQ(in_b.size(), 1u);
  const absl::Time before = absl::Now() - absl::Minutes(10);
  for (int64_t id : in_a) verdict(id, before, VerdictStatus::kCompliant);
  verdict(in_b[0], before, VerdictStatus::kViolation);

  enroll(agent_b, "node-b1", {1});  // GPU 1 moves to b.
  const int64_t moved = in_a[1];
  auto item_of = [&](const Json& list, int64_t id) {
    for (const Json& d : list["items"]) {
      if (d.value("id", int64_t{0}) == id) return d;
    }
    return Json(nullptr);
  };
  Json list_b = Expect(200, "GET", "/api/v1/devices", readers.op_b);
  ASSERT_EQ(list_b["items"].size(), 2u) << list_b.dump();
  EXPECT_TRUE(item_of(list_b, moved)["verdict"].is_null()) << list_b.dump();
  EXPECT_EQ(item_of(list_b, in_b[0])["verdict"].value("status", ""), "violation");
  // The same as the single-device read.
  EXPECT_TRUE(Expect(200, "GET", absl::StrCat("/api/v1/devices/", moved), readers.op_b)["verdict"]
                  .is_null());
  // Filters see what the caller sees.
  Json none_b = Expect(200, "GET", "/api/v1/devices?verdict=none", readers.op_b);
  ASSERT_EQ(none_b["items"].size(), 1u) << none_b.dump();
  EXPECT_EQ(none_b["items"][0].value("id", int64_t{0}), moved);
  EXPECT_EQ(Expect(200, "GET", "/api/v1/devices?verdict=compliant", readers.op_b)["items"].size(),
            0u);
  // Small pages: the moved GPU alone on its page is still hidden.
  Json paged = Expect(200, "GET", "/api/v1/devices?limit=1", readers.op_b);
  ASSERT_EQ(paged["items"].size(), 1u);
  EXPECT_EQ(paged["items"][0].value("id", int64_t{0}), moved);
  EXPECT_TRUE(paged["items"][0]["verdict"].is_null());
  // The old organization keeps its other GPUs' verdicts; fleet-wide readers see everything.
  Json list_a = Expect(200, "GET", "/api/v1/devices", readers.op_a);
  ASSERT_EQ(list_a["items"].size(), 2u);
  for (const Json& d : list_a["items"]) EXPECT_EQ(d["verdict"].value("status", ""), "compliant");
  EXPECT_EQ(item_of(Expect(200, "GET", "/api/v1/devices", readers.auditor), moved)["verdict"]
                .value("status", ""),
            "compliant");
  // A verdict written in the new organization shows.
  verdict(moved, absl::Now() + absl::Seconds(1), VerdictStatus::kUnproven);
  EXPECT_EQ(item_of(Expect(200, "GET", "/api/v1/devices", readers.op_b), moved)["verdict"]
                .value("status", ""),
            "unproven");
}

TEST_P(ApiTest, LicenceHistoryCountsEachGpuUnderTheLicenceOfItsLatestVerdict) {
  const Readers readers = CreateReaders();
  const std::string& op_a = readers.op_a;
  const std::string& op_b = readers.op_b;
  const std::string& auditor = readers.auditor;
  const std::string& agent = readers.agent_a;
  auto licence = [&](const std::string& reference) {
    return Expect(201, "POST", "/api/v1/licences", op_a,
                  {{"reference", reference}, {"holder", "Acme"},
                   {"allowed_countries", {"SG"}},
                   {"valid_from", "2026-01-01T00:00:00Z"}, {"valid_until", "2030-01-01T00:00:00Z"}})
        .value("id", int64_t{0});
  };
  const int64_t l1 = licence("EL-1");
  const int64_t l2 = licence("EL-2");
  Json list = Json::array();
  for (int i = 0; i < 3; ++i) list.push_back({{"uuid", UuidOf(1, i)}, {"model", "H100"}});
  Json enrolled = Expect(200, "POST", "/api/v1/enroll", agent,
                         {{"hostname", "node-1"}, {"devices", list}});
  std::vector<int64_t> ids;
  for (const Json& d : enrolled["devices"]) ids.push_back(d.value("id", int64_t{0}));
  ASSERT_EQ(ids.size(), 3u);

  const absl::Time base = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - absl::Hours(2);
  auto verdict = [&](int64_t device, int64_t offset_s, VerdictStatus status, int64_t licence_id) {
    Verdict v;
    v.device_id = device;
    v.time = base + absl::Seconds(offset_s);
    v.status = status;
    v.licence_id = licence_id;
    return v;
  };
  ASSERT_TRUE(server_->store()
                  .AppendVerdicts({
                      verdict(ids[0], -50, VerdictStatus::kCompliant, l1),   // before since
                      verdict(ids[1], 50, VerdictStatus::kCompliant, l1),
                      verdict(ids[2], 120, VerdictStatus::kUnproven, l2),    // another licence
                      verdict(ids[0], 150, VerdictStatus::kViolation, l1),
                      verdict(ids[1], 250, VerdictStatus::kCompliant, l2),   // moved away
                      verdict(ids[2], 310, VerdictStatus::kUnproven, l1),    // moved in
                  })
                  .ok());
  const std::string path = absl::StrCat("/api/v1/licences/", l1, "/history");
  const std::string range = absl::StrCat("?since=", At(base), "&until=", At(base + absl::Seconds(400)));
  Json history = Expect(200, "GET", path + range + "&bucket_s=100", op_a);
  EXPECT_EQ(history.value("licence_id", 0), l1);
  EXPECT_EQ(history.value("bucket_s", 0), 100);
  EXPECT_EQ(history.value("since", ""), ApiTimeForTest(base));
  EXPECT_EQ(history.value("until", ""), ApiTimeForTest(base + absl::Seconds(400)));
  ASSERT_EQ(history["items"].size(), 4u) << history.dump();
  const std::vector<std::array<int, 3>> expected = {{2, 0, 0}, {1, 1, 0}, {0, 1, 0}, {0, 1, 1}};
  for (size_t k = 0; k < expected.size(); ++k) {
    const Json& item = history["items"][k];
    EXPECT_EQ(item.value("time", ""), ApiTimeForTest(base + absl::Seconds(100 * (k + 1))));
    EXPECT_EQ(item.value("compliant", -1), expected[k][0]) << "instant " << k;
    EXPECT_EQ(item.value("violation", -1), expected[k][1]) << "instant " << k;
    EXPECT_EQ(item.value("unproven", -1), expected[k][2]) << "instant " << k;
  }
  // The other licence sees the moves the other way.
  Json other = Expect(200, "GET", absl::StrCat("/api/v1/licences/", l2, "/history", range,
                                               "&bucket_s=100"), auditor);
  ASSERT_EQ(other["items"].size(), 4u);
  EXPECT_EQ(other["items"][1].value("unproven", -1), 1);   // GPU 3 at +200
  EXPECT_EQ(other["items"][2].value("compliant", -1), 1);  // GPU 2 at +300
  EXPECT_EQ(other["items"][3].value("unproven", -1), 0);   // GPU 3 moved to EL-1

  // Default bucket: (until - since) / 100, at least 60 s.
  Json coarse = Expect(200, "GET", path + range, admin_);
  EXPECT_EQ(coarse.value("bucket_s", 0), 60);
  EXPECT_EQ(coarse["items"].size(), 6u);
  // Default range: the last 7 days (the licence is older), 100 instants.
  Json week = Expect(200, "GET", path, op_a);
  EXPECT_EQ(week.value("bucket_s", 0), 7 * 24 * 3600 / 100);
  ASSERT_EQ(week["items"].size(), 100u);
  EXPECT_EQ(week["items"][99].value("violation", -1), 1);
  EXPECT_EQ(week["items"][99].value("unproven", -1), 1);
  // At most 1,000 instants.
  const std::string thousand = absl::StrCat("?since=", At(base), "&until=",
                                            At(base + absl::Seconds(1'000)), "&bucket_s=1");
  EXPECT_EQ(Expect(200, "GET", path + thousand, op_a)["items"].size(), 1'000u);
  const std::string too_many = absl::StrCat("?since=", At(base), "&until=",
                                            At(base + absl::Seconds(1'001)), "&bucket_s=1");
  EXPECT_EQ(Do("GET", path + too_many, op_a).status, 400);

  // Verdict objects carry their licence.
  Json verdicts = Expect(200, "GET", absl::StrCat("/api/v1/devices/", ids[1], "/verdicts"), op_a);
  ASSERT_EQ(verdicts["items"].size(), 2u);
  EXPECT_EQ(verdicts["items"][0].value("licence_id", 0), l1);
  EXPECT_EQ(verdicts["items"][1].value("licence_id", 0), l2);
  EXPECT_EQ(Expect(200, "GET", absl::StrCat("/api/v1/devices/", ids[0]), op_a)["verdict"]
                .value("licence_id", 0),
            l1);

  // Roles and scope.
  EXPECT_EQ(Do("GET", path, op_b).status, 404);
  EXPECT_EQ(Do("GET", path, agent).status, 403);
  EXPECT_EQ(Do("GET", absl::StrCat("/api/v1/licences/", l1 + l2 + 10, "/history"), admin_).status,
            404);
  for (const std::string& query : std::vector<std::string>{
           "?bucket_s=0", "?bucket_s=abc", "?bucket_s=-60", "?since=last-week",
        "?until=2026-13-01T00:00:00Z",
        absl::StrCat("?since=", At(base), "&until=", At(base)),
        absl::StrCat("?since=", At(base + absl::Seconds(5)), "&until=", At(base))}) {
    HttpReply bad = Do("GET", path + query, op_a);
    EXPECT_EQ(bad.status, 400) << query << ": " << bad.body;
    EXPECT_EQ(bad.json["error"].value("code", ""), "invalid_argument") << query;
  }
}

// The streamed sweep against a brute-force count: GPUs moving between three licences (and
// none), verdicts at random times (some on instants, some before ?since or after ?until),
// several rounds, two bucket sizes, every licence.
TEST_P(ApiTest, LicenceHistoryMatchesABruteForceCountOnARandomHistory) {
  const Readers readers = CreateReaders();
  std::vector<int64_t> licences;
  for (int i = 0; i < 3; ++i) {
    licences.push_back(Expect(201, "POST", "/api/v1/licences", readers.op_a,
                              {{"reference", absl::StrCat("EL-R", i)}, {"holder", "Acme"},
                               {"allowed_countries", {"SG"}},
                               {"valid_from", "2026-01-01T00:00:00Z"},
                               {"valid_until", "2030-01-01T00:00:00Z"}})
                           .value("id", int64_t{0}));
  }
  Json list = Json::array();
  for (int i = 0; i < 8; ++i) list.push_back({{"uuid", UuidOf(1, i)}, {"model", "H100"}});
  Json enrolled = Expect(200, "POST", "/api/v1/enroll", readers.agent_a,
                         {{"hostname", "node-r"}, {"devices", list}});
  std::vector<int64_t> ids;
  for (const Json& d : enrolled["devices"]) ids.push_back(d.value("id", int64_t{0}));
  ASSERT_EQ(ids.size(), 8u);

  const absl::Time base = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - absl::Hours(3);
  constexpr int64_t kRangeS = 2'000;
  std::vector<Verdict> all;
  std::vector<std::set<int64_t>> used_times(ids.size());  // No two verdicts of a GPU at once.
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    std::mt19937 random(seed);
    auto uniform = [&](int64_t lo, int64_t hi) {
      return std::uniform_int_distribution<int64_t>(lo, hi)(random);
    };
    std::vector<Verdict> round;
    for (size_t d = 0; d < ids.size(); ++d) {
      const int64_t count = uniform(0, 25);
      for (int64_t i = 0; i < count; ++i) {
        int64_t offset_s = uniform(-600, kRangeS + 400);
        if (uniform(0, 4) == 0) offset_s -= offset_s % 100;  // On an instant of bucket 100.
        if (!used_times[d].insert(offset_s).second) continue;
        Verdict v;
        v.device_id = ids[d];
        v.time = base + absl::Seconds(offset_s);
        v.status = static_cast<VerdictStatus>(uniform(0, 2));
        const int64_t pick = uniform(0, 3);
        v.licence_id = pick == 3 ? 0 : licences[pick];
        round.push_back(v);
      }
    }
    ASSERT_TRUE(server_->store().AppendVerdicts(round).ok());
    all.insert(all.end(), round.begin(), round.end());

    for (const int64_t licence : licences) {
      for (const int64_t bucket_s : {int64_t{100}, int64_t{7}}) {
        const std::string path =
            absl::StrCat("/api/v1/licences/", licence, "/history?since=", At(base),
                         "&until=", At(base + absl::Seconds(kRangeS)), "&bucket_s=", bucket_s);
        Json history = Expect(200, "GET", path, readers.op_a);
        const int64_t instants = kRangeS / bucket_s;
        ASSERT_EQ(history["items"].size(), static_cast<size_t>(instants)) << path;
        for (int64_t k = 1; k <= instants; ++k) {
          const absl::Time instant = base + absl::Seconds(k * bucket_s);
          std::array<int64_t, 3> expected = {0, 0, 0};  // compliant, violation, unproven
          for (const int64_t device : ids) {
            const Verdict* latest = nullptr;
            for (const Verdict& v : all) {
              if (v.device_id == device && v.time <= instant &&
                  (latest == nullptr || v.time > latest->time)) {
                latest = &v;
              }
            }
            if (latest == nullptr || latest->licence_id != licence) continue;
            ++expected[latest->status == VerdictStatus::kCompliant   ? 0
                       : latest->status == VerdictStatus::kViolation ? 1
                                                                      : 2];
          }
          const Json& item = history["items"][k - 1];
          ASSERT_EQ(item.value("time", ""), ApiTimeForTest(instant));
          EXPECT_EQ(item.value("compliant", int64_t{-1}), expected[0])
              << "seed " << seed << " licence " << licence << " bucket " << bucket_s << " k " << k;
          EXPECT_EQ(item.value("violation", int64_t{-1}), expected[1])
              << "seed " << seed << " licence " << licence << " bucket " << bucket_s << " k " << k;
          EXPECT_EQ(item.value("unproven", int64_t{-1}), expected[2])
              << "seed " << seed << " licence " << licence << " bucket " << bucket_s << " k " << k;
        }
      }
    }
  }
  ASSERT_GT(all.size(), 100u);
}

// The read holds the store's reader connection: it is bounded in time, and a request past the
// bound is 503 naming it (a shorter range is the remedy), not an unbounded wait.
TEST_P(ApiTest, LicenceHistoryPastItsTimeLimitIs503) {
  const Readers readers = CreateReaders();
  const int64_t licence =
      Expect(201, "POST", "/api/v1/licences", readers.op_a,
             {{"reference", "EL-T"}, {"holder", "Acme"}, {"allowed_countries", {"SG"}},
              {"valid_from", "2026-01-01T00:00:00Z"}, {"valid_until", "2030-01-01T00:00:00Z"}})
          .value("id", int64_t{0});
  const std::string path = absl::StrCat("/api/v1/licences/", licence, "/history");
  EXPECT_EQ(Expect(200, "GET", path, readers.op_a)["items"].size(), 100u);
  options_.licence_history_time_limit = absl::ZeroDuration();
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  HttpReply slow = Do("GET", path, readers.op_a);
  EXPECT_EQ(slow.status, 503) << slow.body;
  EXPECT_TRUE(absl::StrContains(slow.body, "choose a shorter range")) << slow.body;
  // Other reads are unaffected.
  EXPECT_EQ(Do("GET", absl::StrCat("/api/v1/licences/", licence), readers.op_a).status, 200);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ApiTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& test_info) { return test_info.param; });

TEST(ApiTlsTest, ServesHttpsWithTheConfiguredCertificate) {
  const std::string dir = TempDir("api_tls");
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  ASSERT_TRUE(testing::WriteSelfSignedCert(cert, key));
  ServerOptions options;
  options.db = "sqlite:" + dir + "/fleet.db";
  options.tls_cert_path = cert;
  options.tls_key_path = key;
  auto server = Server::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->Start().ok());
  EXPECT_TRUE((*server)->tls());
  HttpReply health = Call((*server)->port(), "GET", "/api/v1/health", "", "", "application/json", cert);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json.value("status", ""), "ok");
  // Plain HTTP to the TLS port gets no API answer.
  EXPECT_NE(Call((*server)->port(), "GET", "/api/v1/health", "").status, 200);
  // A client trusting another certificate refuses the server.
  const std::string other_cert = dir + "/other.pem", other_key = dir + "/other-key.pem";
  ASSERT_TRUE(testing::WriteSelfSignedCert(other_cert, other_key));
  EXPECT_EQ(Call((*server)->port(), "GET", "/api/v1/health", "", "", "application/json", other_cert).status, 0);
  (*server)->Stop();
  // Missing key file: a clear error.
  options.tls_key_path = dir + "/missing.pem";
  EXPECT_EQ(Server::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lightcone::server
