// FleetMonitor on a real SQLite store: verdicts, every detector firing on its pattern and
// staying silent on honest data, dedup across passes, resolution, the background loop.
#include "server/fleet/fleet_monitor.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/fleet/fleet_testing.h"
#include "server/store/postgres_store.h"
#include "server/store/testing/pg_test_server.h"

namespace lightcone::server::fleet {
namespace {

using ::testing::HasSubstr;
using testing::AddDevice;
using testing::DeviceSpec;
using testing::Measure;
using testing::TestNow;

std::shared_ptr<CountryAreaCache> Countries() {
  static std::shared_ptr<CountryAreaCache> cache = CountryAreaCache::LoadDefault();
  return cache;
}

// Every case runs on both store backends (the verdict loop's reads and bulk writes are SQL
// that differs between them): a fresh SQLite file, or a fresh database on the PostgreSQL
// server the tests start (server/store/testing).
class FleetMonitorTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      auto t = testing::TempSqliteStore::Create();
      ASSERT_TRUE(t.ok()) << t.status();
      temp_ = *std::move(t);
    } else {
      auto pg = server::testing::SharedPgTestServer();
      ASSERT_TRUE(pg.ok()) << pg.status();
      auto conninfo = (*pg)->CreateDatabase();
      ASSERT_TRUE(conninfo.ok()) << conninfo.status();
      PostgresStoreOptions options;
      options.conninfo = *conninfo;
      auto opened = OpenPostgresStore(options);
      ASSERT_TRUE(opened.ok()) << opened.status();
      pg_store_ = *std::move(opened);
    }
    auto w = testing::SeedWorld(store());
    ASSERT_TRUE(w.ok()) << w.status();
    world_ = *std::move(w);
  }

  Store& store() { return temp_ ? temp_->store() : *pg_store_; }

  Device Add(const std::string& name, DeviceSpec spec = {}) {
    spec.name = name;
    auto d = AddDevice(store(), world_, spec);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : Device{};
  }

  void MeasureAt(const Device& d, const testing::Place& where, absl::Time t,
                 const std::vector<int64_t>& overrides = {}) {
    ASSERT_TRUE(Measure(store(), world_, d.id, where, t, overrides).ok());
  }

  PassReport Pass(FleetMonitor& m, absl::Time now = TestNow()) {
    auto r = m.RunPass(now);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : PassReport{};
  }

  std::vector<Alert> Alerts(const std::string& type, std::optional<AlertState> state = std::nullopt) {
    AlertFilter f;
    f.type = type;
    f.state = state;
    f.page.limit = kMaxPageSize;
    auto page = store().ListAlerts(f);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->items : std::vector<Alert>{};
  }

  std::vector<Alert> AllAlerts() { return Alerts("", std::nullopt); }

  Verdict Latest(int64_t device_id) {
    auto v = store().LatestVerdict(device_id);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : Verdict{};
  }

  std::unique_ptr<FleetMonitor> Monitor(FleetMonitorOptions options = {}) {
    return std::make_unique<FleetMonitor>(&store(), options, Countries());
  }

  std::unique_ptr<testing::TempSqliteStore> temp_;  // the SQLite case
  std::unique_ptr<Store> pg_store_;                 // the PostgreSQL case
  testing::World world_;
};

TEST_P(FleetMonitorTest, HonestFleetIsCompliantAndRaisesNothing) {
  std::vector<Device> devices;
  for (int i = 0; i < 6; ++i) {
    devices.push_back(Add(absl::StrCat("honest-", i)));
    MeasureAt(devices.back(), testing::kSingaporeDc, TestNow() - absl::Minutes(10));
  }
  auto monitor = Monitor();
  PassReport r = Pass(*monitor);
  EXPECT_EQ(r.devices, 6);
  EXPECT_EQ(r.compliant, 6);
  EXPECT_EQ(r.verdicts_written, 6);
  EXPECT_EQ(r.alerts_raised, 0);
  EXPECT_TRUE(AllAlerts().empty());
  const Verdict v = Latest(devices[0].id);
  EXPECT_EQ(v.status, VerdictStatus::kCompliant);
  EXPECT_EQ(v.assurance, AssuranceLevel::kL1);
  EXPECT_EQ(v.robustness_f, 1);
  auto summary = nlohmann::json::parse(v.region_summary_json);
  EXPECT_EQ(summary["landmarks_used"], 16);
  // An unchanged fleet a minute later writes no verdicts and raises nothing.
  PassReport again = Pass(*monitor, TestNow() + absl::Minutes(1));
  EXPECT_EQ(again.verdicts_written, 0);
  EXPECT_EQ(again.alerts_raised, 0);
  // After verdict_refresh the verdicts are re-appended.
  PassReport later = Pass(*monitor, TestNow() + absl::Hours(2));
  EXPECT_EQ(later.verdicts_written, 6);
  EXPECT_EQ(later.compliant, 6);  // Still proven by measurements within the 24 h window...
  EXPECT_EQ(later.raised_by_type[kWentDark], 6);  // ... but silent for 2 h.
}

