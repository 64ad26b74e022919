// The one test suite every Store implementation passes: each TEST_P runs against SQLite and
// against a real PostgreSQL server started for this binary (testing/pg_test_server.h).
#include "server/store/store.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/schema.h"
#include "server/store/postgres_database.h"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_database.h"
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
  // The same location as a bare connection, without migrations (to build old schemas).
  virtual absl::StatusOr<std::unique_ptr<internal::SqlDatabase>> OpenRaw() = 0;
};

class SqliteBackend : public Backend {
 public:
  ~SqliteBackend() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  absl::Status NewLocation() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
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
  absl::StatusOr<std::unique_ptr<internal::SqlDatabase>> OpenRaw() override {
    internal::SqliteDatabaseOptions options;
    options.path = dir_ + "/store.db";
    auto db = internal::SqliteDatabase::Open(options);
    if (!db.ok()) return db.status();
    return std::unique_ptr<internal::SqlDatabase>(*std::move(db));
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
  absl::StatusOr<std::unique_ptr<internal::SqlDatabase>> OpenRaw() override {
    auto db = internal::PostgresDatabase::Open(conninfo_);
    if (!db.ok()) return db.status();
    return std::unique_ptr<internal::SqlDatabase>(*std::move(db));
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

  // Replaces store_ by a fresh database built by the migrations up to `version` only, with
  // `sql` run on it ("{{KEY}}" is the dialect's literal of the bytes "key"; PostgreSQL's
  // identity sequences of `tables` are moved past the inserted ids), then reopened - and so
  // migrated - as the current schema.
  void OpenMigratedFrom(int version, const std::string& sql,
                        const std::vector<std::string>& tables) {
    store_.reset();
    ASSERT_TRUE(backend_->NewLocation().ok());
    {
      auto raw = backend_->OpenRaw();
      ASSERT_TRUE(raw.ok()) << raw.status();
      internal::SqlDatabase& db = **raw;
      ASSERT_TRUE(internal::RunMigrationsUpTo(db, version).ok());
      ASSERT_EQ(internal::CurrentSchemaVersion(db).value_or(-1), version);
      const bool sqlite = db.dialect() == internal::SqlDialect::kSqlite;
      const std::string key = sqlite ? "X'6b6579'" : "'\\x6b6579'::bytea";
      const absl::Status inserted = db.ExecScript(absl::StrReplaceAll(sql, {{"{{KEY}}", key}}));
      ASSERT_TRUE(inserted.ok()) << inserted;
      for (const std::string& table : tables) {
        if (sqlite) break;
        ASSERT_TRUE(db.ExecScript(absl::StrCat("SELECT setval(pg_get_serial_sequence('", table,
                                               "', 'id'), (SELECT MAX(id) FROM ", table, "))"))
                        .ok());
      }
    }
    auto reopened = backend_->Open();
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    store_ = *std::move(reopened);
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

TEST_P(StoreTest, LatestBatchTimesNameEachLandmarksNewestBatch) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  const Landmark sin = MakeLandmark("sin-1");
  const Landmark fra = MakeLandmark("fra-1");
  const Landmark hkg = MakeLandmark("hkg-1");
  auto empty = store_->LatestBatchTimes();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(*empty, SizeIs(0));
  const absl::Time start = absl::Now();
  ASSERT_TRUE(store_->IngestMeasurements(MakeBatch(hkg.id, 1, device.id, 0, 2)).ok());
  ASSERT_TRUE(store_->IngestMeasurements(MakeBatch(sin.id, 1, device.id, 10, 2)).ok());
  absl::SleepFor(absl::Milliseconds(20));
  const absl::Time second = absl::Now();
  ASSERT_TRUE(store_->IngestMeasurements(MakeBatch(sin.id, 2, device.id, 20, 2)).ok());
  const absl::Time end = absl::Now();
  auto times = store_->LatestBatchTimes();
  ASSERT_TRUE(times.ok()) << times.status();
  ASSERT_THAT(*times, SizeIs(2));  // fra never sent a batch
  EXPECT_EQ((*times)[0].landmark_id, std::min(sin.id, hkg.id));
  for (const LandmarkBatchTime& t : *times) {
    EXPECT_NE(t.landmark_id, fra.id);
    // sin's newest batch is its second one.
    EXPECT_GE(t.received_at, t.landmark_id == sin.id ? second : start);
    EXPECT_LE(t.received_at, end);
  }
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

// ---------------------------------------------------------------- Schema v2

constexpr char kWireIdA[] = "00112233445566778899aabbccddeeff";
constexpr char kWireIdB[] = "ffeeddccbbaa99887766554433221100";

std::string HexHash(char c) { return std::string(64, c); }

TEST_P(StoreTest, LandmarkV2FieldsWireIdLookupAndUpdate) {
  Landmark landmark;
  landmark.name = "sin-1";
  landmark.latitude_deg = 1.29;
  landmark.longitude_deg = 103.85;
  landmark.public_key = std::string(32, '\x07');
  landmark.wire_id = kWireIdA;
  landmark.country = "SG";
  landmark.created_at = absl::FromUnixSeconds(1'000);
  auto created = store_->CreateLandmark(landmark);
  ASSERT_TRUE(created.ok()) << created.status();

  auto by_wire = store_->GetLandmarkByWireId(kWireIdA);
  ASSERT_TRUE(by_wire.ok()) << by_wire.status();
  EXPECT_EQ(by_wire->id, created->id);
  EXPECT_EQ(by_wire->wire_id, kWireIdA);
  EXPECT_EQ(by_wire->country, "SG");
  EXPECT_EQ(by_wire->status_reason, "");
  EXPECT_EQ(store_->GetLandmarkByWireId(kWireIdB).status().code(), absl::StatusCode::kNotFound);

  // The wire id is unique; landmarks without one (empty) do not collide.
  Landmark same_wire = landmark;
  same_wire.name = "sin-2";
  EXPECT_EQ(store_->CreateLandmark(same_wire).status().code(), absl::StatusCode::kAlreadyExists);
  Landmark unset_1 = landmark;
  unset_1.name = "unset-1";
  unset_1.wire_id = "";
  Landmark unset_2 = unset_1;
  unset_2.name = "unset-2";
  ASSERT_TRUE(store_->CreateLandmark(unset_1).ok());
  ASSERT_TRUE(store_->CreateLandmark(unset_2).ok());
  EXPECT_EQ(store_->GetLandmarkByWireId("").status().code(), absl::StatusCode::kNotFound);
  Landmark malformed = landmark;
  malformed.name = "bad";
  malformed.wire_id = "00112233445566778899AABBCCDDEEFF";  // Upper case.
  EXPECT_EQ(store_->CreateLandmark(malformed).status().code(),
            absl::StatusCode::kInvalidArgument);
  malformed.wire_id = "0011";
  EXPECT_EQ(store_->CreateLandmark(malformed).status().code(),
            absl::StatusCode::kInvalidArgument);

  Landmark changed = *by_wire;
  changed.status = LandmarkStatus::kFlagged;
  changed.status_reason = "inconsistent with 3 peers";
  changed.wire_id = kWireIdB;
  changed.latitude_deg = 1.3;
  changed.created_at = absl::FromUnixSeconds(5);  // Ignored.
  ASSERT_TRUE(store_->UpdateLandmark(changed).ok());
  auto updated = store_->GetLandmark(created->id);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->status, LandmarkStatus::kFlagged);
  EXPECT_EQ(updated->status_reason, "inconsistent with 3 peers");
  EXPECT_EQ(updated->wire_id, kWireIdB);
  EXPECT_DOUBLE_EQ(updated->latitude_deg, 1.3);
  EXPECT_EQ(updated->created_at, absl::FromUnixSeconds(1'000));
  EXPECT_EQ(store_->GetLandmarkByWireId(kWireIdA).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetLandmarkByWireId(kWireIdB)->id, created->id);

  changed.id = created->id + 100;
  changed.name = "ghost";
  changed.wire_id = "";
  EXPECT_EQ(store_->UpdateLandmark(changed).code(), absl::StatusCode::kNotFound);
  Landmark taken_name = *updated;
  taken_name.name = "unset-1";
  EXPECT_EQ(store_->UpdateLandmark(taken_name).code(), absl::StatusCode::kAlreadyExists);
}

TEST_P(StoreTest, HostV2FieldsUpdateLookupByNameAndList) {
  const Organization acme = MakeOrganization("acme");
  const Organization globex = MakeOrganization("globex");
  Site site;
  site.organization_id = acme.id;
  site.name = "SIN-DC1";
  site.latitude_deg = 1.33;
  site.longitude_deg = 103.7;
  site.radius_km = 50;
  site.country = "SG";
  auto created_site = store_->CreateSite(site);
  ASSERT_TRUE(created_site.ok()) << created_site.status();

  Host host;
  host.organization_id = acme.id;
  host.hostname = "gpu-node-17";
  host.site_id = created_site->id;
  host.probe_address = "10.0.0.17:7447";
  host.agent_version = "0.1.0";
  host.first_seen = absl::FromUnixSeconds(100);
  host.last_seen = absl::FromUnixSeconds(200);
  auto created = store_->CreateHost(host);
  ASSERT_TRUE(created.ok()) << created.status();
  Host other = host;
  other.organization_id = globex.id;
  other.site_id = 0;
  other.probe_address = "";
  ASSERT_TRUE(store_->CreateHost(other).ok());  // Same hostname, other organization.

  auto by_name = store_->GetHostByName(acme.id, "gpu-node-17");
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ(by_name->id, created->id);
  EXPECT_EQ(by_name->site_id, created_site->id);
  EXPECT_EQ(by_name->probe_address, "10.0.0.17:7447");
  EXPECT_EQ(by_name->agent_version, "0.1.0");
  EXPECT_EQ(store_->GetHostByName(globex.id, "gpu-node-17")->site_id, 0);
  EXPECT_EQ(store_->GetHostByName(acme.id, "gpu-node-99").status().code(),
            absl::StatusCode::kNotFound);

  Host changed = *by_name;
  changed.site_id = 0;
  changed.probe_address = "";
  changed.agent_version = "0.2.0";
  changed.last_seen = absl::FromUnixSeconds(900);
  changed.first_seen = absl::FromUnixSeconds(1);  // Ignored.
  ASSERT_TRUE(store_->UpdateHost(changed).ok());
  auto updated = store_->GetHost(created->id);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->site_id, 0);
  EXPECT_EQ(updated->probe_address, "");
  EXPECT_EQ(updated->agent_version, "0.2.0");
  EXPECT_EQ(updated->last_seen, absl::FromUnixSeconds(900));
  EXPECT_EQ(updated->first_seen, absl::FromUnixSeconds(100));

  changed.site_id = created_site->id + 40;
  EXPECT_EQ(store_->UpdateHost(changed).code(), absl::StatusCode::kInvalidArgument);
  Host bad_site = host;
  bad_site.hostname = "gpu-node-18";
  bad_site.site_id = created_site->id + 40;
  EXPECT_EQ(store_->CreateHost(bad_site).status().code(), absl::StatusCode::kInvalidArgument);
  changed.site_id = 0;
  changed.id = created->id + 40;
  EXPECT_EQ(store_->UpdateHost(changed).code(), absl::StatusCode::kNotFound);

  EXPECT_THAT(store_->ListHosts(acme.id).value_or(std::vector<Host>{}), SizeIs(1));
  auto all = store_->ListHosts(std::nullopt);
  ASSERT_TRUE(all.ok());
  ASSERT_THAT(*all, SizeIs(2));
  EXPECT_EQ((*all)[0].organization_id, acme.id);
  EXPECT_EQ((*all)[1].organization_id, globex.id);
}

TEST_P(StoreTest, DeviceV2FieldsRoundTripAndFilters) {
  const Organization org = MakeOrganization("acme");
  Device device;
  device.organization_id = org.id;
  device.uuid = "GPU-v2";
  device.serial = "1652123456789";
  device.ueid = "ueid-1";
  device.model = "NVIDIA H100 80GB HBM3";
  device.architecture = "Hopper";
  device.vbios = "96.00.5E.00.01";
  device.pci_bus_id = "00000000:17:00.0";
  device.key = {"pk", "kid", AssuranceLevel::kL1, absl::FromUnixSeconds(4'000),
                HexHash('a')};
  auto created = store_->CreateDevice(device);
  ASSERT_TRUE(created.ok()) << created.status();
  auto fetched = store_->GetDevice(created->id);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->architecture, "Hopper");
  EXPECT_EQ(fetched->vbios, "96.00.5E.00.01");
  EXPECT_EQ(fetched->pci_bus_id, "00000000:17:00.0");
  EXPECT_EQ(fetched->key.bound_at, absl::FromUnixSeconds(4'000));
  EXPECT_EQ(fetched->key.evidence_sha256, HexHash('a'));

  Device changed = *fetched;
  changed.vbios = "96.00.99.00.01";
  changed.pci_bus_id = "00000000:18:00.0";
  changed.key.bound_at = absl::FromUnixSeconds(5'000);
  changed.key.evidence_sha256 = "";
  ASSERT_TRUE(store_->UpdateDevice(changed).ok());
  auto updated = store_->GetDeviceByUuid("GPU-v2");
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->vbios, "96.00.99.00.01");
  EXPECT_EQ(updated->pci_bus_id, "00000000:18:00.0");
  EXPECT_EQ(updated->key.bound_at, absl::FromUnixSeconds(5'000));
  EXPECT_EQ(updated->key.evidence_sha256, "");

  for (int i = 0; i < 12; ++i) {
    Device d;
    d.organization_id = org.id;
    d.uuid = absl::StrCat("GPU-f", i);
    d.serial = i % 4 == 0 ? "shared-serial" : absl::StrCat("serial-", i);
    d.ueid = i == 7 ? "ueid-7" : "";
    d.model = i % 2 == 0 ? "B200" : "H100";
    ASSERT_TRUE(store_->CreateDevice(d).ok());
  }
  auto uuids_of = [&](DeviceFilter filter) {
    std::vector<std::string> uuids;
    while (true) {
      auto page = store_->ListDevices(filter);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const Device& d : page->items) uuids.push_back(d.uuid);
      if (page->next_after_id == 0) break;
      filter.page.after_id = page->next_after_id;
    }
    return uuids;
  };
  DeviceFilter by_serial;
  by_serial.serial = "shared-serial";
  EXPECT_THAT(uuids_of(by_serial), ElementsAre("GPU-f0", "GPU-f4", "GPU-f8"));
  DeviceFilter by_ueid;
  by_ueid.ueid = "ueid-7";
  EXPECT_THAT(uuids_of(by_ueid), ElementsAre("GPU-f7"));
  DeviceFilter by_model;
  by_model.model = "B200";
  by_model.page.limit = 2;  // Paginates across three pages.
  EXPECT_THAT(uuids_of(by_model),
              ElementsAre("GPU-f0", "GPU-f2", "GPU-f4", "GPU-f6", "GPU-f8", "GPU-f10"));
  by_model.serial = "shared-serial";
  EXPECT_THAT(uuids_of(by_model), ElementsAre("GPU-f0", "GPU-f4", "GPU-f8"));
  by_model.model = "H100";
  EXPECT_TRUE(uuids_of(by_model).empty());
}

// Schema v3: re-binding a device's key keeps the replaced binding as previous_key; updates
// that keep the key id leave it alone; only one previous binding is kept.
TEST_P(StoreTest, DeviceKeyRebindingKeepsThePreviousBinding) {
  const Organization org = MakeOrganization("acme");
  Device device;
  device.organization_id = org.id;
  device.uuid = "GPU-rot";
  auto created = store_->CreateDevice(device);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->previous_key.public_key.empty());

  // First binding: nothing was replaced.
  Device first = *created;
  first.key = {std::string("pk-1\x00\xff", 6), "kid-1", AssuranceLevel::kL0,
               absl::FromUnixSeconds(1'000), ""};
  ASSERT_TRUE(store_->UpdateDevice(first).ok());
  auto after_first = store_->GetDevice(created->id);
  ASSERT_TRUE(after_first.ok()) << after_first.status();
  EXPECT_TRUE(after_first->previous_key.public_key.empty());
  EXPECT_EQ(after_first->previous_key.key_id, "");

  // Re-binding: kid-1 becomes the previous binding, superseded at kid-2's bound_at.
  Device second = *after_first;
  second.key = {"pk-2", "kid-2", AssuranceLevel::kL1, absl::FromUnixSeconds(2'000), HexHash('b')};
  ASSERT_TRUE(store_->UpdateDevice(second).ok());
  auto after_second = store_->GetDeviceByUuid("GPU-rot");
  ASSERT_TRUE(after_second.ok()) << after_second.status();
  EXPECT_EQ(after_second->key.key_id, "kid-2");
  EXPECT_EQ(after_second->previous_key.public_key, std::string("pk-1\x00\xff", 6));
  EXPECT_EQ(after_second->previous_key.key_id, "kid-1");
  EXPECT_EQ(after_second->previous_key.bound_at, absl::FromUnixSeconds(1'000));
  EXPECT_EQ(after_second->previous_key.superseded_at, absl::FromUnixSeconds(2'000));

  // An update that keeps the key id (last_seen, a licence) keeps previous_key, whatever the
  // caller passes in it.
  Device touched = *after_second;
  touched.last_seen = absl::FromUnixSeconds(2'500);
  touched.previous_key = SupersededKey{};
  ASSERT_TRUE(store_->UpdateDevice(touched).ok());
  auto after_touch = store_->GetDevice(created->id);
  ASSERT_TRUE(after_touch.ok());
  EXPECT_EQ(after_touch->previous_key.key_id, "kid-1");
  EXPECT_EQ(after_touch->previous_key.superseded_at, absl::FromUnixSeconds(2'000));

  // A third key: only kid-2 is kept; kid-1 is gone.
  Device third = *after_touch;
  third.key = {"pk-3", "kid-3", AssuranceLevel::kL0, absl::FromUnixSeconds(3'000), ""};
  ASSERT_TRUE(store_->UpdateDevice(third).ok());
  auto after_third = store_->GetDevice(created->id);
  ASSERT_TRUE(after_third.ok());
  EXPECT_EQ(after_third->previous_key.public_key, "pk-2");
  EXPECT_EQ(after_third->previous_key.key_id, "kid-2");
  EXPECT_EQ(after_third->previous_key.bound_at, absl::FromUnixSeconds(2'000));
  EXPECT_EQ(after_third->previous_key.superseded_at, absl::FromUnixSeconds(3'000));

  // A new key without bound_at is superseded "now".
  const absl::Time before = absl::Now() - absl::Seconds(1);
  Device fourth = *after_third;
  fourth.key = {"pk-4", "kid-4", AssuranceLevel::kL0, absl::UnixEpoch(), ""};
  ASSERT_TRUE(store_->UpdateDevice(fourth).ok());
  auto after_fourth = store_->GetDevice(created->id);
  ASSERT_TRUE(after_fourth.ok());
  EXPECT_EQ(after_fourth->previous_key.key_id, "kid-3");
  EXPECT_GE(after_fourth->previous_key.superseded_at, before);

  // CreateDevice stores previous_key as given (seeding, copies).
  Device copy = *after_fourth;
  copy.uuid = "GPU-rot-copy";
  auto copied = store_->CreateDevice(copy);
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(store_->GetDevice(copied->id)->previous_key.key_id, "kid-3");
}

TEST_P(StoreTest, SitesCreateGetUpdateListAndErrorCodes) {
  const Organization acme = MakeOrganization("acme");
  const Organization globex = MakeOrganization("globex");
  Site site;
  site.organization_id = acme.id;
  site.name = "SIN-DC1";
  site.latitude_deg = 1.33;
  site.longitude_deg = 103.7;
  site.radius_km = 50;
  site.country = "SG";
  auto created = store_->CreateSite(site);
  ASSERT_TRUE(created.ok()) << created.status();
  auto fetched = store_->GetSite(created->id);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->name, "SIN-DC1");
  EXPECT_EQ(fetched->organization_id, acme.id);
  EXPECT_DOUBLE_EQ(fetched->latitude_deg, 1.33);
  EXPECT_DOUBLE_EQ(fetched->longitude_deg, 103.7);
  EXPECT_DOUBLE_EQ(fetched->radius_km, 50);
  EXPECT_EQ(fetched->country, "SG");

  EXPECT_EQ(store_->CreateSite(site).status().code(), absl::StatusCode::kAlreadyExists);
  Site elsewhere = site;
  elsewhere.organization_id = globex.id;  // Names are unique per organization only.
  ASSERT_TRUE(store_->CreateSite(elsewhere).ok());
  Site orphan = site;
  orphan.organization_id = globex.id + 50;
  orphan.name = "orphan";
  EXPECT_EQ(store_->CreateSite(orphan).status().code(), absl::StatusCode::kInvalidArgument);
  Site bad = site;
  bad.name = "bad";
  bad.radius_km = 0;
  EXPECT_EQ(store_->CreateSite(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.radius_km = 10;
  bad.latitude_deg = -95;
  EXPECT_EQ(store_->CreateSite(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.latitude_deg = 0;
  bad.name = "";
  EXPECT_EQ(store_->CreateSite(bad).status().code(), absl::StatusCode::kInvalidArgument);

  Site changed = *fetched;
  changed.name = "SIN-DC2";
  changed.radius_km = 25;
  ASSERT_TRUE(store_->UpdateSite(changed).ok());
  EXPECT_EQ(store_->GetSite(created->id)->name, "SIN-DC2");
  EXPECT_DOUBLE_EQ(store_->GetSite(created->id)->radius_km, 25);
  changed.id = created->id + 100;
  EXPECT_EQ(store_->UpdateSite(changed).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetSite(created->id + 100).status().code(), absl::StatusCode::kNotFound);

  EXPECT_THAT(store_->ListSites(acme.id).value_or(std::vector<Site>{}), SizeIs(1));
  EXPECT_THAT(store_->ListSites(globex.id).value_or(std::vector<Site>{}), SizeIs(1));
  EXPECT_THAT(store_->ListSites(std::nullopt).value_or(std::vector<Site>{}), SizeIs(2));
}

TEST_P(StoreTest, ShipmentsCreateGetUpdateListAndErrorCodes) {
  const Organization acme = MakeOrganization("acme");
  const Organization globex = MakeOrganization("globex");
  const Licence licence = MakeLicence(acme.id, "EL-1");
  Shipment shipment;
  shipment.organization_id = acme.id;
  shipment.licence_id = licence.id;
  shipment.reference = "AWB-123";
  shipment.consignee = "Acme Compute Pte Ltd";
  shipment.billed_country = "SG";
  shipment.shipped_at = absl::FromUnixSeconds(1'760'000'000);
  shipment.serials = {"1652123456789", "1652123456790"};
  auto created = store_->CreateShipment(shipment);
  ASSERT_TRUE(created.ok()) << created.status();
  auto fetched = store_->GetShipment(created->id);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->licence_id, licence.id);
  EXPECT_EQ(fetched->reference, "AWB-123");
  EXPECT_EQ(fetched->consignee, "Acme Compute Pte Ltd");
  EXPECT_EQ(fetched->billed_country, "SG");
  EXPECT_EQ(fetched->shipped_at, absl::FromUnixSeconds(1'760'000'000));
  EXPECT_THAT(fetched->serials, ElementsAre("1652123456789", "1652123456790"));

  EXPECT_EQ(store_->CreateShipment(shipment).status().code(), absl::StatusCode::kAlreadyExists);
  Shipment unlicensed = shipment;
  unlicensed.reference = "AWB-124";
  unlicensed.organization_id = globex.id;
  unlicensed.licence_id = 0;  // Stored as no licence.
  unlicensed.serials.clear();
  auto second = store_->CreateShipment(unlicensed);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(store_->GetShipment(second->id)->licence_id, 0);
  EXPECT_TRUE(store_->GetShipment(second->id)->serials.empty());
  Shipment bad_licence = shipment;
  bad_licence.reference = "AWB-125";
  bad_licence.licence_id = licence.id + 30;
  EXPECT_EQ(store_->CreateShipment(bad_licence).status().code(),
            absl::StatusCode::kInvalidArgument);
  Shipment no_reference = shipment;
  no_reference.reference = "";
  EXPECT_EQ(store_->CreateShipment(no_reference).status().code(),
            absl::StatusCode::kInvalidArgument);

  Shipment changed = *fetched;
  changed.serials = {"1652123456791"};
  changed.billed_country = "MY";
  ASSERT_TRUE(store_->UpdateShipment(changed).ok());
  EXPECT_THAT(store_->GetShipment(created->id)->serials, ElementsAre("1652123456791"));
  EXPECT_EQ(store_->GetShipment(created->id)->billed_country, "MY");
  changed.reference = "AWB-124";
  EXPECT_EQ(store_->UpdateShipment(changed).code(), absl::StatusCode::kAlreadyExists);
  changed.reference = "AWB-999";
  changed.id = second->id + 10;
  EXPECT_EQ(store_->UpdateShipment(changed).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetShipment(second->id + 10).status().code(), absl::StatusCode::kNotFound);

  EXPECT_THAT(store_->ListShipments(acme.id).value_or(std::vector<Shipment>{}), SizeIs(1));
  EXPECT_THAT(store_->ListShipments(std::nullopt).value_or(std::vector<Shipment>{}), SizeIs(2));
}

TEST_P(StoreTest, TokensLookupByHashRevokeAndErrorCodes) {
  const Organization org = MakeOrganization("acme");
  const Landmark landmark = MakeLandmark("sin-1");
  ApiToken ops;
  ops.name = "ops-acme";
  ops.role = Role::kOperator;
  ops.organization_id = org.id;
  ops.secret_sha256 = HexHash('1');
  auto created = store_->CreateToken(ops);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GT(created->created_at, absl::FromUnixSeconds(1'600'000'000));  // Epoch -> now.
  ApiToken lm;
  lm.name = "landmark-sin-1";
  lm.role = Role::kLandmark;
  lm.landmark_id = landmark.id;
  lm.secret_sha256 = HexHash('2');
  ASSERT_TRUE(store_->CreateToken(lm).ok());
  ApiToken admin;
  admin.name = "root";
  admin.role = Role::kAdmin;
  admin.secret_sha256 = HexHash('3');
  ASSERT_TRUE(store_->CreateToken(admin).ok());

  auto found = store_->GetTokenBySecretHash(HexHash('1'));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->id, created->id);
  EXPECT_EQ(found->name, "ops-acme");
  EXPECT_EQ(found->role, Role::kOperator);
  EXPECT_EQ(found->organization_id, org.id);
  EXPECT_EQ(found->landmark_id, 0);
  EXPECT_EQ(found->created_at, created->created_at);
  EXPECT_FALSE(found->revoked);
  auto found_landmark = store_->GetTokenBySecretHash(HexHash('2'));
  ASSERT_TRUE(found_landmark.ok());
  EXPECT_EQ(found_landmark->role, Role::kLandmark);
  EXPECT_EQ(found_landmark->landmark_id, landmark.id);
  EXPECT_EQ(store_->GetTokenBySecretHash(HexHash('9')).status().code(),
            absl::StatusCode::kNotFound);

  ASSERT_TRUE(store_->RevokeToken(created->id).ok());
  ASSERT_TRUE(store_->RevokeToken(created->id).ok());  // Idempotent.
  auto revoked = store_->GetTokenBySecretHash(HexHash('1'));
  ASSERT_TRUE(revoked.ok());  // Still found, flagged.
  EXPECT_TRUE(revoked->revoked);
  EXPECT_FALSE(store_->GetTokenBySecretHash(HexHash('2'))->revoked);
  EXPECT_EQ(store_->RevokeToken(created->id + 100).code(), absl::StatusCode::kNotFound);

  auto all = store_->ListTokens();
  ASSERT_TRUE(all.ok());
  ASSERT_THAT(*all, SizeIs(3));
  EXPECT_EQ((*all)[0].name, "ops-acme");
  EXPECT_TRUE((*all)[0].revoked);
  EXPECT_EQ((*all)[2].role, Role::kAdmin);

  ApiToken same_name = ops;
  same_name.secret_sha256 = HexHash('4');
  EXPECT_EQ(store_->CreateToken(same_name).status().code(), absl::StatusCode::kAlreadyExists);
  ApiToken same_hash = ops;
  same_hash.name = "ops-acme-2";
  EXPECT_EQ(store_->CreateToken(same_hash).status().code(), absl::StatusCode::kAlreadyExists);

  ApiToken bad = ops;
  bad.name = "bad";
  bad.secret_sha256 = "not-a-hash";
  EXPECT_EQ(store_->CreateToken(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.secret_sha256 = std::string(64, 'A');  // Upper-case hex.
  EXPECT_EQ(store_->CreateToken(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.secret_sha256 = HexHash('5');
  bad.organization_id = 0;  // Operator without organization.
  EXPECT_EQ(store_->CreateToken(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.organization_id = org.id + 50;  // Unknown organization.
  EXPECT_EQ(store_->CreateToken(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.role = Role::kLandmark;
  bad.organization_id = 0;
  bad.landmark_id = 0;
  EXPECT_EQ(store_->CreateToken(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.landmark_id = landmark.id + 50;  // Unknown landmark.
  EXPECT_EQ(store_->CreateToken(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store_->ListTokens().value_or(std::vector<ApiToken>{}), SizeIs(3));
}

TEST_P(StoreTest, TopologyAppendLatestAndPaginate) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  const Device other = MakeDevice(org.id, "GPU-2");
  EXPECT_EQ(store_->LatestTopology(device.id).status().code(), absl::StatusCode::kNotFound);

  TopologySnapshot snapshot;
  snapshot.device_id = device.id;
  snapshot.time = absl::FromUnixSeconds(100);
  snapshot.peer_uuids = {"GPU-c", "GPU-a", "GPU-b", "GPU-a"};
  auto first = store_->AppendTopology(snapshot);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(first->peer_uuids, ElementsAre("GPU-a", "GPU-b", "GPU-c"));
  std::vector<int64_t> ids = {first->id};
  for (int i = 1; i < 5; ++i) {
    snapshot.time = absl::FromUnixSeconds(100 + i);
    snapshot.peer_uuids = {absl::StrCat("GPU-p", i)};
    auto appended = store_->AppendTopology(snapshot);
    ASSERT_TRUE(appended.ok()) << appended.status();
    ids.push_back(appended->id);
  }
  TopologySnapshot empty_peers;
  empty_peers.device_id = other.id;
  empty_peers.time = absl::FromUnixSeconds(999);
  ASSERT_TRUE(store_->AppendTopology(empty_peers).ok());

  auto latest = store_->LatestTopology(device.id);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->id, ids.back());
  EXPECT_EQ(latest->time, absl::FromUnixSeconds(104));
  EXPECT_THAT(latest->peer_uuids, ElementsAre("GPU-p4"));
  EXPECT_TRUE(store_->LatestTopology(other.id)->peer_uuids.empty());

  PageRequest page{0, 2};
  std::vector<int64_t> seen;
  int pages = 0;
  while (true) {
    auto p = store_->ListTopology(device.id, page);
    ASSERT_TRUE(p.ok()) << p.status();
    ++pages;
    for (const TopologySnapshot& t : p->items) {
      EXPECT_EQ(t.device_id, device.id);
      seen.push_back(t.id);
    }
    if (p->next_after_id == 0) break;
    page.after_id = p->next_after_id;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, ids);
  auto first_page = store_->ListTopology(device.id, {0, 1});
  ASSERT_TRUE(first_page.ok());
  EXPECT_THAT(first_page->items[0].peer_uuids, ElementsAre("GPU-a", "GPU-b", "GPU-c"));

  snapshot.device_id = other.id + 50;
  EXPECT_EQ(store_->AppendTopology(snapshot).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, DeviceEventsAppendAndPaginate) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  Host host;
  host.organization_id = org.id;
  host.hostname = "node-1";
  auto created_host = store_->CreateHost(host);
  ASSERT_TRUE(created_host.ok());

  DeviceEvent event;
  event.device_id = device.id;
  event.time = absl::FromUnixSeconds(300);
  event.kind = "host_changed";
  event.host_id = created_host->id;
  event.organization_id = org.id;
  event.details_json = R"({"from_host":"node-0"})";
  auto first = store_->AppendDeviceEvent(event);
  ASSERT_TRUE(first.ok()) << first.status();
  DeviceEvent bare;
  bare.device_id = device.id;
  bare.kind = "key_bound";  // Time left at the epoch: stored as now.
  auto second = store_->AppendDeviceEvent(bare);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_GT(second->time, absl::FromUnixSeconds(1'600'000'000));

  auto page = store_->ListDeviceEvents(device.id, {0, 1});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_THAT(page->items, SizeIs(1));
  const DeviceEvent& e = page->items[0];
  EXPECT_EQ(e.id, first->id);
  EXPECT_EQ(e.kind, "host_changed");
  EXPECT_EQ(e.time, absl::FromUnixSeconds(300));
  EXPECT_EQ(e.host_id, created_host->id);
  EXPECT_EQ(e.organization_id, org.id);
  EXPECT_EQ(e.details_json, R"({"from_host":"node-0"})");
  EXPECT_EQ(page->next_after_id, first->id);
  auto rest = store_->ListDeviceEvents(device.id, {page->next_after_id, 10});
  ASSERT_TRUE(rest.ok());
  ASSERT_THAT(rest->items, SizeIs(1));
  EXPECT_EQ(rest->items[0].kind, "key_bound");
  EXPECT_EQ(rest->items[0].host_id, 0);
  EXPECT_EQ(rest->items[0].time, second->time);
  EXPECT_EQ(rest->next_after_id, 0);
  EXPECT_TRUE(store_->ListDeviceEvents(device.id + 1, {})->items.empty());

  DeviceEvent bad = event;
  bad.details_json = "{";
  EXPECT_EQ(store_->AppendDeviceEvent(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = event;
  bad.kind = "";
  EXPECT_EQ(store_->AppendDeviceEvent(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = event;
  bad.host_id = created_host->id + 9;
  EXPECT_EQ(store_->AppendDeviceEvent(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = event;
  bad.device_id = device.id + 9;
  EXPECT_EQ(store_->AppendDeviceEvent(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, TelemetryKeepsOnlyTheLatest) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  EXPECT_EQ(store_->GetTelemetry(device.id).status().code(), absl::StatusCode::kNotFound);
  Telemetry t;
  t.device_id = device.id;
  t.time = absl::FromUnixSeconds(1'000);
  t.temperature_c = 61.5;
  t.power_w = 420;
  t.utilization_pct = 97;
  t.ecc_uncorrected = 1;
  t.xid_count = 2;
  t.last_xid = 79;
  ASSERT_TRUE(store_->PutTelemetry(t).ok());
  auto stored = store_->GetTelemetry(device.id);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->time, absl::FromUnixSeconds(1'000));
  EXPECT_DOUBLE_EQ(stored->temperature_c, 61.5);
  EXPECT_DOUBLE_EQ(stored->power_w, 420);
  EXPECT_DOUBLE_EQ(stored->utilization_pct, 97);
  EXPECT_EQ(stored->ecc_uncorrected, 1);
  EXPECT_EQ(stored->xid_count, 2);
  EXPECT_EQ(stored->last_xid, 79);

  Telemetry newer = t;
  newer.time = absl::FromUnixSeconds(2'000);
  newer.temperature_c = 70;
  newer.last_xid = 0;
  ASSERT_TRUE(store_->PutTelemetry(newer).ok());
  Telemetry older = t;
  older.time = absl::FromUnixSeconds(1'500);
  older.temperature_c = 10;
  ASSERT_TRUE(store_->PutTelemetry(older).ok());  // Accepted, ignored.
  stored = store_->GetTelemetry(device.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->time, absl::FromUnixSeconds(2'000));
  EXPECT_DOUBLE_EQ(stored->temperature_c, 70);
  EXPECT_EQ(stored->last_xid, 0);

  Telemetry unknown = t;
  unknown.device_id = device.id + 7;
  EXPECT_EQ(store_->PutTelemetry(unknown).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetTelemetry(device.id + 7).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, MinRttsPerPairCountLastTimeAndWindow) {
  const Organization org = MakeOrganization("acme");
  const Device a = MakeDevice(org.id, "GPU-A");
  const Device b = MakeDevice(org.id, "GPU-B");
  const Device silent = MakeDevice(org.id, "GPU-silent");
  const Landmark l1 = MakeLandmark("l1");
  const Landmark l2 = MakeLandmark("l2");
  const absl::Time t0 = absl::FromUnixSeconds(1'750'000'000);
  // (device, landmark, seconds after t0, rtt_ns); sequences are per pair.
  struct Row {
    int64_t device_id;
    int64_t landmark_id;
    int seconds;
    int64_t rtt_ns;
  };
  const std::vector<Row> rows = {
      {a.id, l1.id, 0, 5'000}, {a.id, l1.id, 10, 3'000}, {a.id, l1.id, 20, 4'000},
      {a.id, l2.id, 5, 9'000}, {a.id, l2.id, 30, 8'000},
      {b.id, l1.id, 15, 7'000}, {b.id, l2.id, 1, 2'000}, {b.id, l2.id, 25, 6'000},
  };
  int64_t batch_sequence = 0;
  for (const Landmark& landmark : {l1, l2}) {
    MeasurementBatch batch;
    batch.landmark_id = landmark.id;
    batch.batch_sequence = ++batch_sequence;
    int64_t sequence = 0;
    for (const Row& row : rows) {
      if (row.landmark_id != landmark.id) continue;
      Measurement m = MakeMeasurement(row.device_id, ++sequence);
      m.time = t0 + absl::Seconds(row.seconds);
      m.rtt_ns = row.rtt_ns;
      batch.measurements.push_back(m);
    }
    ASSERT_TRUE(store_->IngestMeasurements(batch).ok());
  }

  auto all = store_->MinRtts(std::nullopt, t0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_THAT(*all, SizeIs(4));
  auto expect = [&](const MinRtt& m, int64_t device_id, int64_t landmark_id, int64_t min_rtt_ns,
                    int64_t count, int last_seconds) {
    EXPECT_EQ(m.device_id, device_id);
    EXPECT_EQ(m.landmark_id, landmark_id);
    EXPECT_EQ(m.min_rtt_ns, min_rtt_ns);
    EXPECT_EQ(m.count, count);
    EXPECT_EQ(m.last_time, t0 + absl::Seconds(last_seconds));
  };
  expect((*all)[0], a.id, l1.id, 3'000, 3, 20);
  expect((*all)[1], a.id, l2.id, 8'000, 2, 30);
  expect((*all)[2], b.id, l1.id, 7'000, 1, 15);
  expect((*all)[3], b.id, l2.id, 2'000, 2, 25);

  // `since` is inclusive and drops older measurements from min, count and last_time.
  auto window = store_->MinRtts(std::nullopt, t0 + absl::Seconds(15));
  ASSERT_TRUE(window.ok()) << window.status();
  ASSERT_THAT(*window, SizeIs(4));
  expect((*window)[0], a.id, l1.id, 4'000, 1, 20);
  expect((*window)[1], a.id, l2.id, 8'000, 1, 30);
  expect((*window)[2], b.id, l1.id, 7'000, 1, 15);
  expect((*window)[3], b.id, l2.id, 6'000, 1, 25);
  auto late = store_->MinRtts(std::nullopt, t0 + absl::Seconds(21));
  ASSERT_TRUE(late.ok());
  ASSERT_THAT(*late, SizeIs(2));
  expect((*late)[0], a.id, l2.id, 8'000, 1, 30);
  expect((*late)[1], b.id, l2.id, 6'000, 1, 25);

  auto only_b = store_->MinRtts(b.id, t0);
  ASSERT_TRUE(only_b.ok()) << only_b.status();
  ASSERT_THAT(*only_b, SizeIs(2));
  expect((*only_b)[0], b.id, l1.id, 7'000, 1, 15);
  expect((*only_b)[1], b.id, l2.id, 2'000, 2, 25);
  auto only_b_late = store_->MinRtts(b.id, t0 + absl::Seconds(20));
  ASSERT_TRUE(only_b_late.ok());
  ASSERT_THAT(*only_b_late, SizeIs(1));
  expect((*only_b_late)[0], b.id, l2.id, 6'000, 1, 25);
  EXPECT_TRUE(store_->MinRtts(silent.id, t0)->empty());
  EXPECT_TRUE(store_->MinRtts(std::nullopt, t0 + absl::Hours(1))->empty());
}

Verdict MakeVerdict(int64_t device_id, int seconds, VerdictStatus status) {
  Verdict v;
  v.device_id = device_id;
  v.time = absl::FromUnixSeconds(seconds);
  v.status = status;
  v.reason = absl::StrCat("at ", seconds);
  v.region_summary_json = absl::StrCat(R"({"t":)", seconds, "}");
  v.assurance = AssuranceLevel::kL1;
  return v;
}

TEST_P(StoreTest, LatestVerdictsPerOrganizationInDeviceOrder) {
  const Organization acme = MakeOrganization("acme");
  const Organization globex = MakeOrganization("globex");
  const Device a1 = MakeDevice(acme.id, "GPU-a1");
  const Device g1 = MakeDevice(globex.id, "GPU-g1");
  const Device a2 = MakeDevice(acme.id, "GPU-a2");
  MakeDevice(acme.id, "GPU-a3-no-verdict");
  EXPECT_TRUE(store_->LatestVerdicts(std::nullopt)->empty());
  ASSERT_TRUE(store_->AppendVerdict(MakeVerdict(a2.id, 10, VerdictStatus::kCompliant)).ok());
  ASSERT_TRUE(store_->AppendVerdict(MakeVerdict(a1.id, 11, VerdictStatus::kUnproven)).ok());
  ASSERT_TRUE(store_->AppendVerdict(MakeVerdict(g1.id, 12, VerdictStatus::kCompliant)).ok());
  ASSERT_TRUE(store_->AppendVerdict(MakeVerdict(a2.id, 13, VerdictStatus::kViolation)).ok());
  ASSERT_TRUE(store_->AppendVerdicts({MakeVerdict(a1.id, 14, VerdictStatus::kCompliant),
                                      MakeVerdict(g1.id, 15, VerdictStatus::kViolation),
                                      MakeVerdict(g1.id, 16, VerdictStatus::kUnproven)})
                  .ok());

  auto all = store_->LatestVerdicts(std::nullopt);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_THAT(*all, SizeIs(3));
  EXPECT_EQ((*all)[0].device_id, a1.id);
  EXPECT_EQ((*all)[0].status, VerdictStatus::kCompliant);
  EXPECT_EQ((*all)[0].time, absl::FromUnixSeconds(14));
  EXPECT_EQ((*all)[0].region_summary_json, R"({"t":14})");
  EXPECT_EQ((*all)[0].assurance, AssuranceLevel::kL1);
  EXPECT_EQ((*all)[1].device_id, g1.id);
  EXPECT_EQ((*all)[1].status, VerdictStatus::kUnproven);
  EXPECT_EQ((*all)[2].device_id, a2.id);
  EXPECT_EQ((*all)[2].status, VerdictStatus::kViolation);
  EXPECT_EQ((*all)[2].reason, "at 13");
  for (const Verdict& v : *all) {
    auto latest = store_->LatestVerdict(v.device_id);
    ASSERT_TRUE(latest.ok());
    EXPECT_EQ(latest->id, v.id);
  }

  auto acme_only = store_->LatestVerdicts(acme.id);
  ASSERT_TRUE(acme_only.ok());
  ASSERT_THAT(*acme_only, SizeIs(2));
  EXPECT_EQ((*acme_only)[0].device_id, a1.id);
  EXPECT_EQ((*acme_only)[1].device_id, a2.id);
  EXPECT_TRUE(store_->LatestVerdicts(globex.id + 10)->empty());
}

TEST_P(StoreTest, AppendVerdictsIsAtomic) {
  const Organization org = MakeOrganization("acme");
  const Device a = MakeDevice(org.id, "GPU-a");
  const Device b = MakeDevice(org.id, "GPU-b");
  ASSERT_TRUE(store_->AppendVerdicts({}).ok());
  // An unknown device in the middle: nothing of the call is stored.
  auto status = store_->AppendVerdicts({MakeVerdict(a.id, 1, VerdictStatus::kCompliant),
                                        MakeVerdict(b.id + 50, 2, VerdictStatus::kCompliant),
                                        MakeVerdict(b.id, 3, VerdictStatus::kCompliant)});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(status.message()).find("verdicts[1]"), std::string::npos) << status;
  EXPECT_EQ(store_->LatestVerdict(a.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->LatestVerdicts(std::nullopt)->empty());
  // Invalid JSON is refused before anything is written.
  Verdict bad_json = MakeVerdict(b.id, 4, VerdictStatus::kCompliant);
  bad_json.region_summary_json = "{";
  EXPECT_EQ(store_->AppendVerdicts({MakeVerdict(a.id, 1, VerdictStatus::kCompliant), bad_json})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->ListVerdicts(a.id, {})->items.empty());

  std::vector<Verdict> many;
  for (int i = 0; i < 500; ++i) {
    many.push_back(MakeVerdict(i % 2 == 0 ? a.id : b.id, 100 + i, VerdictStatus::kUnproven));
  }
  // Written in chunks of 100 rows: a bad reference in a later chunk undoes the earlier ones.
  std::vector<Verdict> bad_late = many;
  bad_late[250].device_id = b.id + 50;
  const absl::Status late = store_->AppendVerdicts(bad_late);
  EXPECT_EQ(late.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(late.message()).find("verdicts[250]"), std::string::npos) << late;
  EXPECT_TRUE(store_->ListVerdicts(a.id, {})->items.empty());
  EXPECT_TRUE(store_->LatestVerdicts(std::nullopt)->empty());
  ASSERT_TRUE(store_->AppendVerdicts(many).ok());
  EXPECT_THAT(store_->ListVerdicts(a.id, {0, kMaxPageSize})->items, SizeIs(250));
  EXPECT_EQ(store_->LatestVerdict(b.id)->time, absl::FromUnixSeconds(599));
  EXPECT_EQ(store_->LatestVerdict(a.id)->time, absl::FromUnixSeconds(598));
}

TEST_P(StoreTest, ResolveAlertStateMachine) {
  const Organization org = MakeOrganization("acme");
  Alert alert;
  alert.organization_id = org.id;
  alert.type = "went_dark";
  auto open = store_->CreateAlert(alert);
  auto acked = store_->CreateAlert(alert);
  ASSERT_TRUE(open.ok() && acked.ok());
  ASSERT_TRUE(
      store_->AcknowledgeAlert(acked->id, "ops", "looking", absl::FromUnixSeconds(10)).ok());

  // open -> resolved and acknowledged -> resolved.
  ASSERT_TRUE(store_->ResolveAlert(open->id, absl::FromUnixSeconds(20)).ok());
  ASSERT_TRUE(store_->ResolveAlert(acked->id, absl::FromUnixSeconds(30)).ok());
  EXPECT_EQ(store_->GetAlert(open->id)->state, AlertState::kResolved);
  auto resolved = store_->GetAlert(acked->id);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->state, AlertState::kResolved);
  EXPECT_EQ(resolved->acknowledged_by, "ops");  // The acknowledgement stays on record.
  EXPECT_EQ(resolved->acknowledged_at, absl::FromUnixSeconds(10));

  // resolved is final.
  EXPECT_EQ(store_->ResolveAlert(open->id, absl::FromUnixSeconds(40)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->AcknowledgeAlert(open->id, "ops", "", absl::FromUnixSeconds(40)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->ResolveAlert(acked->id + 100, absl::FromUnixSeconds(40)).code(),
            absl::StatusCode::kNotFound);
  AlertFilter resolved_filter;
  resolved_filter.state = AlertState::kResolved;
  EXPECT_THAT(store_->ListAlerts(resolved_filter)->items, SizeIs(2));
}

// MinRtts and LatestVerdicts run on the store's reader connection: they proceed beside ingest
// and verdict writes without errors and always see a committed state.
TEST_P(StoreTest, AggregateReadsRunBesideWrites) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  const Landmark landmark = MakeLandmark("sin-1");
  constexpr int kBatches = 30;
  constexpr int kPerBatch = 40;
  std::atomic<bool> done{false};
  int write_failures = 0;
  std::thread writer([&] {
    for (int b = 0; b < kBatches; ++b) {
      if (!store_->IngestMeasurements(MakeBatch(landmark.id, b, device.id, b * kPerBatch,
                                                kPerBatch))
               .ok() ||
          !store_->AppendVerdict(MakeVerdict(device.id, b, VerdictStatus::kUnproven)).ok()) {
        ++write_failures;
      }
    }
    done = true;
  });
  int read_failures = 0;
  int64_t last_count = 0;
  int reads = 0;
  while (!done || reads == 0) {
    auto rtts = store_->MinRtts(std::nullopt, absl::UnixEpoch());
    auto verdicts = store_->LatestVerdicts(std::nullopt);
    ++reads;
    if (!rtts.ok() || !verdicts.ok() || rtts->size() > 1) {
      ++read_failures;
      continue;
    }
    const int64_t count = rtts->empty() ? 0 : rtts->front().count;
    if (count < last_count || count % kPerBatch != 0) ++read_failures;  // Whole batches only.
    last_count = count;
  }
  writer.join();
  EXPECT_EQ(write_failures, 0);
  EXPECT_EQ(read_failures, 0);
  auto final_rtts = store_->MinRtts(device.id, absl::UnixEpoch());
  ASSERT_TRUE(final_rtts.ok());
  ASSERT_THAT(*final_rtts, SizeIs(1));
  EXPECT_EQ(final_rtts->front().count, kBatches * kPerBatch);
  EXPECT_EQ(store_->LatestVerdicts(std::nullopt)->front().time,
            absl::FromUnixSeconds(kBatches - 1));
}

// A database written by a schema-v1 binary opens as v2 with its data intact and the new
// columns at their defaults; the v2 features work on the old records.
TEST_P(StoreTest, MigratesV1DatabaseToV2PreservingData) {
  // SetUp migrated its location to the latest version; start over on a fresh location built
  // with migration 1 only. Explicit ids do not advance PostgreSQL's identity sequences; a v1
  // server would have used them.
  ASSERT_NO_FATAL_FAILURE(OpenMigratedFrom(
      1,
      "INSERT INTO organizations (id, name, created_at_ns) VALUES (1, 'acme', 5);"
      "INSERT INTO landmarks (id, name, latitude_deg, longitude_deg, public_key, status, "
      "created_at_ns) VALUES (1, 'sin-1', 1.3, 103.8, {{KEY}}, 'active', 6);"
      "INSERT INTO landmarks (id, name, latitude_deg, longitude_deg, public_key, status, "
      "created_at_ns) VALUES (2, 'sin-2', 1.4, 103.9, {{KEY}}, 'retired', 6);"
      "INSERT INTO hosts (id, organization_id, hostname, first_seen_ns, last_seen_ns) VALUES "
      "(1, 1, 'node-1', 7, 8);"
      "INSERT INTO devices (id, organization_id, host_id, licence_id, uuid, serial, ueid, "
      "model, key_public_key, key_id, assurance_level, first_seen_ns, last_seen_ns) VALUES "
      "(1, 1, 1, NULL, 'GPU-old', 'S1', '', 'H100', {{KEY}}, 'kid', 1, 9, 10);"
      "INSERT INTO measurement_batches (id, landmark_id, batch_sequence, content_hash, "
      "measurement_count, received_at_ns) VALUES (1, 1, 1, {{KEY}}, 2, 11);"
      "INSERT INTO measurements (id, device_id, landmark_id, time_ns, rtt_ns, nonce, sequence, "
      "key_id, reply_signature, batch_id) VALUES "
      "(1, 1, 1, 1000, 700, {{KEY}}, 1, 'kid', {{KEY}}, 1), "
      "(2, 1, 1, 2000, 500, {{KEY}}, 2, 'kid', {{KEY}}, 1);"
      "INSERT INTO verdicts (id, device_id, time_ns, status, reason, region_summary_json, "
      "estimate_latitude_deg, estimate_longitude_deg, estimate_radius_km, robustness_f, "
      "assurance_level) VALUES (1, 1, 20, 'unproven', 'first', '{}', 0, 0, 0, 0, 0), "
      "(2, 1, 30, 'compliant', 'second', '{}', 1.3, 103.8, 50, 1, 1);"
      "INSERT INTO alerts (id, organization_id, device_id, type, severity, subject, "
      "evidence_json, state, acknowledged_by, acknowledge_comment, created_at_ns, "
      "acknowledged_at_ns) VALUES (1, 1, 1, 'went_dark', 'warning', 's', '{}', 'open', '', '', "
      "40, 0);",
      {"organizations", "landmarks", "hosts", "devices", "measurement_batches", "measurements",
       "verdicts", "alerts"}));
  EXPECT_EQ(store_->SchemaVersion().value_or(-1), internal::LatestSchemaVersion());

  auto org = store_->GetOrganization(1);
  ASSERT_TRUE(org.ok()) << org.status();
  EXPECT_EQ(org->name, "acme");
  auto landmark = store_->GetLandmark(1);
  ASSERT_TRUE(landmark.ok()) << landmark.status();
  EXPECT_EQ(landmark->public_key, "key");
  EXPECT_EQ(landmark->wire_id, "");
  EXPECT_EQ(landmark->country, "");
  EXPECT_EQ(store_->GetLandmark(2)->status, LandmarkStatus::kRetired);
  auto host = store_->GetHost(1);
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->hostname, "node-1");
  EXPECT_EQ(host->site_id, 0);
  EXPECT_EQ(host->probe_address, "");
  auto device = store_->GetDeviceByUuid("GPU-old");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->host_id, 1);
  EXPECT_EQ(device->key.assurance, AssuranceLevel::kL1);
  EXPECT_EQ(device->architecture, "");
  EXPECT_EQ(device->key.bound_at, absl::UnixEpoch());
  EXPECT_EQ(CountMeasurements(), 2);
  EXPECT_EQ(store_->GetAlert(1)->type, "went_dark");

  // latest_verdict_id was backfilled by the migration.
  auto latest = store_->LatestVerdicts(std::nullopt);
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_THAT(*latest, SizeIs(1));
  EXPECT_EQ(latest->front().id, 2);
  EXPECT_EQ(latest->front().reason, "second");
  auto rtts = store_->MinRtts(std::nullopt, absl::UnixEpoch());
  ASSERT_TRUE(rtts.ok()) << rtts.status();
  ASSERT_THAT(*rtts, SizeIs(1));
  EXPECT_EQ(rtts->front().min_rtt_ns, 500);
  EXPECT_EQ(rtts->front().count, 2);

  // v2 writes on v1 records, and new ids continue after the old ones.
  Landmark upgraded = *landmark;
  upgraded.wire_id = kWireIdA;
  upgraded.country = "SG";
  ASSERT_TRUE(store_->UpdateLandmark(upgraded).ok());
  EXPECT_EQ(store_->GetLandmarkByWireId(kWireIdA)->id, 1);
  Device new_device = *device;
  new_device.uuid = "GPU-new";
  auto created = store_->CreateDevice(new_device);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GT(created->id, 1);
  ASSERT_TRUE(store_->ResolveAlert(1, absl::FromUnixSeconds(50)).ok());

  // Reopening does not run migration 2 again.
  store_.reset();
  auto again = backend_->Open();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->SchemaVersion().value_or(-1), internal::LatestSchemaVersion());
  EXPECT_EQ((*again)->GetLandmark(1)->country, "SG");
}

// A database written by a schema-v2 binary opens as v3: devices keep their bound key and get
// an empty previous binding; the next re-binding fills it.
TEST_P(StoreTest, MigratesV2DatabaseToV3WithEmptyPreviousKeys) {
  ASSERT_NO_FATAL_FAILURE(OpenMigratedFrom(
      2,
      "INSERT INTO organizations (id, name, created_at_ns) VALUES (1, 'acme', 5);"
      "INSERT INTO devices (id, organization_id, host_id, licence_id, uuid, serial, ueid, "
      "model, key_public_key, key_id, assurance_level, first_seen_ns, last_seen_ns, "
      "architecture, key_bound_at_ns) VALUES "
      "(1, 1, NULL, NULL, 'GPU-v2', 'S1', '', 'H100', {{KEY}}, 'kid', 0, 9, 10, 'Hopper', "
      "1000000000);",
      {"organizations", "devices"}));
  EXPECT_EQ(store_->SchemaVersion().value_or(-1), internal::LatestSchemaVersion());
  auto device = store_->GetDeviceByUuid("GPU-v2");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->key.public_key, "key");
  EXPECT_EQ(device->key.key_id, "kid");
  EXPECT_EQ(device->key.bound_at, absl::FromUnixSeconds(1));
  EXPECT_EQ(device->architecture, "Hopper");
  EXPECT_EQ(device->previous_key.public_key, "");
  EXPECT_EQ(device->previous_key.key_id, "");
  EXPECT_EQ(device->previous_key.bound_at, absl::UnixEpoch());
  EXPECT_EQ(device->previous_key.superseded_at, absl::UnixEpoch());

  Device rebound = *device;
  rebound.key = {"key-2", "kid-2", AssuranceLevel::kL0, absl::FromUnixSeconds(7), ""};
  ASSERT_TRUE(store_->UpdateDevice(rebound).ok());
  auto after = store_->GetDevice(1);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->previous_key.public_key, "key");
  EXPECT_EQ(after->previous_key.key_id, "kid");
  EXPECT_EQ(after->previous_key.bound_at, absl::FromUnixSeconds(1));
  EXPECT_EQ(after->previous_key.superseded_at, absl::FromUnixSeconds(7));

  store_.reset();
  auto again = backend_->Open();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->SchemaVersion().value_or(-1), internal::LatestSchemaVersion());
  EXPECT_EQ((*again)->GetDevice(1)->previous_key.key_id, "kid");
}

// ---- Schema v4: health history, compliance over time -------------------------------------

Telemetry Report(int64_t device_id, int64_t time_s, double temperature_c, int64_t xid_count = 0,
                 int64_t last_xid = 0, int64_t ecc = 0) {
  Telemetry t;
  t.device_id = device_id;
  t.time = absl::FromUnixSeconds(time_s);
  t.temperature_c = temperature_c;
  t.power_w = 400;
  t.utilization_pct = 90;
  t.ecc_uncorrected = ecc;
  t.xid_count = xid_count;
  t.last_xid = last_xid;
  return t;
}

std::vector<int64_t> SampleSeconds(const TelemetryHistory& history) {
  std::vector<int64_t> out;
  for (const Telemetry& t : history.samples) out.push_back(absl::ToUnixSeconds(t.time));
  return out;
}

TEST_P(StoreTest, RecordTelemetrySamplesByIntervalAndKeepsEveryXidOrEccChange) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  const Device other = MakeDevice(org.id, "GPU-2");
  const absl::Duration interval = absl::Seconds(300);
  // t=0 first sample; 100, 200 thinned; 300 due; 400 XID changed (kept inside the interval);
  // 450 same counters as 400: thinned; 500 ECC changed: kept; 800 due again.
  const std::vector<std::pair<Telemetry, bool>> reports = {
      {Report(device.id, 1'000, 60), true},
      {Report(device.id, 1'100, 61), false},
      {Report(device.id, 1'200, 62), false},
      {Report(device.id, 1'300, 63), true},
      {Report(device.id, 1'400, 64, 1, 79), true},
      {Report(device.id, 1'450, 65, 1, 79), false},
      {Report(device.id, 1'500, 66, 1, 79, 2), true},
      {Report(device.id, 1'800, 67, 1, 79, 2), true},
  };
  for (const auto& [report, sampled] : reports) {
    auto appended = store_->RecordTelemetry({report}, interval);
    ASSERT_TRUE(appended.ok()) << appended.status();
    EXPECT_EQ(*appended, sampled ? 1 : 0) << "report at " << report.time;
  }
  // The same report again is not stored twice; the latest health follows every report.
  EXPECT_EQ(store_->RecordTelemetry({reports.back().first}, interval).value_or(-1), 0);
  auto latest = store_->GetTelemetry(device.id);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->time, absl::FromUnixSeconds(1'800));
  EXPECT_DOUBLE_EQ(latest->temperature_c, 67);

  auto history = store_->ListTelemetrySamples(device.id, absl::FromUnixSeconds(0),
                                              absl::FromUnixSeconds(10'000), 100);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_THAT(SampleSeconds(*history), ElementsAre(1'000, 1'300, 1'400, 1'500, 1'800));
  EXPECT_FALSE(history->truncated);
  ASSERT_THAT(history->samples, SizeIs(5));
  const Telemetry& xid = history->samples[2];
  EXPECT_EQ(xid.device_id, device.id);
  EXPECT_DOUBLE_EQ(xid.temperature_c, 64);
  EXPECT_DOUBLE_EQ(xid.power_w, 400);
  EXPECT_DOUBLE_EQ(xid.utilization_pct, 90);
  EXPECT_EQ(xid.xid_count, 1);
  EXPECT_EQ(xid.last_xid, 79);
  EXPECT_EQ(history->samples[3].ecc_uncorrected, 2);

  // A batch: all or none, and the error names the report.
  const std::vector<Telemetry> bad = {Report(other.id, 1'000, 50),
                                      Report(other.id + 100, 1'000, 50)};
  auto rejected = store_->RecordTelemetry(bad, interval);
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rejected.status().message()), ::testing::HasSubstr("reports[1]"));
  EXPECT_EQ(store_->GetTelemetry(other.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(store_->ListTelemetrySamples(other.id, absl::UnixEpoch(),
                                           absl::FromUnixSeconds(10'000), 10)
                  ->samples,
              SizeIs(0));
  EXPECT_EQ(store_->RecordTelemetry({Report(other.id, 1, 1)}, absl::Seconds(-1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Interval 0: every report with a new time is a sample.
  EXPECT_EQ(store_->RecordTelemetry({Report(other.id, 1'000, 50), Report(other.id, 1'001, 51)},
                                    absl::ZeroDuration())
                .value_or(-1),
            2);
}

// Pruning deletes in chunks of 10,000 rows; a count across several chunks is exact and
// nothing at or after `before` goes.
TEST_P(StoreTest, PruningManySamplesDeletesExactlyThoseBefore) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  std::vector<Telemetry> reports;
  for (int i = 0; i < 20'500; ++i) reports.push_back(Report(device.id, 1'000 + i, 50));
  ASSERT_EQ(store_->RecordTelemetry(reports, absl::Seconds(1)).value_or(-1), 20'500);
  EXPECT_EQ(store_->DeleteTelemetrySamplesBefore(absl::FromUnixSeconds(1'000 + 20'123))
                .value_or(-1),
            20'123);
  auto left = store_->ListTelemetrySamples(device.id, absl::UnixEpoch(),
                                           absl::FromUnixSeconds(100'000), 10'000);
  ASSERT_TRUE(left.ok()) << left.status();
  ASSERT_THAT(left->samples, SizeIs(20'500 - 20'123));
  EXPECT_EQ(left->samples.front().time, absl::FromUnixSeconds(1'000 + 20'123));
  EXPECT_EQ(store_->DeleteTelemetrySamplesBefore(absl::FromUnixSeconds(1'000 + 20'123))
                .value_or(-1),
            0);
}

TEST_P(StoreTest, TelemetrySamplesRangeTruncationAndPruning) {
  const Organization org = MakeOrganization("acme");
  const Device device = MakeDevice(org.id, "GPU-1");
  const Device other = MakeDevice(org.id, "GPU-2");
  std::vector<Telemetry> reports;
  for (int i = 0; i < 10; ++i) reports.push_back(Report(device.id, 1'000 + 60 * i, 50 + i));
  reports.push_back(Report(other.id, 1'000, 40));
  ASSERT_EQ(store_->RecordTelemetry(reports, absl::Seconds(60)).value_or(-1), 11);

  // Inclusive range [1120, 1360]: 1120, 1180, 1240, 1300, 1360.
  auto all = store_->ListTelemetrySamples(device.id, absl::FromUnixSeconds(1'120),
                                          absl::FromUnixSeconds(1'360), 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(SampleSeconds(*all), ElementsAre(1'120, 1'180, 1'240, 1'300, 1'360));
  EXPECT_FALSE(all->truncated);
  // The newest `limit`, oldest first, flagged truncated.
  auto newest = store_->ListTelemetrySamples(device.id, absl::FromUnixSeconds(1'120),
                                             absl::FromUnixSeconds(1'360), 2);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_THAT(SampleSeconds(*newest), ElementsAre(1'300, 1'360));
  EXPECT_TRUE(newest->truncated);
  // Exactly `limit` samples in the range: not truncated.
  auto exact = store_->ListTelemetrySamples(device.id, absl::FromUnixSeconds(1'120),
                                            absl::FromUnixSeconds(1'360), 5);
  ASSERT_TRUE(exact.ok());
  EXPECT_FALSE(exact->truncated);
  EXPECT_THAT(store_->ListTelemetrySamples(device.id + 100, absl::UnixEpoch(),
                                           absl::FromUnixSeconds(10'000), 10)
                  ->samples,
              SizeIs(0));

  // Pruning: strictly older than the cutoff, every device; the latest health stays.
  auto deleted = store_->DeleteTelemetrySamplesBefore(absl::FromUnixSeconds(1'180));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 4);  // device: 1000, 1060, 1120; other: 1000.
  auto left = store_->ListTelemetrySamples(device.id, absl::UnixEpoch(),
                                           absl::FromUnixSeconds(10'000), 100);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(SampleSeconds(*left).front(), 1'180);
  EXPECT_THAT(left->samples, SizeIs(7));
  EXPECT_TRUE(store_->GetTelemetry(other.id).ok());
  EXPECT_EQ(store_->DeleteTelemetrySamplesBefore(absl::FromUnixSeconds(1'180)).value_or(-1), 0);
}

TEST_P(StoreTest, VerdictsRoundTripLicenceId) {
  const Organization org = MakeOrganization("acme");
  const Licence licence = MakeLicence(org.id, "EL-1");
  const Device device = MakeDevice(org.id, "GPU-1", licence.id);
  Verdict v;
  v.device_id = device.id;
  v.time = absl::FromUnixSeconds(100);
  v.licence_id = licence.id;
  auto appended = store_->AppendVerdict(v);
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(appended->licence_id, licence.id);
  EXPECT_EQ(store_->LatestVerdict(device.id)->licence_id, licence.id);
  v.time = absl::FromUnixSeconds(200);
  v.licence_id = 0;
  ASSERT_TRUE(store_->AppendVerdicts({v}).ok());
  EXPECT_EQ(store_->LatestVerdict(device.id)->licence_id, 0);
  auto latest = store_->LatestVerdicts(std::nullopt);
  ASSERT_TRUE(latest.ok());
  ASSERT_THAT(*latest, SizeIs(1));
  EXPECT_EQ((*latest)[0].licence_id, 0);
  auto page = store_->ListVerdicts(device.id, {});
  ASSERT_TRUE(page.ok());
  ASSERT_THAT(page->items, SizeIs(2));
  EXPECT_EQ(page->items[0].licence_id, licence.id);
  EXPECT_EQ(page->items[1].licence_id, 0);
  v.licence_id = licence.id + 50;  // Unknown licence.
  EXPECT_EQ(store_->AppendVerdict(v).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AppendVerdicts({v}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, LicenceVerdictHistoryRowsIncludeMovesToOtherLicences) {
  const Organization org = MakeOrganization("acme");
  const Licence a = MakeLicence(org.id, "EL-A");
  const Licence b = MakeLicence(org.id, "EL-B");
  const Device d1 = MakeDevice(org.id, "GPU-1", a.id);
  const Device d2 = MakeDevice(org.id, "GPU-2", a.id);
  const Device d3 = MakeDevice(org.id, "GPU-3", b.id);
  const Device d4 = MakeDevice(org.id, "GPU-4", a.id);
  auto verdict = [&](const Device& d, int64_t time_s, VerdictStatus status, int64_t licence) {
    Verdict v;
    v.device_id = d.id;
    v.time = absl::FromUnixSeconds(time_s);
    v.status = status;
    v.licence_id = licence;
    return v;
  };
  ASSERT_TRUE(store_
                  ->AppendVerdicts({
                      verdict(d1, 50, VerdictStatus::kUnproven, a.id),   // before: superseded
                      verdict(d1, 90, VerdictStatus::kCompliant, a.id),  // latest before since
                      verdict(d1, 150, VerdictStatus::kViolation, a.id),
                      verdict(d2, 120, VerdictStatus::kCompliant, a.id),
                      verdict(d2, 180, VerdictStatus::kCompliant, b.id),  // moved to B
                      verdict(d3, 110, VerdictStatus::kCompliant, b.id),  // never A
                      verdict(d4, 300, VerdictStatus::kCompliant, a.id),  // after until
                  })
                  .ok());
  auto rows = store_->ListLicenceVerdictHistory(a.id, absl::FromUnixSeconds(100),
                                                absl::FromUnixSeconds(200), kMaxLicenceHistoryRows);
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<std::tuple<int64_t, int64_t, VerdictStatus, int64_t>> got;
  for (const VerdictPoint& p : *rows) {
    got.emplace_back(p.device_id, absl::ToUnixSeconds(p.time), p.status, p.licence_id);
  }
  EXPECT_THAT(got, ElementsAre(std::make_tuple(d1.id, 90, VerdictStatus::kCompliant, a.id),
                               std::make_tuple(d2.id, 120, VerdictStatus::kCompliant, a.id),
                               std::make_tuple(d1.id, 150, VerdictStatus::kViolation, a.id),
                               std::make_tuple(d2.id, 180, VerdictStatus::kCompliant, b.id)));
  auto none =
      store_->ListLicenceVerdictHistory(a.id + b.id + 10, absl::FromUnixSeconds(0),
                                        absl::FromUnixSeconds(1'000), kMaxLicenceHistoryRows);
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, SizeIs(0));
  // The row bound: exactly max_rows rows are fine, one more is refused.
  EXPECT_THAT(store_->ListLicenceVerdictHistory(a.id, absl::FromUnixSeconds(100),
                                                absl::FromUnixSeconds(200), 4)
                  .value_or(std::vector<VerdictPoint>{}),
              SizeIs(4));
  EXPECT_EQ(store_->ListLicenceVerdictHistory(a.id, absl::FromUnixSeconds(100),
                                              absl::FromUnixSeconds(200), 3)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// A licence of `devices` GPUs with `per_device` verdicts each, one a second per GPU.
int64_t AppendLicenceHistory(Store& store, int64_t org_id, int64_t licence_id, int devices,
                             int per_device, std::vector<int64_t>* device_ids) {
  std::vector<Verdict> verdicts;
  for (int d = 0; d < devices; ++d) {
    Device device;
    device.organization_id = org_id;
    device.licence_id = licence_id;
    device.uuid = absl::StrCat("GPU-history-", d);
    absl::StatusOr<Device> created = store.CreateDevice(device);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return 0;
    device_ids->push_back(created->id);
    for (int i = 0; i < per_device; ++i) {
      Verdict v;
      v.device_id = created->id;
      v.time = absl::FromUnixSeconds(1'000 + i);
      v.status = i % 7 == 0 ? VerdictStatus::kUnproven : VerdictStatus::kCompliant;
      v.licence_id = licence_id;
      verdicts.push_back(v);
    }
  }
  EXPECT_TRUE(store.AppendVerdicts(verdicts).ok());
  return static_cast<int64_t>(verdicts.size());
}

// The read hands rows over as it goes and stops where the sink says: the rest is never read,
// and the reader connection serves the next read (PostgreSQL: the query was cancelled and
// drained, not left half-read).
TEST_P(StoreTest, LicenceVerdictHistoryStopsWhereTheSinkStops) {
  const Organization org = MakeOrganization("acme");
  const Licence licence = MakeLicence(org.id, "EL-1");
  std::vector<int64_t> ids;
  const int64_t total = AppendLicenceHistory(*store_, org.id, licence.id, 40, 250, &ids);
  ASSERT_EQ(total, 10'000);
  const absl::Time since = absl::FromUnixSeconds(0);
  const absl::Time until = absl::FromUnixSeconds(10'000);
  for (int round = 0; round < 3; ++round) {
    int64_t seen = 0;
    absl::Time last = absl::InfinitePast();
    absl::Status stopped = store_->ReadLicenceVerdictHistory(
        licence.id, since, until, absl::InfiniteFuture(), [&](const VerdictPoint& p) {
          EXPECT_GE(p.time, last);
          last = p.time;
          if (++seen == 100) return absl::CancelledError("enough");
          return absl::OkStatus();
        });
    EXPECT_EQ(stopped.code(), absl::StatusCode::kCancelled) << stopped;
    EXPECT_EQ(stopped.message(), "enough");
    EXPECT_EQ(seen, 100);
    // The 100 first rows are the 40 GPUs' first two verdicts and 20 of their third.
    EXPECT_EQ(last, absl::FromUnixSeconds(1'002));
  }
  // The connection is free and whole: a full read, then other reads.
  int64_t rows = 0;
  int64_t unproven = 0;
  ASSERT_TRUE(store_
                  ->ReadLicenceVerdictHistory(licence.id, since, until, absl::InfiniteFuture(),
                                              [&](const VerdictPoint& p) {
                                                ++rows;
                                                unproven += p.status == VerdictStatus::kUnproven;
                                                return absl::OkStatus();
                                              })
                  .ok());
  EXPECT_EQ(rows, total);
  EXPECT_EQ(unproven, 40 * 36);  // i = 0, 7, ..., 245.
  auto latest = store_->LatestVerdicts(org.id);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_THAT(*latest, SizeIs(40));
}

TEST_P(StoreTest, LicenceVerdictHistoryEndsAtItsDeadline) {
  const Organization org = MakeOrganization("acme");
  const Licence licence = MakeLicence(org.id, "EL-1");
  std::vector<int64_t> ids;
  const int64_t total = AppendLicenceHistory(*store_, org.id, licence.id, 20, 500, &ids);
  const absl::Time since = absl::FromUnixSeconds(0);
  const absl::Time until = absl::FromUnixSeconds(10'000);
  int64_t seen = 0;
  auto count = [&](const VerdictPoint&) {
    ++seen;
    return absl::OkStatus();
  };
  // Already past: nothing is read.
  EXPECT_EQ(store_->ReadLicenceVerdictHistory(licence.id, since, until,
                                              absl::Now() - absl::Seconds(1), count)
                .code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(seen, 0);
  // Passing while rows are handed over (a slow consumer): the read stops soon after.
  const absl::Time deadline = absl::Now() + absl::Milliseconds(300);
  absl::Status late = store_->ReadLicenceVerdictHistory(
      licence.id, since, until, deadline, [&](const VerdictPoint&) {
        if (seen++ == 0) absl::SleepFor(deadline - absl::Now() + absl::Milliseconds(50));
        return absl::OkStatus();
      });
  EXPECT_EQ(late.code(), absl::StatusCode::kDeadlineExceeded) << late;
  EXPECT_LT(seen, total);
  // The deadline does not outlive the read.
  seen = 0;
  ASSERT_TRUE(store_->ReadLicenceVerdictHistory(licence.id, since, until,
                                                absl::Now() + absl::Seconds(60), count)
                  .ok());
  EXPECT_EQ(seen, total);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(store_->LatestVerdicts(org.id).ok());
  EXPECT_EQ(store_->ListLicenceVerdictHistory(licence.id, since, until).value_or(
                std::vector<VerdictPoint>{}).size(),
            static_cast<size_t>(total));
}

TEST_P(StoreTest, DevicesMovedInStartAtTheirLatestRunOfTheOrganizationsEvents) {
  const Organization a = MakeOrganization("a");
  const Organization b = MakeOrganization("b");
  auto event = [&](const Device& d, int64_t time_s, int64_t org) {
    DeviceEvent e;
    e.device_id = d.id;
    e.time = absl::FromUnixSeconds(time_s);
    e.kind = "host_changed";
    e.organization_id = org;
    ASSERT_TRUE(store_->AppendDeviceEvent(e).ok());
  };
  const Device stayed = MakeDevice(b.id, "GPU-stayed");     // b only
  const Device moved = MakeDevice(b.id, "GPU-moved");       // a, then b twice
  const Device back = MakeDevice(b.id, "GPU-back");         // b, a, b again
  const Device quiet = MakeDevice(b.id, "GPU-quiet");       // no events
  const Device elsewhere = MakeDevice(a.id, "GPU-in-a");    // b, then a: not b's
  event(stayed, 10, b.id);
  event(stayed, 20, b.id);
  event(moved, 10, a.id);
  event(moved, 30, b.id);
  event(moved, 40, b.id);
  event(back, 5, b.id);
  event(back, 15, a.id);
  event(back, 50, b.id);
  event(elsewhere, 10, b.id);
  event(elsewhere, 60, a.id);
  auto entries = store_->ListDevicesMovedIn(b.id, stayed.id, elsewhere.id);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_THAT(*entries, SizeIs(2));
  EXPECT_EQ((*entries)[0].device_id, moved.id);
  EXPECT_EQ((*entries)[0].entered_at, absl::FromUnixSeconds(30));
  EXPECT_EQ((*entries)[1].device_id, back.id);
  EXPECT_EQ((*entries)[1].entered_at, absl::FromUnixSeconds(50));
  // The id range bounds the answer.
  EXPECT_THAT(store_->ListDevicesMovedIn(b.id, back.id, quiet.id).value_or(
                  std::vector<DeviceEntry>{}),
              SizeIs(1));
  EXPECT_THAT(store_->ListDevicesMovedIn(b.id, stayed.id, stayed.id).value_or(
                  std::vector<DeviceEntry>{{1, absl::UnixEpoch()}}),
              SizeIs(0));
  // Organization a: GPU-in-a came from b at 60.
  auto in_a = store_->ListDevicesMovedIn(a.id, stayed.id, elsewhere.id);
  ASSERT_TRUE(in_a.ok());
  ASSERT_THAT(*in_a, SizeIs(1));
  EXPECT_EQ((*in_a)[0].device_id, elsewhere.id);
  EXPECT_EQ((*in_a)[0].entered_at, absl::FromUnixSeconds(60));
}

TEST_P(StoreTest, MigratesV4DatabaseToV5WithTheCoveringHistoryIndex) {
  ASSERT_NO_FATAL_FAILURE(OpenMigratedFrom(
      4,
      "INSERT INTO organizations (id, name, created_at_ns) VALUES (1, 'acme', 5);"
      "INSERT INTO licences (id, organization_id, reference, holder, end_user, "
      "allowed_sites_json, allowed_countries_json, prohibited_regions_json, model_caps_json, "
      "valid_from_ns, valid_until_ns, reporting_cadence_s) VALUES (1, 1, 'EL-4', 'acme', '', "
      "'[]', '[]', '[]', '[]', 0, 4000000000000000000, 3600);"
      "INSERT INTO devices (id, organization_id, host_id, licence_id, uuid, serial, ueid, "
      "model, key_public_key, key_id, assurance_level, first_seen_ns, last_seen_ns) VALUES "
      "(1, 1, NULL, 1, 'GPU-v4', 'S1', '', 'H100', {{KEY}}, 'kid', 0, 9, 10);"
      "INSERT INTO verdicts (id, device_id, time_ns, status, reason, region_summary_json, "
      "estimate_latitude_deg, estimate_longitude_deg, estimate_radius_km, robustness_f, "
      "assurance_level, licence_id) VALUES "
      "(1, 1, 1000000000, 'compliant', 'ok', '{}', 1, 2, 3, 1, 0, 1),"
      "(2, 1, 3000000000, 'violation', 'out', '{}', 1, 2, 3, 1, 0, NULL),"
      "(3, 1, 2000000000, 'unproven', '?', '{}', 1, 2, 3, 1, 0, 1);"
      "UPDATE devices SET latest_verdict_id = 2;",
      {"organizations", "licences", "devices", "verdicts"}));
  EXPECT_EQ(store_->SchemaVersion().value_or(-1), 5);
  auto rows = store_->ListLicenceVerdictHistory(1, absl::FromUnixSeconds(0),
                                                absl::FromUnixSeconds(10));
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<std::tuple<int64_t, VerdictStatus, int64_t>> got;
  for (const VerdictPoint& p : *rows) {
    got.emplace_back(absl::ToUnixSeconds(p.time), p.status, p.licence_id);
  }
  EXPECT_THAT(got, ElementsAre(std::make_tuple(1, VerdictStatus::kCompliant, 1),
                               std::make_tuple(2, VerdictStatus::kUnproven, 1),
                               std::make_tuple(3, VerdictStatus::kViolation, 0)));
  // A device's verdicts still read (the new index replaces verdicts_by_device_time).
  auto page = store_->ListVerdicts(1, PageRequest{});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->items, SizeIs(3));
}

TEST_P(StoreTest, SetDeviceLicenceKeepsABoundKey) {
  const Organization org = MakeOrganization("acme");
  const Licence licence = MakeLicence(org.id, "EL-1");
  const Device device = MakeDevice(org.id, "GPU-1");
  // The agent binds a key after an operator read the device (the PATCH race).
  Device bound = device;
  bound.key = {"key-1", "kid-1", AssuranceLevel::kL1, absl::FromUnixSeconds(5), ""};
  ASSERT_TRUE(store_->UpdateDevice(bound).ok());
  ASSERT_TRUE(store_->SetDeviceLicence(device.id, org.id, licence.id).ok());
  auto after = store_->GetDevice(device.id);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->licence_id, licence.id);
  EXPECT_EQ(after->key.public_key, "key-1");
  EXPECT_EQ(after->key.key_id, "kid-1");
  EXPECT_EQ(after->key.assurance, AssuranceLevel::kL1);
  ASSERT_TRUE(store_->SetDeviceLicence(device.id, org.id, 0).ok());
  EXPECT_EQ(store_->GetDevice(device.id)->licence_id, 0);
  EXPECT_EQ(store_->SetDeviceLicence(device.id + 100, org.id, licence.id).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->SetDeviceLicence(device.id, org.id, licence.id + 100).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetDevice(device.id)->licence_id, 0);
}

TEST_P(StoreTest, MigratesV3DatabaseToV4WithVerdictsWithoutLicence) {
  ASSERT_NO_FATAL_FAILURE(OpenMigratedFrom(
      3,
      "INSERT INTO organizations (id, name, created_at_ns) VALUES (1, 'acme', 5);"
      "INSERT INTO devices (id, organization_id, host_id, licence_id, uuid, serial, ueid, "
      "model, key_public_key, key_id, assurance_level, first_seen_ns, last_seen_ns) VALUES "
      "(1, 1, NULL, NULL, 'GPU-v3', 'S1', '', 'H100', {{KEY}}, 'kid', 0, 9, 10);"
      "INSERT INTO verdicts (id, device_id, time_ns, status, reason, region_summary_json, "
      "estimate_latitude_deg, estimate_longitude_deg, estimate_radius_km, robustness_f, "
      "assurance_level) VALUES (1, 1, 1000000000, 'compliant', 'ok', '{}', 1, 2, 3, 1, 0);"
      "UPDATE devices SET latest_verdict_id = 1;"
      "INSERT INTO telemetry (device_id, time_ns, temperature_c, power_w, utilization_pct, "
      "ecc_uncorrected, xid_count, last_xid) VALUES (1, 2000000000, 55, 300, 80, 0, 0, 0);",
      {"organizations", "devices", "verdicts"}));
  EXPECT_EQ(store_->SchemaVersion().value_or(-1), internal::LatestSchemaVersion());
  auto verdict = store_->LatestVerdict(1);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->status, VerdictStatus::kCompliant);
  EXPECT_EQ(verdict->licence_id, 0);
  EXPECT_EQ(store_->GetTelemetry(1)->temperature_c, 55);  // Latest health kept; no history.
  EXPECT_THAT(store_->ListTelemetrySamples(1, absl::UnixEpoch(), absl::FromUnixSeconds(100), 10)
                  ->samples,
              SizeIs(0));
  // The new columns and table work on the migrated database.
  const Licence licence = MakeLicence(1, "EL-4");
  Verdict v = *verdict;
  v.time = absl::FromUnixSeconds(5);
  v.licence_id = licence.id;
  ASSERT_TRUE(store_->AppendVerdicts({v}).ok());
  auto rows = store_->ListLicenceVerdictHistory(licence.id, absl::FromUnixSeconds(0),
                                                absl::FromUnixSeconds(10), kMaxLicenceHistoryRows);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_THAT(*rows, SizeIs(2));
  EXPECT_EQ((*rows)[0].licence_id, 0);
  EXPECT_EQ((*rows)[1].licence_id, licence.id);
  EXPECT_EQ(store_->RecordTelemetry({Report(1, 3, 60)}, absl::Seconds(300)).value_or(-1), 1);
  EXPECT_TRUE(store_->SetDeviceLicence(1, 1, licence.id).ok());
  EXPECT_EQ(store_->GetDevice(1)->key.key_id, "kid");
}

// Enrollment, key binding and a licence change each write only their own columns: done in
// any interleaving after one shared read, none undoes another (the read-modify-write
// UpdateDevice of earlier versions erased a key bound between enrollment's read and write).
TEST_P(StoreTest, NarrowDeviceUpdatesDoNotUndoEachOther) {
  const Organization org = MakeOrganization("acme");
  const Licence licence = MakeLicence(org.id, "EL-narrow");
  Device device;
  device.organization_id = org.id;
  device.uuid = "GPU-narrow";
  device.serial = "old-serial";
  device.ueid = "ueid-attested";
  auto created = store_->CreateDevice(device);
  ASSERT_TRUE(created.ok()) << created.status();

  // The agent binds its key; an officer sets the licence; the agent re-enrolls (from a row it
  // read before both) with a new serial and no ueid claim.
  const KeyBinding key{"pk-1", "kid-1", AssuranceLevel::kL1, absl::FromUnixSeconds(1'000),
                       HexHash('a')};
  ASSERT_TRUE(
      store_->BindDeviceKey(created->id, org.id, key, "", absl::FromUnixSeconds(1'000)).ok());
  ASSERT_TRUE(store_->SetDeviceLicence(created->id, org.id, licence.id).ok());
  DevicePlacement placement;
  placement.device_id = created->id;
  placement.organization_id = org.id;
  placement.serial = "new-serial";
  placement.model = "H100";
  placement.architecture = "Hopper";
  placement.vbios = "96.00";
  placement.pci_bus_id = "0000:01:00.0";
  placement.last_seen = absl::FromUnixSeconds(2'000);
  ASSERT_TRUE(store_->UpdateDevicePlacement(placement).ok());

  auto after = store_->GetDevice(created->id);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->key.key_id, "kid-1");
  EXPECT_EQ(after->key.public_key, "pk-1");
  EXPECT_EQ(after->key.assurance, AssuranceLevel::kL1);
  EXPECT_EQ(after->licence_id, licence.id);
  EXPECT_EQ(after->ueid, "ueid-attested");  // An empty claim keeps it.
  EXPECT_EQ(after->serial, "new-serial");
  EXPECT_EQ(after->model, "H100");
  EXPECT_EQ(after->architecture, "Hopper");
  EXPECT_EQ(after->vbios, "96.00");
  EXPECT_EQ(after->pci_bus_id, "0000:01:00.0");
  EXPECT_EQ(after->last_seen, absl::FromUnixSeconds(2'000));

  // A new key: the old binding moves to previous_key; the licence and placement stay.
  const KeyBinding rebound{"pk-2", "kid-2", AssuranceLevel::kL0, absl::FromUnixSeconds(3'000),
                           ""};
  ASSERT_TRUE(store_->BindDeviceKey(created->id, org.id, rebound, "ueid-new",
                                   absl::FromUnixSeconds(3'000))
                  .ok());
  after = store_->GetDevice(created->id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->key.key_id, "kid-2");
  EXPECT_EQ(after->previous_key.key_id, "kid-1");
  EXPECT_EQ(after->previous_key.superseded_at, absl::FromUnixSeconds(3'000));
  EXPECT_EQ(after->ueid, "ueid-new");
  EXPECT_EQ(after->licence_id, licence.id);
  EXPECT_EQ(after->serial, "new-serial");

  // Enrollment into another organization clears the licence (it belongs to acme) and keeps
  // the key; re-enrolling there again keeps a licence set there meanwhile.
  const Organization other = MakeOrganization("other");
  placement.organization_id = other.id;
  ASSERT_TRUE(store_->UpdateDevicePlacement(placement).ok());
  after = store_->GetDevice(created->id);
  EXPECT_EQ(after->organization_id, other.id);
  EXPECT_EQ(after->licence_id, 0);
  EXPECT_EQ(after->key.key_id, "kid-2");
  const Licence theirs = MakeLicence(other.id, "EL-other");
  ASSERT_TRUE(store_->SetDeviceLicence(created->id, other.id, theirs.id).ok());
  ASSERT_TRUE(store_->UpdateDevicePlacement(placement).ok());
  EXPECT_EQ(store_->GetDevice(created->id)->licence_id, theirs.id);

  // Writers that checked the old organization lose to the move: acme's licence or acme's
  // agent's key cannot land on the device now in `other`.
  EXPECT_EQ(store_->SetDeviceLicence(created->id, org.id, licence.id).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->SetDeviceLicence(created->id, org.id, 0).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->BindDeviceKey(created->id, org.id, key, "", absl::Now()).code(),
            absl::StatusCode::kFailedPrecondition);
  // Nor can another organization's licence be set by the device's own organization.
  EXPECT_EQ(store_->SetDeviceLicence(created->id, other.id, licence.id).code(),
            absl::StatusCode::kInvalidArgument);
  after = store_->GetDevice(created->id);
  EXPECT_EQ(after->licence_id, theirs.id);
  EXPECT_EQ(after->key.key_id, "kid-2");
  // An empty key would unbind the device silently.
  EXPECT_EQ(store_->BindDeviceKey(created->id, other.id, KeyBinding{}, "", absl::Now()).code(),
            absl::StatusCode::kInvalidArgument);

  // An enrollment's ueid claim is taken under an L0 key (kid-2), not under an L1 key: an
  // attested ueid is replaced only by another attestation.
  placement.ueid = "ueid-claimed";
  ASSERT_TRUE(store_->UpdateDevicePlacement(placement).ok());
  EXPECT_EQ(store_->GetDevice(created->id)->ueid, "ueid-claimed");
  ASSERT_TRUE(store_->BindDeviceKey(created->id, other.id, key, "ueid-attested-2",
                                    absl::FromUnixSeconds(3'500))
                  .ok());
  placement.ueid = "ueid-forged";
  ASSERT_TRUE(store_->UpdateDevicePlacement(placement).ok());
  EXPECT_EQ(store_->GetDevice(created->id)->ueid, "ueid-attested-2");

  placement.device_id = 9'999;
  EXPECT_EQ(store_->UpdateDevicePlacement(placement).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->BindDeviceKey(9'999, org.id, key, "", absl::Now()).code(),
            absl::StatusCode::kNotFound);
  KeyBinding bad = key;
  bad.assurance = static_cast<AssuranceLevel>(7);
  EXPECT_EQ(store_->BindDeviceKey(created->id, other.id, bad, "", absl::Now()).code(),
            absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StoreTest, ::testing::ValuesIn(Backends()),
                         [](const auto& test_info) { return test_info.param.name; });

}  // namespace
}  // namespace lightcone::server
