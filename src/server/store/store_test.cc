// The one test suite every Store implementation passes: each TEST_P runs against SQLite and
// against a real PostgreSQL server started for this binary (testing/pg_test_server.h).
#include "server/store/store.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/schema.h"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/pg_test_server.h"

namespace lightcone::server {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

// Where a store lives; each test gets a fresh, empty location.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual absl::Status NewLocation() = 0;
  virtual absl::StatusOr<std::unique_ptr<Store>> Open() = 0;
};

class SqliteBackend : public Backend {
 public:
  ~SqliteBackend() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  absl::Status NewLocation() override {
    std::string pattern = std::filesystem::temp_directory_path() / "lightcone-store-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    dir_ = pattern;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<Store>> Open() override {
    SqliteStoreOptions options;
    options.path = dir_ + "/store.db";
    return OpenSqliteStore(options);
  }

 private:
  std::string dir_;
};

// A fresh database on the PostgreSQL server shared by this test binary.
class PostgresBackend : public Backend {
 public:
  absl::Status NewLocation() override {
    auto server = testing::SharedPgTestServer();
    if (!server.ok()) return server.status();
    auto conninfo = (*server)->CreateDatabase();
    if (!conninfo.ok()) return conninfo.status();
    conninfo_ = *conninfo;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<Store>> Open() override {
    return OpenPostgresStore({conninfo_});
  }

 private:
  std::string conninfo_;
};

struct BackendParam {
  std::string name;
  std::function<std::unique_ptr<Backend>()> make;
};

void PrintTo(const BackendParam& param, std::ostream* os) { *os << param.name; }

std::vector<BackendParam> Backends() {
  std::vector<BackendParam> backends;
  backends.push_back({"Sqlite", [] { return std::make_unique<SqliteBackend>(); }});
  backends.push_back({"Postgres", [] { return std::make_unique<PostgresBackend>(); }});
  return backends;
}

class StoreTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    const absl::Status location = backend_->NewLocation();
    ASSERT_TRUE(location.ok()) << GetParam().name << " backend unavailable: " << location;
    auto store = backend_->Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  Organization MakeOrganization(const std::string& name) {
    Organization org;
    org.name = name;
    auto created = store_->CreateOrganization(org);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.value_or(Organization{});
  }

  Landmark MakeLandmark(const std::string& name) {
    Landmark landmark;
    landmark.name = name;
    landmark.latitude_deg = 1.35;
    landmark.longitude_deg = 103.8;
    landmark.public_key = std::string("\x00\x01\xff\x80key", 7);
    auto created = store_->CreateLandmark(landmark);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.value_or(Landmark{});
  }

  Device MakeDevice(int64_t org_id, const std::string& uuid, int64_t licence_id = 0) {
    Device device;
    device.organization_id = org_id;
    device.licence_id = licence_id;
    device.uuid = uuid;
    device.serial = "S-" + uuid;
    device.model = "H100";
    auto created = store_->CreateDevice(device);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.value_or(Device{});
  }

