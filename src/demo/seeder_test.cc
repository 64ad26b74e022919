#include "demo/seeder.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/crypto.h"
#include "core/wire.h"
#include "gtest/gtest.h"
#include "server/store/sqlite_store.h"

namespace lightcone::demo {
namespace {

const std::string kShipped = std::string(LIGHTCONE_SOURCE_DIR) + "/scenarios/ghost-datacenter.toml";

// The shipped scenario scaled to about `gpus` GPUs, as a world.
absl::StatusOr<World> ShippedWorld(int gpus) {
  absl::StatusOr<Scenario> scenario = LoadScenario(kShipped);
  if (!scenario.ok()) return scenario.status();
  const absl::Status scaled = ScaleScenario(gpus, &*scenario);
  if (!scaled.ok()) return scaled;
  return World::Build(*scenario, LatencyModel::Default(scenario->seed));
}

class SeederTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/demo_seeder_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    server::SqliteStoreOptions o;
    o.path = dir_ + "/fleet.db";
    o.synchronous_full = false;
    auto store = server::OpenSqliteStore(o);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::unique_ptr<server::Store> store_;
};

// The shipped episode, written as a snapshot, raises exactly the expected alerts, no alert on
// an honest GPU, and the diverted GPUs are never compliant after they reappear.
TEST_F(SeederTest, GhostDatacenterEpisodeRaisesExactlyTheExpectedAlerts) {
  absl::StatusOr<Scenario> scenario = LoadScenario(kShipped);
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  absl::StatusOr<World> world = World::Build(*scenario, LatencyModel::Default(scenario->seed));
  ASSERT_TRUE(world.ok()) << world.status();
  absl::StatusOr<SeedResult> r = SeedStore(*store_, *world, SeedOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  std::printf("%s\n", r->summary.dump(2).c_str());
  EXPECT_TRUE(r->summary["passed"].get<bool>()) << r->summary.dump(2);
  EXPECT_TRUE(r->summary["unexpected"].empty());
  for (const auto& e : r->summary["expected"]) EXPECT_TRUE(e["met"].get<bool>()) << e.dump();
  EXPECT_EQ(r->summary["diverted"]["ever_compliant_after_diversion"].get<int>(), 0);
  EXPECT_GT(r->summary["diverted"]["devices"].get<int>(), 0);
  EXPECT_EQ(r->devices, scenario->TotalGpus());
  EXPECT_GT(r->summary["verdicts"]["compliant"].get<int>(), 0);
  EXPECT_TRUE(r->tokens.contains("admin"));
  EXPECT_TRUE(r->tokens.contains("operator"));
  EXPECT_TRUE(r->tokens.contains("auditor"));
  EXPECT_TRUE(r->tokens.contains("agent"));
  EXPECT_TRUE(r->tokens.contains("landmark"));
  // The token hash is stored, never the secret.
  auto token = store_->GetTokenBySecretHash(TokenHash(r->tokens["operator"].secret));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->role, server::Role::kOperator);
}

// Every stored measurement carries a reply signature that verifies with the device's bound
// key, over the device and landmark ids, and no RTT is below the vacuum bound of an honest
// landmark.
TEST_F(SeederTest, MeasurementsCarryRealSignatures) {
  absl::StatusOr<World> world = ShippedWorld(100);
  ASSERT_TRUE(world.ok()) << world.status();
  SeedOptions o;
  o.run_fleet = false;
  absl::StatusOr<SeedResult> r = SeedStore(*store_, *world, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->measurements, 0);
  auto landmarks = store_->ListLandmarks();
  ASSERT_TRUE(landmarks.ok());
  server::MeasurementFilter f;
  f.page.limit = 500;
  auto page = store_->ListMeasurements(f);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_FALSE(page->items.empty());
  int checked = 0;
  for (const server::Measurement& m : page->items) {
    auto d = store_->GetDevice(m.device_id);
    ASSERT_TRUE(d.ok());
    auto lm = store_->GetLandmark(m.landmark_id);
    ASSERT_TRUE(lm.ok());
    wire::Reply reply;
    auto id = wire::ParseId(d->uuid);
    ASSERT_TRUE(id.ok());
    reply.device_id = *id;
    ASSERT_TRUE(crypto::HexDecode(lm->wire_id, reply.landmark_id).ok());
    std::memcpy(reply.nonce.data(), m.nonce.data(), reply.nonce.size());
    reply.sequence = static_cast<uint64_t>(m.sequence);
    auto key_id = crypto::ParseKeyId(m.key_id);
    ASSERT_TRUE(key_id.ok());
    reply.key_id = *key_id;
    std::memcpy(reply.signature.data(), m.reply_signature.data(), reply.signature.size());
    crypto::PublicKey pk;
    ASSERT_EQ(d->key.public_key.size(), pk.size());
    std::memcpy(pk.data(), d->key.public_key.data(), pk.size());
    // A device that moved was rebound to a new key; its earlier replies carry the old one.
    if (m.key_id != d->key.key_id) continue;
    ++checked;
    EXPECT_EQ(crypto::FormatKeyId(crypto::ComputeKeyId(pk)), m.key_id);
    EXPECT_TRUE(wire::VerifyReply(reply, pk)) << m.key_id << " " << d->uuid << " " << lm->wire_id;
    reply.sequence += 1;
    EXPECT_FALSE(wire::VerifyReply(reply, pk));
  }
  EXPECT_GT(checked, 100);
}

// The dashboard's charts have data: every GPU that runs through the episode has a health
// history of dozens of samples (some with an XID or ECC event), and the licences' verdicts
// record the licence they were judged against.
TEST_F(SeederTest, GpusHaveHealthHistoryAndVerdictsTheirLicence) {
  absl::StatusOr<World> world = ShippedWorld(100);
  ASSERT_TRUE(world.ok()) << world.status();
  SeedOptions o;
  o.now = absl::FromUnixSeconds(1'795'000'000);
  absl::StatusOr<SeedResult> r = SeedStore(*store_, *world, o);
  ASSERT_TRUE(r.ok()) << r.status();
  server::DeviceFilter all;
  all.page.limit = server::kMaxPageSize;
  auto devices = store_->ListDevices(all);
  ASSERT_TRUE(devices.ok()) << devices.status();
  ASSERT_FALSE(devices->items.empty());
  size_t most = 0, most_last_day = 0;
  int with_xid = 0, with_ecc = 0, with_history = 0;
  for (const server::Device& d : devices->items) {
    auto history = store_->ListTelemetrySamples(d.id, r->episode_start, o.now, server::kMaxPageSize);
    ASSERT_TRUE(history.ok()) << history.status();
    auto last_day = store_->ListTelemetrySamples(d.id, o.now - absl::Hours(24), o.now,
                                                 server::kMaxPageSize);
    ASSERT_TRUE(last_day.ok());
    most = std::max(most, history->samples.size());
    most_last_day = std::max(most_last_day, last_day->samples.size());
    if (!history->samples.empty()) ++with_history;
    bool xid = false, ecc = false;
    for (const server::Telemetry& t : history->samples) {
      EXPECT_GT(t.temperature_c, 20);
      EXPECT_LT(t.temperature_c, 95);
      EXPECT_GE(t.utilization_pct, 0);
      EXPECT_LE(t.utilization_pct, 100);
      EXPECT_GT(t.power_w, 50);
      xid = xid || t.last_xid == 79;
      ecc = ecc || t.ecc_uncorrected > 0;
    }
    with_xid += xid;
    with_ecc += ecc;
  }
  std::printf("devices %zu, most samples %zu (last day %zu), with XID %d, with ECC %d\n",
              devices->items.size(), most, most_last_day, with_xid, with_ecc);
  EXPECT_EQ(with_history, static_cast<int>(devices->items.size()));
  EXPECT_GE(most, 50u);
  EXPECT_GE(most_last_day, 20u);
  EXPECT_GT(with_xid, 0);
  EXPECT_GT(with_ecc, 0);
  EXPECT_LT(with_xid + with_ecc, static_cast<int>(devices->items.size()) / 3);

  auto licences = store_->ListLicences(std::nullopt);
  ASSERT_TRUE(licences.ok());
  int64_t judged = 0;
  for (const server::Licence& l : *licences) {
    auto rows = store_->ListLicenceVerdictHistory(l.id, r->episode_start, o.now,
                                                  server::kMaxLicenceHistoryRows);
    ASSERT_TRUE(rows.ok()) << rows.status();
    for (const server::VerdictPoint& p : *rows) judged += p.licence_id == l.id;
  }
  EXPECT_GT(judged, static_cast<int64_t>(devices->items.size()));
}

TEST(Seeder, BadOptionsAreInvalidArgument) {
  absl::StatusOr<Scenario> scenario = LoadScenario(kShipped);
  ASSERT_TRUE(scenario.ok());
  absl::StatusOr<World> world = World::Build(*scenario, LatencyModel::Default());
  ASSERT_TRUE(world.ok());
  SeedOptions o;
  o.time_scale = 0;
  std::unique_ptr<server::Store> none;
  // The options are checked before the store is touched.
  server::SqliteStoreOptions so;
  so.path = "/tmp/demo_seeder_badopts.db";
  auto store = server::OpenSqliteStore(so);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(SeedStore(**store, *world, o).status().code(), absl::StatusCode::kInvalidArgument);
  std::filesystem::remove("/tmp/demo_seeder_badopts.db");
}

}  // namespace
}  // namespace lightcone::demo