TEST_P(FleetMonitorTest, DivertedGpuIsViolationWithOneAlertAcrossPassesResolvedWhenBack) {
  Device honest = Add("honest");
  Device diverted = Add("diverted");
  MeasureAt(honest, testing::kSingaporeDc, TestNow() - absl::Minutes(10));
  MeasureAt(diverted, testing::kBeijingDc, TestNow() - absl::Minutes(10));
  auto monitor = Monitor();
  PassReport r = Pass(*monitor);
  EXPECT_EQ(r.compliant, 1);
  EXPECT_EQ(r.violation, 1);
  EXPECT_EQ(Latest(diverted.id).status, VerdictStatus::kViolation);
  std::vector<Alert> alerts = Alerts(kVerdictViolation);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].device_id, diverted.id);
  EXPECT_EQ(alerts[0].severity, AlertSeverity::kCritical);
  EXPECT_EQ(alerts[0].organization_id, world_.org.id);
  EXPECT_THAT(alerts[0].subject, HasSubstr("GPU-diverted"));
  auto evidence = nlohmann::json::parse(alerts[0].evidence_json);
  EXPECT_EQ(evidence["verdict_status"], "violation");
  EXPECT_EQ(evidence["dedup_key"], absl::StrCat("device:", diverted.id));
  // Dedup: later passes raise nothing new, even after acknowledgement.
  Pass(*monitor, TestNow() + absl::Minutes(1));
  ASSERT_TRUE(store().AcknowledgeAlert(alerts[0].id, "officer", "investigating",
                                       TestNow() + absl::Minutes(2)).ok());
  Pass(*monitor, TestNow() + absl::Minutes(3));
  EXPECT_EQ(Alerts(kVerdictViolation).size(), 1u);
  // The GPU comes back: a day later, new measurements from Singapore only.
  const absl::Time later = TestNow() + absl::Hours(25);
  MeasureAt(honest, testing::kSingaporeDc, later - absl::Minutes(5));
  MeasureAt(diverted, testing::kSingaporeDc, later - absl::Minutes(5));
  PassReport back = Pass(*monitor, later);
  EXPECT_EQ(back.compliant, 2);
  EXPECT_EQ(Alerts(kVerdictViolation, AlertState::kResolved).size(), 1u);
  EXPECT_GE(back.alerts_resolved, 1);
}