  Licence MakeLicence(int64_t org_id, const std::string& reference) {
    Licence licence;
    licence.organization_id = org_id;
    licence.reference = reference;
    licence.holder = "Holder Pte";
    licence.end_user = "End User Ltd";
    licence.valid_from = absl::FromUnixSeconds(1'700'000'000);
    licence.valid_until = absl::FromUnixSeconds(1'800'000'000);
    auto created = store_->CreateLicence(licence);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.value_or(Licence{});
  }

  static Measurement MakeMeasurement(int64_t device_id, int64_t sequence) {
    Measurement m;
    m.device_id = device_id;
    m.time = absl::FromUnixSeconds(1'750'000'000) + absl::Milliseconds(sequence);
    m.rtt_ns = 1'000'000 + sequence;
    m.nonce = std::string("\x00nonce\xfe", 7) + std::to_string(sequence);
    m.sequence = sequence;
    m.key_id = "k1";
    m.reply_signature = std::string(64, '\x00') + std::to_string(sequence);
    return m;
  }

  static MeasurementBatch MakeBatch(int64_t landmark_id, int64_t batch_sequence,
                                    int64_t device_id, int64_t first_sequence, int count) {
    MeasurementBatch batch;
    batch.landmark_id = landmark_id;
    batch.batch_sequence = batch_sequence;
    for (int i = 0; i < count; ++i) {
      batch.measurements.push_back(MakeMeasurement(device_id, first_sequence + i));
    }
    return batch;
  }

  int64_t CountMeasurements(MeasurementFilter filter = {}) {
    int64_t count = 0;
    filter.page.limit = kMaxPageSize;
    while (true) {
      auto page = store_->ListMeasurements(filter);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return -1;
      count += static_cast<int64_t>(page->items.size());
      if (page->next_after_id == 0) return count;
      filter.page.after_id = page->next_after_id;
    }
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, MigratesEmptyDatabaseAndReopensIdempotently) {
  ASSERT_EQ(store_->SchemaVersion().value_or(-1), internal::LatestSchemaVersion());
  const Organization org = MakeOrganization("acme");
  store_.reset();
  auto reopened = backend_->Open();
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->SchemaVersion().value_or(-1), internal::LatestSchemaVersion());
  auto fetched = (*reopened)->GetOrganization(org.id);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->name, "acme");
}

TEST_P(StoreTest, OrganizationRoundTripAndErrorCodes) {
  Organization org;
  org.name = "acme";
  org.created_at = absl::FromUnixNanos(1'700'000'000'123'456'789);
  auto created = store_->CreateOrganization(org);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GT(created->id, 0);
  auto fetched = store_->GetOrganization(created->id);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->name, "acme");
  EXPECT_EQ(fetched->created_at, org.created_at);

  EXPECT_EQ(store_->CreateOrganization(org).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetOrganization(created->id + 100).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->CreateOrganization(Organization{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  MakeOrganization("globex");
  auto all = store_->ListOrganizations();
  ASSERT_TRUE(all.ok());
  ASSERT_THAT(*all, SizeIs(2));
  EXPECT_EQ((*all)[1].name, "globex");
}

TEST_P(StoreTest, LandmarkRoundTripKeepsBinaryKeyAndStatus) {
  const Landmark landmark = MakeLandmark("sin-1");
  auto fetched = store_->GetLandmark(landmark.id);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->public_key, std::string("\x00\x01\xff\x80key", 7));
  EXPECT_DOUBLE_EQ(fetched->latitude_deg, 1.35);
  EXPECT_DOUBLE_EQ(fetched->longitude_deg, 103.8);
  EXPECT_EQ(fetched->status, LandmarkStatus::kActive);

  ASSERT_TRUE(store_->SetLandmarkStatus(landmark.id, LandmarkStatus::kFlagged).ok());
  EXPECT_EQ(store_->GetLandmark(landmark.id)->status, LandmarkStatus::kFlagged);
  EXPECT_EQ(store_->SetLandmarkStatus(landmark.id + 7, LandmarkStatus::kRetired).code(),
            absl::StatusCode::kNotFound);

  Landmark duplicate = landmark;
  EXPECT_EQ(store_->CreateLandmark(duplicate).status().code(), absl::StatusCode::kAlreadyExists);
  Landmark bad = landmark;
  bad.name = "nowhere";
  bad.latitude_deg = 91;
  EXPECT_EQ(store_->CreateLandmark(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store_->ListLandmarks().value_or(std::vector<Landmark>{}), SizeIs(1));
}

TEST_P(StoreTest, DeviceRoundTripUpdateAndErrorCodes) {
  const Organization org = MakeOrganization("acme");
  Host host;
  host.organization_id = org.id;
  host.hostname = "gpu-host-1";
  host.first_seen = absl::FromUnixSeconds(100);
  host.last_seen = absl::FromUnixSeconds(200);
  auto created_host = store_->CreateHost(host);
  ASSERT_TRUE(created_host.ok()) << created_host.status();
  EXPECT_EQ(store_->GetHost(created_host->id)->hostname, "gpu-host-1");
  EXPECT_EQ(store_->CreateHost(host).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetHost(created_host->id + 1).status().code(), absl::StatusCode::kNotFound);

  const Licence licence = MakeLicence(org.id, "EL-1");
  Device device;
  device.organization_id = org.id;
  device.host_id = created_host->id;
  device.licence_id = licence.id;
  device.uuid = "GPU-0001";
  device.serial = "1650123456789";
  device.ueid = "ueid-abc";
  device.model = "H100 SXM";
  device.key = {std::string("\x00\xaa\x10", 3), "kid-1", AssuranceLevel::kL1};
  device.first_seen = absl::FromUnixSeconds(1000);
  device.last_seen = absl::FromUnixSeconds(2000);
  auto created = store_->CreateDevice(device);
  ASSERT_TRUE(created.ok()) << created.status();

  auto fetched = store_->GetDeviceByUuid("GPU-0001");
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->id, created->id);
  EXPECT_EQ(fetched->host_id, created_host->id);
  EXPECT_EQ(fetched->licence_id, licence.id);
  EXPECT_EQ(fetched->serial, "1650123456789");
  EXPECT_EQ(fetched->ueid, "ueid-abc");
  EXPECT_EQ(fetched->key.public_key, std::string("\x00\xaa\x10", 3));
  EXPECT_EQ(fetched->key.key_id, "kid-1");
  EXPECT_EQ(fetched->key.assurance, AssuranceLevel::kL1);
  EXPECT_EQ(fetched->first_seen, absl::FromUnixSeconds(1000));
  EXPECT_EQ(fetched->last_seen, absl::FromUnixSeconds(2000));

  Device updated = *fetched;
  updated.host_id = 0;
  updated.key = {"newkey", "kid-2", AssuranceLevel::kL3};
  updated.last_seen = absl::FromUnixSeconds(3000);
  updated.first_seen = absl::FromUnixSeconds(1);  // Ignored: first_seen never changes.
  ASSERT_TRUE(store_->UpdateDevice(updated).ok());
  auto refetched = store_->GetDevice(created->id);
  ASSERT_TRUE(refetched.ok());
  EXPECT_EQ(refetched->host_id, 0);
  EXPECT_EQ(refetched->key.key_id, "kid-2");
  EXPECT_EQ(refetched->key.assurance, AssuranceLevel::kL3);
  EXPECT_EQ(refetched->last_seen, absl::FromUnixSeconds(3000));
  EXPECT_EQ(refetched->first_seen, absl::FromUnixSeconds(1000));

  EXPECT_EQ(store_->CreateDevice(device).status().code(), absl::StatusCode::kAlreadyExists);
  Device orphan = device;
  orphan.uuid = "GPU-0002";
  orphan.host_id = created_host->id + 50;
  EXPECT_EQ(store_->CreateDevice(orphan).status().code(), absl::StatusCode::kInvalidArgument);
  Device missing = updated;
  missing.id = created->id + 10;
  EXPECT_EQ(store_->UpdateDevice(missing).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetDevice(created->id + 10).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetDeviceByUuid("GPU-none").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, LicenceRoundTripKeepsStructuredFields) {
  const Organization org = MakeOrganization("acme");
  Licence licence;
  licence.organization_id = org.id;
  licence.reference = "EL-2025-0042";
  licence.holder = "Holder Pte";
  licence.end_user = "Research Lab";
  licence.allowed_sites = {{"sg-dc1", 1.3521, 103.8198, 25.5}, {"jp-dc2", 35.68, 139.69, 10}};
  licence.allowed_countries = {"SG", "JP"};
  licence.prohibited_regions = {"CN", "HK", "MO"};
  licence.model_caps = {{"H100", 512}, {"B200", 64}};
  licence.valid_from = absl::FromUnixSeconds(1'700'000'000);
  licence.valid_until = absl::FromUnixSeconds(1'800'000'000);
  licence.reporting_cadence = absl::Hours(6);
  auto created = store_->CreateLicence(licence);
  ASSERT_TRUE(created.ok()) << created.status();
  auto fetched = store_->GetLicence(created->id);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->reference, "EL-2025-0042");
  EXPECT_EQ(fetched->end_user, "Research Lab");
  ASSERT_THAT(fetched->allowed_sites, SizeIs(2));
  EXPECT_EQ(fetched->allowed_sites[0].name, "sg-dc1");
  EXPECT_DOUBLE_EQ(fetched->allowed_sites[0].latitude_deg, 1.3521);
  EXPECT_DOUBLE_EQ(fetched->allowed_sites[0].radius_km, 25.5);
  EXPECT_THAT(fetched->allowed_countries, ElementsAre("SG", "JP"));
  EXPECT_THAT(fetched->prohibited_regions, ElementsAre("CN", "HK", "MO"));
  ASSERT_THAT(fetched->model_caps, SizeIs(2));
  EXPECT_EQ(fetched->model_caps[1].model, "B200");
  EXPECT_EQ(fetched->model_caps[1].max_count, 64);
  EXPECT_EQ(fetched->valid_until, absl::FromUnixSeconds(1'800'000'000));
  EXPECT_EQ(fetched->reporting_cadence, absl::Hours(6));

  Licence changed = *fetched;
  changed.allowed_countries = {"SG"};
  changed.model_caps.clear();
  ASSERT_TRUE(store_->UpdateLicence(changed).ok());
  EXPECT_THAT(store_->GetLicence(created->id)->allowed_countries, ElementsAre("SG"));
  EXPECT_TRUE(store_->GetLicence(created->id)->model_caps.empty());

  EXPECT_EQ(store_->CreateLicence(licence).status().code(), absl::StatusCode::kAlreadyExists);
  changed.id += 5;
  EXPECT_EQ(store_->UpdateLicence(changed).code(), absl::StatusCode::kNotFound);
  Licence backwards = licence;
  backwards.reference = "EL-bad";
  backwards.valid_until = absl::FromUnixSeconds(1);
  EXPECT_EQ(store_->CreateLicence(backwards).status().code(), absl::StatusCode::kInvalidArgument);
  const Organization other = MakeOrganization("globex");
  MakeLicence(other.id, "EL-3");
  EXPECT_THAT(store_->ListLicences(org.id).value_or(std::vector<Licence>{}), SizeIs(1));
  EXPECT_THAT(store_->ListLicences(std::nullopt).value_or(std::vector<Licence>{}), SizeIs(2));
}

TEST_P(StoreTest, IngestIsIdempotent) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  const Landmark landmark = MakeLandmark("sin-1");

  const MeasurementBatch batch = MakeBatch(landmark.id, 1, device.id, 0, 3);
  auto first = store_->IngestMeasurements(batch);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->inserted, 3);
  EXPECT_EQ(first->duplicates, 0);
  EXPECT_FALSE(first->batch_already_stored);

  auto again = store_->IngestMeasurements(batch);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->inserted, 0);
  EXPECT_EQ(again->duplicates, 3);
  EXPECT_TRUE(again->batch_already_stored);
  EXPECT_EQ(again->batch_id, first->batch_id);
  EXPECT_EQ(CountMeasurements(), 3);

  // A new batch repeating two measurements stores only the new one.
  auto overlapping = store_->IngestMeasurements(MakeBatch(landmark.id, 2, device.id, 1, 3));
  ASSERT_TRUE(overlapping.ok()) << overlapping.status();
  EXPECT_EQ(overlapping->inserted, 1);
  EXPECT_EQ(overlapping->duplicates, 2);
  EXPECT_EQ(CountMeasurements(), 4);

  // The same batch id with other content is refused.
  EXPECT_EQ(store_->IngestMeasurements(MakeBatch(landmark.id, 1, device.id, 10, 3))
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);

  // One bad reference rejects the whole batch; the batch id stays free.
  MeasurementBatch bad = MakeBatch(landmark.id, 3, device.id, 20, 3);
  bad.measurements[2].device_id = device.id + 99;
  EXPECT_EQ(store_->IngestMeasurements(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CountMeasurements(), 4);
  auto retried = store_->IngestMeasurements(MakeBatch(landmark.id, 3, device.id, 20, 3));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->inserted, 3);

  EXPECT_EQ(store_->IngestMeasurements(MakeBatch(landmark.id + 9, 1, device.id, 40, 1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->IngestMeasurements(MakeBatch(landmark.id, 4, device.id, 0, 0)).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto page = store_->ListMeasurements({});
  ASSERT_TRUE(page.ok());
  ASSERT_THAT(page->items, SizeIs(7));
  const Measurement& m = page->items[0];
  const Measurement expected = MakeMeasurement(device.id, 0);
  EXPECT_EQ(m.landmark_id, landmark.id);
  EXPECT_EQ(m.batch_id, first->batch_id);
  EXPECT_EQ(m.nonce, expected.nonce);
  EXPECT_EQ(m.reply_signature, expected.reply_signature);
  EXPECT_EQ(m.time, expected.time);
  EXPECT_EQ(m.rtt_ns, expected.rtt_ns);
  EXPECT_EQ(m.key_id, "k1");
}

TEST_P(StoreTest, LargeBatchAndMeasurementPagination) {
  const Organization org = MakeOrganization("acme");
  const Device a = MakeDevice(org.id, "GPU-A");
  const Device b = MakeDevice(org.id, "GPU-B");
  const Landmark landmark = MakeLandmark("sin-1");
  MeasurementBatch batch = MakeBatch(landmark.id, 1, a.id, 0, 2'345);
  for (int i = 0; i < 10; ++i) batch.measurements.push_back(MakeMeasurement(b.id, i));
  auto result = store_->IngestMeasurements(batch);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->inserted, 2'355);

  MeasurementFilter filter;
  filter.device_id = a.id;
  filter.page.limit = 1'000;
  std::set<int64_t> sequences;
  int pages = 0;
  int64_t last_id = 0;
  while (true) {
    auto page = store_->ListMeasurements(filter);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const Measurement& m : page->items) {
      EXPECT_GT(m.id, last_id);
      last_id = m.id;
      EXPECT_EQ(m.device_id, a.id);
      sequences.insert(m.sequence);
    }
    if (page->next_after_id == 0) break;
    EXPECT_EQ(page->next_after_id, page->items.back().id);
    filter.page.after_id = page->next_after_id;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(sequences.size(), 2'345u);

  MeasurementFilter window;
  window.device_id = a.id;
  window.since = MakeMeasurement(a.id, 100).time;
  window.until = MakeMeasurement(a.id, 200).time;
  EXPECT_EQ(CountMeasurements(window), 100);
  MeasurementFilter by_landmark;
  by_landmark.landmark_id = landmark.id + 1;
  EXPECT_EQ(CountMeasurements(by_landmark), 0);
}

TEST_P(StoreTest, DevicePaginationAndFilters) {
  const Organization acme = MakeOrganization("acme");
  const Organization globex = MakeOrganization("globex");
  const Licence licence = MakeLicence(acme.id, "EL-1");
  for (int i = 0; i < 25; ++i) {
    MakeDevice(i % 2 == 0 ? acme.id : globex.id, absl::StrCat("GPU-", i),
               i % 5 == 0 ? licence.id : 0);
  }
  DeviceFilter filter;
  filter.page.limit = 10;
  std::vector<std::string> uuids;
  int pages = 0;
  while (true) {
    auto page = store_->ListDevices(filter);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const Device& d : page->items) uuids.push_back(d.uuid);
    if (page->next_after_id == 0) break;
    filter.page.after_id = page->next_after_id;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_THAT(uuids, SizeIs(25));
  EXPECT_EQ(uuids.front(), "GPU-0");
  EXPECT_EQ(uuids.back(), "GPU-24");

  DeviceFilter by_org;
  by_org.organization_id = globex.id;
  auto globex_devices = store_->ListDevices(by_org);
  ASSERT_TRUE(globex_devices.ok());
  EXPECT_THAT(globex_devices->items, SizeIs(12));
  for (const Device& d : globex_devices->items) EXPECT_EQ(d.organization_id, globex.id);

  DeviceFilter by_licence;
  by_licence.licence_id = licence.id;
  auto licensed = store_->ListDevices(by_licence);
  ASSERT_TRUE(licensed.ok());
  std::vector<std::string> licensed_uuids;
  for (const Device& d : licensed->items) licensed_uuids.push_back(d.uuid);
  EXPECT_THAT(licensed_uuids, ElementsAre("GPU-0", "GPU-5", "GPU-10", "GPU-15", "GPU-20"));

  by_licence.organization_id = globex.id;
  EXPECT_THAT(store_->ListDevices(by_licence)->items, SizeIs(2));  // GPU-5 and GPU-15.
}

TEST_P(StoreTest, VerdictsAppendAndLatest) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  EXPECT_EQ(store_->LatestVerdict(device.id).status().code(), absl::StatusCode::kNotFound);
  Verdict verdict;
  verdict.device_id = device.id;
  verdict.time = absl::FromUnixSeconds(100);
  verdict.status = VerdictStatus::kCompliant;
  verdict.reason = "inside sg-dc1";
  verdict.region_summary_json = R"({"cap_km":120})";
  verdict.estimate_latitude_deg = 1.3;
  verdict.estimate_longitude_deg = 103.9;
  verdict.estimate_radius_km = 120;
  verdict.robustness_f = 1;
  verdict.assurance = AssuranceLevel::kL2;
  ASSERT_TRUE(store_->AppendVerdict(verdict).ok());
  verdict.time = absl::FromUnixSeconds(200);
  verdict.status = VerdictStatus::kViolation;
  verdict.reason = "outside every allowed site";
  ASSERT_TRUE(store_->AppendVerdict(verdict).ok());

  auto latest = store_->LatestVerdict(device.id);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->status, VerdictStatus::kViolation);
  EXPECT_EQ(latest->reason, "outside every allowed site");
  EXPECT_EQ(latest->region_summary_json, R"({"cap_km":120})");
  EXPECT_EQ(latest->robustness_f, 1);
  EXPECT_EQ(latest->assurance, AssuranceLevel::kL2);
  EXPECT_DOUBLE_EQ(latest->estimate_radius_km, 120);

  auto page = store_->ListVerdicts(device.id, {0, 1});
  ASSERT_TRUE(page.ok());
  ASSERT_THAT(page->items, SizeIs(1));
  EXPECT_EQ(page->items[0].status, VerdictStatus::kCompliant);
  EXPECT_NE(page->next_after_id, 0);

  verdict.device_id = device.id + 5;
  EXPECT_EQ(store_->AppendVerdict(verdict).status().code(), absl::StatusCode::kInvalidArgument);
  verdict.device_id = device.id;
  verdict.region_summary_json = "{not json";
  EXPECT_EQ(store_->AppendVerdict(verdict).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, AlertsFilterPaginateAndAcknowledge) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  std::vector<int64_t> ids;
  for (int i = 0; i < 9; ++i) {
    Alert alert;
    alert.organization_id = org.id;
    alert.device_id = i % 3 == 0 ? device.id : 0;
    alert.type = i % 3 == 0 ? "went_dark" : "impossible_travel";
    alert.severity = AlertSeverity::kCritical;
    alert.subject = absl::StrCat("alert ", i);
    alert.evidence_json = absl::StrCat(R"({"i":)", i, "}");
    auto created = store_->CreateAlert(alert);
    ASSERT_TRUE(created.ok()) << created.status();
    ids.push_back(created->id);
  }
  ASSERT_TRUE(store_->AcknowledgeAlert(ids[0], "ops@acme", "known outage",
                                       absl::FromUnixSeconds(500))
                  .ok());
  auto acked = store_->GetAlert(ids[0]);
  ASSERT_TRUE(acked.ok());
  EXPECT_EQ(acked->state, AlertState::kAcknowledged);
  EXPECT_EQ(acked->acknowledged_by, "ops@acme");
  EXPECT_EQ(acked->acknowledge_comment, "known outage");
  EXPECT_EQ(acked->acknowledged_at, absl::FromUnixSeconds(500));
  EXPECT_EQ(acked->evidence_json, R"({"i":0})");
  EXPECT_EQ(acked->severity, AlertSeverity::kCritical);
  EXPECT_EQ(store_->AcknowledgeAlert(ids[0], "ops@acme", "", absl::Now()).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->AcknowledgeAlert(ids.back() + 1, "ops@acme", "", absl::Now()).code(),
            absl::StatusCode::kNotFound);

  AlertFilter open_dark;
  open_dark.state = AlertState::kOpen;
  open_dark.type = "went_dark";
  auto page = store_->ListAlerts(open_dark);
  ASSERT_TRUE(page.ok());
  ASSERT_THAT(page->items, SizeIs(2));
  EXPECT_EQ(page->items[0].id, ids[3]);
  EXPECT_EQ(page->items[1].id, ids[6]);

  AlertFilter acknowledged;
  acknowledged.state = AlertState::kAcknowledged;
  EXPECT_THAT(store_->ListAlerts(acknowledged)->items, SizeIs(1));

  AlertFilter by_device;
  by_device.device_id = device.id;
  EXPECT_THAT(store_->ListAlerts(by_device)->items, SizeIs(3));

  AlertFilter paged;
  paged.page.limit = 4;
  std::vector<int64_t> seen;
  while (true) {
    auto p = store_->ListAlerts(paged);
    ASSERT_TRUE(p.ok());
    for (const Alert& a : p->items) seen.push_back(a.id);
    if (p->next_after_id == 0) break;
    paged.page.after_id = p->next_after_id;
  }
  EXPECT_EQ(seen, ids);

  Alert bad;
  bad.type = "went_dark";
  bad.evidence_json = "[1,";
  EXPECT_EQ(store_->CreateAlert(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, ConcurrentWritersLoseNothing) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  const Landmark first = MakeLandmark("sin-1");
  const Landmark second = MakeLandmark("sin-2");
  constexpr int kBatches = 20;
  constexpr int kPerBatch = 50;
  auto writer = [&](int64_t landmark_id, const std::string& prefix, int* failures) {
    for (int b = 0; b < kBatches; ++b) {
      // Every batch goes in twice: the second submission must store nothing.
      for (int attempt = 0; attempt < 2; ++attempt) {
        auto result = store_->IngestMeasurements(
            MakeBatch(landmark_id, b, device.id, b * kPerBatch, kPerBatch));
        if (!result.ok() || result->inserted != (attempt == 0 ? kPerBatch : 0)) ++*failures;
      }
      if (!store_->CreateOrganization({0, absl::StrCat(prefix, b)}).ok()) ++*failures;
    }
  };
  int failures_a = 0;
  int failures_b = 0;
  std::thread a(writer, first.id, "a-", &failures_a);
  std::thread b(writer, second.id, "b-", &failures_b);
  a.join();
  b.join();
  EXPECT_EQ(failures_a, 0);
  EXPECT_EQ(failures_b, 0);
  EXPECT_EQ(CountMeasurements(), 2 * kBatches * kPerBatch);
  EXPECT_THAT(store_->ListOrganizations().value_or(std::vector<Organization>{}),
              SizeIs(1 + 2 * kBatches));
}

// The durability promise the API builds on: once IngestMeasurements returned OK in a process,
// the batch is there after that process is killed with SIGKILL.
TEST_P(StoreTest, AcknowledgedBatchSurvivesKill9) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  const Landmark landmark = MakeLandmark("sin-1");
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    auto store = backend_->Open();
    char ack = 'E';
    if (store.ok() &&
        (*store)->IngestMeasurements(MakeBatch(landmark.id, 1, device.id, 0, 500)).ok()) {
      ack = 'A';
    }
    (void)!write(pipe_fds[1], &ack, 1);
    while (true) pause();  // Killed by the parent.
  }
  close(pipe_fds[1]);
  char ack = 0;
  ASSERT_EQ(read(pipe_fds[0], &ack, 1), 1);
  close(pipe_fds[0]);
  kill(child, SIGKILL);
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_EQ(ack, 'A');
  ASSERT_TRUE(WIFSIGNALED(wait_status));
  store_.reset();
  auto reopened = backend_->Open();
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  store_ = *std::move(reopened);
  EXPECT_EQ(CountMeasurements(), 500);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StoreTest, ::testing::ValuesIn(Backends()),
                         [](const auto& test_info) { return test_info.param.name; });

}  // namespace
}  // namespace lightcone::server