TEST_P(FleetMonitorTest, OneLyingLandmarkFlipsNothingAndIsReported) {
  // Landmark 3 (Hong Kong) reports 0.1 ms to every GPU.
  std::vector<int64_t> liar(16, -1);
  liar[3] = 100'000;
  std::vector<Device> honest;
  for (int i = 0; i < 5; ++i) {
    honest.push_back(Add(absl::StrCat("honest-", i)));
    MeasureAt(honest.back(), testing::kSingaporeDc, TestNow() - absl::Minutes(10), liar);
  }
  // And a Singapore landmark lies for a GPU in Beijing, pulling it "near" the site.
  std::vector<int64_t> sin_liar(16, -1);
  sin_liar[0] = 100'000;
  Device diverted = Add("diverted");
  MeasureAt(diverted, testing::kBeijingDc, TestNow() - absl::Minutes(10), sin_liar);

  FleetMonitorOptions options;
  options.detectors.landmarks.flag_landmark = true;
  auto monitor = Monitor(options);
  PassReport r = Pass(*monitor);
  for (const Device& d : honest) {
    EXPECT_NE(Latest(d.id).status, VerdictStatus::kViolation) << Latest(d.id).reason;
  }
  EXPECT_NE(Latest(diverted.id).status, VerdictStatus::kCompliant) << Latest(diverted.id).reason;
  std::vector<Alert> alerts = Alerts(kLandmarkInconsistent);
  ASSERT_EQ(alerts.size(), 1u);
  auto evidence = nlohmann::json::parse(alerts[0].evidence_json);
  EXPECT_EQ(evidence["landmark_id"], world_.landmarks[3].id);
  EXPECT_EQ(evidence["blamed_devices"], 5);
  // Flagged: the next pass ignores it and the honest GPUs are compliant.
  auto l = store().GetLandmark(world_.landmarks[3].id);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->status, LandmarkStatus::kFlagged);
  EXPECT_THAT(l->status_reason, HasSubstr("contradicts"));
  Pass(*monitor, TestNow() + absl::Minutes(1));
  for (const Device& d : honest) EXPECT_EQ(Latest(d.id).status, VerdictStatus::kCompliant);
  EXPECT_EQ(Alerts(kLandmarkInconsistent).size(), 1u);
}

TEST_P(FleetMonitorTest, HonestDataRaisesNoLandmarkAlert) {
  for (int i = 0; i < 5; ++i) {
    Device d = Add(absl::StrCat("honest-", i));
    MeasureAt(d, testing::kSingaporeDc, TestNow() - absl::Minutes(10));
  }
  auto monitor = Monitor();
  Pass(*monitor);
  EXPECT_TRUE(Alerts(kLandmarkInconsistent).empty());
}

TEST_P(FleetMonitorTest, WentDarkFiresForSilentLicensedGpuAndResolvesWhenHeard) {
  Device silent = Add("silent", {.last_seen = TestNow() - absl::Hours(3)});
  MeasureAt(silent, testing::kSingaporeDc, TestNow() - absl::Hours(3));
  Device fine = Add("fine");
  MeasureAt(fine, testing::kSingaporeDc, TestNow() - absl::Minutes(5));
  auto monitor = Monitor();
  Pass(*monitor);
  std::vector<Alert> dark = Alerts(kWentDark);
  ASSERT_EQ(dark.size(), 1u);
  EXPECT_EQ(dark[0].device_id, silent.id);
  auto evidence = nlohmann::json::parse(dark[0].evidence_json);
  EXPECT_EQ(evidence["silent_for_s"], 3 * 3600);
  // Heard again: resolved.
  MeasureAt(silent, testing::kSingaporeDc, TestNow() + absl::Minutes(1));
  Pass(*monitor, TestNow() + absl::Minutes(2));
  EXPECT_EQ(Alerts(kWentDark, AlertState::kResolved).size(), 1u);
  EXPECT_TRUE(Alerts(kWentDark, AlertState::kOpen).empty());
}

TEST_P(FleetMonitorTest, CohortDarkFiresForYoungGpusGoingDarkTogether) {
  // A new site: 8 GPUs first seen 3 days ago, silent for 4-6 hours.
  Site ghost_site;
  ghost_site.organization_id = world_.org.id;
  ghost_site.name = "GHOST-1";
  ghost_site.latitude_deg = 1.35;
  ghost_site.longitude_deg = 103.8;
  ghost_site.radius_km = 30;
  ghost_site.country = "SG";
  auto site = store().CreateSite(ghost_site);
  ASSERT_TRUE(site.ok());
  Host host;
  host.organization_id = world_.org.id;
  host.hostname = "ghost-node";
  host.site_id = site->id;
  host.first_seen = TestNow() - absl::Hours(72);
  host.last_seen = TestNow() - absl::Hours(6);
  auto h = store().CreateHost(host);
  ASSERT_TRUE(h.ok());
  for (int i = 0; i < 8; ++i) {
    const absl::Time heard = TestNow() - absl::Hours(4) - absl::Minutes(15 * i);
    Device d = Add(absl::StrCat("ghost-", i), {.host_id = h->id,
                                                .first_seen = TestNow() - absl::Hours(72),
                                                .last_seen = heard});
    MeasureAt(d, testing::kSingaporeDc, heard);
  }
  // An old fleet of 8 going dark together is a went_dark matter, not a ghost data center.
  for (int i = 0; i < 8; ++i) {
    Add(absl::StrCat("old-", i), {.first_seen = TestNow() - absl::Hours(24 * 200),
                                  .last_seen = TestNow() - absl::Hours(5)});
  }
  auto monitor = Monitor();
  Pass(*monitor);
  std::vector<Alert> cohort = Alerts(kCohortDark);
  ASSERT_EQ(cohort.size(), 1u);
  EXPECT_THAT(cohort[0].subject, HasSubstr("8 GPUs of site GHOST-1"));
  auto evidence = nlohmann::json::parse(cohort[0].evidence_json);
  EXPECT_EQ(evidence["count"], 8);
  EXPECT_EQ(evidence["group"], absl::StrCat("site:", site->id));
  EXPECT_EQ(Alerts(kWentDark).size(), 16u);
  Pass(*monitor, TestNow() + absl::Minutes(1));
  EXPECT_EQ(Alerts(kCohortDark).size(), 1u);
  // The earliest GPU's last-heard time moves (a late telemetry report): the cohort's
  // first_dark, and so its dedup key, changes, but it is the same cohort: still one alert.
  auto devices = store().ListDevices(DeviceFilter{.host_id = h->id});
  ASSERT_TRUE(devices.ok()) << devices.status();
  Device earliest;
  for (const Device& d : devices->items) {
    if (earliest.id == 0 || d.last_seen < earliest.last_seen) earliest = d;
  }
  earliest.last_seen += absl::Minutes(20);
  ASSERT_TRUE(store().UpdateDevice(earliest).ok());
  PassReport moved = Pass(*monitor, TestNow() + absl::Minutes(2));
  EXPECT_EQ(moved.raised_by_type[kCohortDark], 0);
  EXPECT_EQ(Alerts(kCohortDark).size(), 1u);
  // A restarted monitor reads the open alert back and does not raise it again either.
  auto restarted = Monitor();
  Pass(*restarted, TestNow() + absl::Minutes(3));
  EXPECT_EQ(Alerts(kCohortDark).size(), 1u);
}

TEST_P(FleetMonitorTest, IdentityReappearanceFromHostChangeAndDuplicateSerial) {
  Device moved = Add("moved");
  Device honest = Add("honest");
  Host other;
  other.organization_id = world_.org.id;
  other.hostname = "elsewhere";
  other.first_seen = TestNow() - absl::Hours(1);
  other.last_seen = TestNow() - absl::Minutes(30);
  auto h = store().CreateHost(other);
  ASSERT_TRUE(h.ok());
  DeviceEvent e;
  e.device_id = moved.id;
  e.time = TestNow() - absl::Minutes(30);
  e.kind = "host_changed";
  e.host_id = h->id;
  e.organization_id = world_.org.id;
  e.details_json = nlohmann::json{{"from_host_id", world_.host.id},
                                  {"from_organization_id", world_.org.id},
                                  {"to_host_id", h->id}}
                       .dump();
  ASSERT_TRUE(store().AppendDeviceEvent(e).ok());
  moved.host_id = h->id;
  ASSERT_TRUE(store().UpdateDevice(moved).ok());
  // A second record with the honest GPU's serial, on the other host.
  Add("clone", {.serial = "honest", .host_id = h->id});

  auto monitor = Monitor();
  Pass(*monitor);
  std::vector<Alert> alerts = Alerts(kIdentityReappearance);
  ASSERT_EQ(alerts.size(), 2u);
  int host_changes = 0, serials = 0;
  for (const Alert& a : alerts) {
    auto ev = nlohmann::json::parse(a.evidence_json);
    if (ev["identity"] == "uuid") {
      ++host_changes;
      EXPECT_EQ(a.device_id, moved.id);
      EXPECT_THAT(a.subject, HasSubstr("reappeared on elsewhere (was on gpu-node-1)"));
    } else {
      ++serials;
      EXPECT_EQ(ev["identity"], "serial");
      EXPECT_EQ(ev["value"], "honest");
      EXPECT_EQ(ev["devices"].size(), 2u);
    }
  }
  EXPECT_EQ(host_changes, 1);
  EXPECT_EQ(serials, 1);
  // Dedup, and events are not re-read.
  PassReport again = Pass(*monitor, TestNow() + absl::Minutes(1));
  EXPECT_EQ(again.alerts_raised, 0);
  EXPECT_EQ(Alerts(kIdentityReappearance).size(), 2u);
  (void)honest;
}

TEST_P(FleetMonitorTest, GpuThatChangedHostIsReprovenOnlyFromLaterMeasurements) {
  // Proven compliant in Singapore two hours ago...
  Device moved = Add("moved");
  Device honest = Add("honest");
  MeasureAt(moved, testing::kSingaporeDc, TestNow() - absl::Hours(2));
  MeasureAt(honest, testing::kSingaporeDc, TestNow() - absl::Hours(2));
  auto monitor = Monitor();
  PassReport before = Pass(*monitor, TestNow() - absl::Hours(2) + absl::Minutes(1));
  EXPECT_EQ(before.compliant, 2);
  EXPECT_EQ(Latest(moved.id).status, VerdictStatus::kCompliant);

  // ... then it reappears on another host an hour ago (the Singapore RTTs are still inside
  // the 24 h window).
  Host other;
  other.organization_id = world_.org.id;
  other.hostname = "reassembled";
  other.first_seen = TestNow() - absl::Hours(1);
  other.last_seen = TestNow() - absl::Hours(1);
  auto h = store().CreateHost(other);
  ASSERT_TRUE(h.ok()) << h.status();
  DeviceEvent e;
  e.device_id = moved.id;
  e.time = TestNow() - absl::Hours(1);
  e.kind = "host_changed";
  e.host_id = h->id;
  e.organization_id = world_.org.id;
  e.details_json = nlohmann::json{{"from_host_id", world_.host.id}, {"to_host_id", h->id}}.dump();
  ASSERT_TRUE(store().AppendDeviceEvent(e).ok());
  moved.host_id = h->id;
  ASSERT_TRUE(store().UpdateDevice(moved).ok());

  // No measurement since the move: unproven, not compliant on the old RTTs.
  PassReport no_rtts = Pass(*monitor, TestNow() - absl::Minutes(30));
  EXPECT_EQ(no_rtts.devices_moved_in_window, 1);
  EXPECT_EQ(Latest(moved.id).status, VerdictStatus::kUnproven);
  EXPECT_EQ(Latest(honest.id).status, VerdictStatus::kCompliant);

  // Measurements from far away after the move: never compliant, whatever the old RTTs said.
  MeasureAt(moved, testing::kBeijingDc, TestNow() - absl::Minutes(10));
  Pass(*monitor, TestNow());
  EXPECT_EQ(Latest(moved.id).status, VerdictStatus::kViolation);

  // A restarted monitor (no memory) reads the move from the events again.
  auto restarted = Monitor();
  PassReport fresh = Pass(*restarted, TestNow() + absl::Minutes(1));
  EXPECT_EQ(fresh.devices_moved_in_window, 1);
  EXPECT_EQ(Latest(moved.id).status, VerdictStatus::kViolation);
  EXPECT_EQ(Latest(honest.id).status, VerdictStatus::kCompliant);

  // Once the move is older than the window, the device is back on the bulk query.
  MeasureAt(moved, testing::kSingaporeDc, TestNow() + absl::Hours(25));
  PassReport later = Pass(*restarted, TestNow() + absl::Hours(25) + absl::Minutes(1));
  EXPECT_EQ(later.devices_moved_in_window, 0);
  EXPECT_EQ(Latest(moved.id).status, VerdictStatus::kCompliant);
}

TEST_P(FleetMonitorTest, TopologyChangeFiresOnNewPeerSetOnly) {
  Device a = Add("a");
  Device b = Add("b");
  auto snapshot = [&](int64_t device, std::vector<std::string> peers, absl::Time t) {
    TopologySnapshot s;
    s.device_id = device;
    s.time = t;
    s.peer_uuids = std::move(peers);
    ASSERT_TRUE(store().AppendTopology(s).ok());
  };
  snapshot(a.id, {"GPU-p1", "GPU-p2"}, TestNow() - absl::Hours(48));
  snapshot(b.id, {"GPU-p1", "GPU-p2"}, TestNow() - absl::Hours(48));
  auto monitor = Monitor();
  Pass(*monitor);
  EXPECT_TRUE(Alerts(kTopologyChange).empty());
  // The host re-enrolls with a rebuilt board for a.
  snapshot(a.id, {"GPU-p1", "GPU-x9"}, TestNow() + absl::Minutes(1));
  Host host = world_.host;
  host.last_seen = TestNow() + absl::Minutes(1);
  ASSERT_TRUE(store().UpdateHost(host).ok());
  Pass(*monitor, TestNow() + absl::Minutes(2));
  std::vector<Alert> alerts = Alerts(kTopologyChange);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].device_id, a.id);
  auto ev = nlohmann::json::parse(alerts[0].evidence_json);
  EXPECT_EQ(ev["added"], nlohmann::json::array({"GPU-x9"}));
  EXPECT_EQ(ev["removed"], nlohmann::json::array({"GPU-p2"}));
  // A fresh monitor (server restart) finds the same change and does not duplicate it.
  auto restarted = Monitor();
  Pass(*restarted, TestNow() + absl::Minutes(3));
  EXPECT_EQ(Alerts(kTopologyChange).size(), 1u);
}

TEST_P(FleetMonitorTest, ImpossibleTravelComparesConsecutiveEstimates) {
  Device jumper = Add("jumper");
  Device steady = Add("steady");
  // Previous verdicts one hour ago: jumper estimated in Frankfurt, steady in Singapore.
  Verdict prev;
  prev.device_id = jumper.id;
  prev.time = TestNow() - absl::Hours(1);
  prev.estimate_latitude_deg = 50.11;
  prev.estimate_longitude_deg = 8.68;
  prev.estimate_radius_km = 50;
  ASSERT_TRUE(store().AppendVerdict(prev).ok());
  prev.device_id = steady.id;
  prev.estimate_latitude_deg = 1.33;
  prev.estimate_longitude_deg = 103.75;
  ASSERT_TRUE(store().AppendVerdict(prev).ok());
  MeasureAt(jumper, testing::kSingaporeDc, TestNow() - absl::Minutes(5));
  MeasureAt(steady, testing::kSingaporeDc, TestNow() - absl::Minutes(5));
  auto monitor = Monitor();
  Pass(*monitor);
  std::vector<Alert> alerts = Alerts(kImpossibleTravel);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].device_id, jumper.id);
  auto ev = nlohmann::json::parse(alerts[0].evidence_json);
  EXPECT_GT(ev["min_moved_km"].get<double>(), 9000);
}

TEST_P(FleetMonitorTest, LicenceOveruseAndUnlicensedGpus) {
  Licence lic = world_.licence;
  lic.model_caps = {{"NVIDIA H100 80GB HBM3", 2}};
  ASSERT_TRUE(store().UpdateLicence(lic).ok());
  for (int i = 0; i < 3; ++i) Add(absl::StrCat("h100-", i));
  Add("h20", {.model = "NVIDIA H20"});
  Device stray = Add("stray", {.licence_id = 0, .first_seen = TestNow() - absl::Hours(2)});
  Add("new", {.licence_id = 0, .first_seen = TestNow() - absl::Minutes(10)});
  auto monitor = Monitor();
  Pass(*monitor);
  std::vector<Alert> overuse = Alerts(kLicenceOveruse);
  ASSERT_EQ(overuse.size(), 2u);
  for (const Alert& a : overuse) {
    auto ev = nlohmann::json::parse(a.evidence_json);
    if (ev["model"] == "NVIDIA H100 80GB HBM3") {
      EXPECT_EQ(ev["in_use"], 3);
      EXPECT_EQ(ev["max_count"], 2);
    } else {
      EXPECT_EQ(ev["model"], "NVIDIA H20");
      EXPECT_EQ(ev["max_count"], 0);
    }
  }
  std::vector<Alert> unlicensed = Alerts(kUnlicensedGpu);
  ASSERT_EQ(unlicensed.size(), 1u);
  EXPECT_EQ(unlicensed[0].device_id, stray.id);
  EXPECT_EQ(Latest(stray.id).reason, "unlicensed");
  // The cap is raised and the stray GPU licensed: both resolve.
  lic.model_caps = {{"NVIDIA H100 80GB HBM3", 8}, {"NVIDIA H20", 8}};
  ASSERT_TRUE(store().UpdateLicence(lic).ok());
  stray.licence_id = lic.id;
  ASSERT_TRUE(store().UpdateDevice(stray).ok());
  Pass(*monitor, TestNow() + absl::Minutes(1));
  EXPECT_TRUE(Alerts(kLicenceOveruse, AlertState::kOpen).empty());
  EXPECT_TRUE(Alerts(kUnlicensedGpu, AlertState::kOpen).empty());
  EXPECT_EQ(Alerts(kLicenceOveruse, AlertState::kResolved).size(), 2u);
}

TEST_P(FleetMonitorTest, VerdictsRecordTheLicenceJudgedAgainstAndAMoveIsWritten) {
  const Device licensed = Add("licensed");
  const Device stray = Add("stray", {.licence_id = 0});
  MeasureAt(licensed, testing::kSingaporeDc, TestNow() - absl::Minutes(10));
  MeasureAt(stray, testing::kSingaporeDc, TestNow() - absl::Minutes(10));
  auto monitor = Monitor();
  Pass(*monitor);
  EXPECT_EQ(Latest(licensed.id).licence_id, world_.licence.id);
  EXPECT_EQ(Latest(stray.id).licence_id, 0);
  // The same geometry under another licence: status and reason may not change, but the
  // verdict's licence does, so it is written at once (not only after verdict_refresh).
  Licence twin = world_.licence;
  twin.reference = "EL-TWIN";
  auto stored = store().CreateLicence(twin);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(store().SetDeviceLicence(licensed.id, licensed.organization_id, stored->id).ok());
  PassReport moved = Pass(*monitor, TestNow() + absl::Minutes(1));
  EXPECT_EQ(moved.verdicts_written, 1);
  EXPECT_EQ(Latest(licensed.id).licence_id, stored->id);
  EXPECT_EQ(Latest(licensed.id).status, VerdictStatus::kCompliant);
}

TEST_P(FleetMonitorTest, PassPrunesTelemetrySamplesOlderThanTheRetention) {
  const Device d = Add("gpu");
  Telemetry old_sample;
  old_sample.device_id = d.id;
  old_sample.time = TestNow() - absl::Hours(24 * 31);
  Telemetry recent = old_sample;
  recent.time = TestNow() - absl::Hours(24 * 29);
  ASSERT_EQ(store().RecordTelemetry({old_sample, recent}, absl::Minutes(5)).value_or(-1), 2);
  auto monitor = Monitor();  // Default retention: 30 days.
  PassReport r = Pass(*monitor);
  EXPECT_EQ(r.telemetry_samples_deleted, 1);
  auto left = store().ListTelemetrySamples(d.id, absl::UnixEpoch(), TestNow(), 10);
  ASSERT_TRUE(left.ok()) << left.status();
  ASSERT_EQ(left->samples.size(), 1u);
  EXPECT_EQ(left->samples[0].time, recent.time);
  // Zero retention keeps everything.
  FleetMonitorOptions keep;
  keep.telemetry_retention = absl::ZeroDuration();
  auto keeper = Monitor(keep);
  EXPECT_EQ(Pass(*keeper, TestNow() + absl::Hours(24 * 60)).telemetry_samples_deleted, 0);
  EXPECT_EQ(store().ListTelemetrySamples(d.id, absl::UnixEpoch(), TestNow(), 10)->samples.size(),
            1u);
}

TEST_P(FleetMonitorTest, ShipmentReconciliation) {
  Device proven = Add("proven", {.serial = "S-1"});
  MeasureAt(proven, testing::kSingaporeDc, TestNow() - absl::Minutes(5));
  Device proven2 = Add("proven2", {.serial = "S-2"});
  MeasureAt(proven2, testing::kSingaporeDc, TestNow() - absl::Minutes(5));
  Shipment honest;
  honest.organization_id = world_.org.id;
  honest.licence_id = world_.licence.id;
  honest.reference = "AWB-1";
  honest.billed_country = "SG";
  honest.shipped_at = TestNow() - absl::Hours(24 * 40);
  honest.serials = {"S-1"};
  ASSERT_TRUE(store().CreateShipment(honest).ok());
  Shipment hub = honest;
  hub.reference = "AWB-2";
  hub.billed_country = "MY";
  hub.serials = {"S-2", "S-3", "S-4"};
  ASSERT_TRUE(store().CreateShipment(hub).ok());
  Shipment recent = hub;
  recent.reference = "AWB-3";
  recent.shipped_at = TestNow() - absl::Hours(24 * 3);
  recent.serials = {"S-9"};
  ASSERT_TRUE(store().CreateShipment(recent).ok());

  auto monitor = Monitor();
  Pass(*monitor);
  std::vector<Alert> unproven = Alerts(kShipmentUnproven);
  ASSERT_EQ(unproven.size(), 1u);
  auto ev = nlohmann::json::parse(unproven[0].evidence_json);
  EXPECT_EQ(ev["reference"], "AWB-2");
  EXPECT_EQ(ev["unproven"], 2);
  EXPECT_EQ(ev["never_enrolled_serials"], nlohmann::json::array({"S-3", "S-4"}));
  std::vector<Alert> mismatch = Alerts(kBilledCountryMismatch);
  ASSERT_EQ(mismatch.size(), 1u);
  auto mev = nlohmann::json::parse(mismatch[0].evidence_json);
  EXPECT_EQ(mev["billed_country"], "MY");
  EXPECT_EQ(mev["verified_in_billed_country"], 0);
  EXPECT_EQ(mev["verified_by_country"]["SG"], 2);
}

TEST_P(FleetMonitorTest, VerdictUnprovenAfterGraceOnly) {
  Device slow = Add("slow");
  Device fresh = Add("fresh");
  std::vector<int64_t> few(16, -1);
  // Only two landmarks answer usefully; the rest measured long ago (outside the window).
  for (Device d : {slow, fresh}) {
    auto batch_for = [&](size_t i, absl::Time t) {
      MeasurementBatch b;
      b.landmark_id = world_.landmarks[i].id;
      b.batch_sequence = world_.next_sequence++;
      Measurement m;
      m.device_id = d.id;
      m.time = t;
      m.rtt_ns = 200'000;
      m.sequence = b.batch_sequence;
      m.nonce = absl::StrCat("n", b.batch_sequence);
      b.measurements.push_back(m);
      ASSERT_TRUE(store().IngestMeasurements(b).ok());
    };
    batch_for(0, TestNow() - absl::Minutes(5));
    batch_for(1, TestNow() - absl::Minutes(5));
  }
  Verdict old;
  old.device_id = slow.id;
  old.time = TestNow() - absl::Hours(8);
  old.status = VerdictStatus::kUnproven;
  old.reason = "only 2 landmark(s)";
  ASSERT_TRUE(store().AppendVerdict(old).ok());
  auto monitor = Monitor();
  Pass(*monitor);
  std::vector<Alert> alerts = Alerts(kVerdictUnproven);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].device_id, slow.id);
  EXPECT_THAT(alerts[0].subject, HasSubstr("unproven for 8.0 h"));
}

TEST_P(FleetMonitorTest, BackgroundLoopRunsPasses) {
  Device d = Add("bg");
  MeasureAt(d, testing::kSingaporeDc, absl::Now() - absl::Minutes(1));
  FleetMonitorOptions options;
  options.period = absl::Milliseconds(50);
  auto monitor = Monitor(options);
  monitor->Start();
  monitor->Start();  // No-op.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!monitor->last_report().has_value() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  monitor->Stop();
  monitor->Stop();
  ASSERT_TRUE(monitor->last_report().has_value());
  EXPECT_EQ(monitor->last_report()->devices, 1);
  EXPECT_TRUE(store().LatestVerdict(d.id).ok());
}

INSTANTIATE_TEST_SUITE_P(AllBackends, FleetMonitorTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
}  // namespace lightcone::server::fleet
