// Store implemented once over SqlDatabase, for both backends. One connection, serialized by a
// mutex: writes of one store are sequential (SQLite allows one writer anyway); a connection
// pool for PostgreSQL can come later without changing the interface.
#ifndef LIGHTCONE_SERVER_STORE_SQL_STORE_H_
#define LIGHTCONE_SERVER_STORE_SQL_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/store/sql_database.h"
#include "server/store/store.h"

namespace lightcone::server::internal {

// The statement MinRtts runs (exposed so that the benchmark can print its query plan).
// Parameters: since (ns), then the device id when `one_device`.
std::string MinRttsSql(SqlDialect dialect, bool one_device);

class SqlStore : public Store {
 public:
  // Runs the schema migrations on `db`, then serves from it. `reader`, when given, is a second
  // connection to the same database for the long aggregate reads (MinRtts, LatestVerdicts) so
  // that a verdict pass over the whole fleet does not hold up ingest and the API, which use
  // `db`. It sees everything committed through `db` before the read starts.
  static absl::StatusOr<std::unique_ptr<Store>> Open(std::unique_ptr<SqlDatabase> db,
                                                     std::unique_ptr<SqlDatabase> reader = nullptr);

  absl::StatusOr<int> SchemaVersion() override;
  absl::StatusOr<Organization> CreateOrganization(const Organization& org) override;
  absl::StatusOr<Organization> GetOrganization(int64_t id) override;
  absl::StatusOr<std::vector<Organization>> ListOrganizations() override;
  absl::StatusOr<Landmark> CreateLandmark(const Landmark& landmark) override;
  absl::StatusOr<Landmark> GetLandmark(int64_t id) override;
  absl::StatusOr<std::vector<Landmark>> ListLandmarks() override;
  absl::Status SetLandmarkStatus(int64_t id, LandmarkStatus status) override;
  absl::StatusOr<Host> CreateHost(const Host& host) override;
  absl::StatusOr<Host> GetHost(int64_t id) override;
  absl::StatusOr<Device> CreateDevice(const Device& device) override;
  absl::StatusOr<Device> GetDevice(int64_t id) override;
  absl::StatusOr<Device> GetDeviceByUuid(const std::string& uuid) override;
  absl::Status UpdateDevice(const Device& device) override;
  absl::Status UpdateDevicePlacement(const DevicePlacement& placement) override;
  absl::Status BindDeviceKey(int64_t device_id, int64_t organization_id, const KeyBinding& key,
                             const std::string& ueid, absl::Time last_seen) override;
  absl::StatusOr<Page<Device>> ListDevices(const DeviceFilter& filter) override;
  absl::StatusOr<Licence> CreateLicence(const Licence& licence) override;
  absl::StatusOr<Licence> GetLicence(int64_t id) override;
  absl::Status UpdateLicence(const Licence& licence) override;
  absl::StatusOr<std::vector<Licence>> ListLicences(
      std::optional<int64_t> organization_id) override;
  absl::StatusOr<IngestResult> IngestMeasurements(const MeasurementBatch& batch) override;
  absl::StatusOr<Page<Measurement>> ListMeasurements(const MeasurementFilter& filter) override;
  absl::StatusOr<Verdict> AppendVerdict(const Verdict& verdict) override;
  absl::StatusOr<Verdict> LatestVerdict(int64_t device_id) override;
  absl::StatusOr<Page<Verdict>> ListVerdicts(int64_t device_id, const PageRequest& page) override;
  absl::StatusOr<Alert> CreateAlert(const Alert& alert) override;
  absl::StatusOr<Alert> GetAlert(int64_t id) override;
  absl::StatusOr<Page<Alert>> ListAlerts(const AlertFilter& filter) override;
  absl::Status AcknowledgeAlert(int64_t id, const std::string& by, const std::string& comment,
                                absl::Time at) override;

  // Schema v2.
  absl::Status UpdateLandmark(const Landmark& landmark) override;
  absl::StatusOr<Landmark> GetLandmarkByWireId(const std::string& wire_id) override;
  absl::Status UpdateHost(const Host& host) override;
  absl::StatusOr<Host> GetHostByName(int64_t organization_id,
                                     const std::string& hostname) override;
  absl::StatusOr<std::vector<Host>> ListHosts(std::optional<int64_t> organization_id) override;
  absl::StatusOr<Site> CreateSite(const Site& site) override;
  absl::StatusOr<Site> GetSite(int64_t id) override;
  absl::Status UpdateSite(const Site& site) override;
  absl::StatusOr<std::vector<Site>> ListSites(std::optional<int64_t> organization_id) override;
  absl::StatusOr<Shipment> CreateShipment(const Shipment& shipment) override;
  absl::StatusOr<Shipment> GetShipment(int64_t id) override;
  absl::Status UpdateShipment(const Shipment& shipment) override;
  absl::StatusOr<std::vector<Shipment>> ListShipments(
      std::optional<int64_t> organization_id) override;
  absl::StatusOr<ApiToken> CreateToken(const ApiToken& token) override;
  absl::StatusOr<ApiToken> GetTokenBySecretHash(const std::string& secret_sha256) override;
  absl::StatusOr<std::vector<ApiToken>> ListTokens() override;
  absl::Status RevokeToken(int64_t id) override;
  absl::StatusOr<TopologySnapshot> AppendTopology(const TopologySnapshot& snapshot) override;
  absl::StatusOr<TopologySnapshot> LatestTopology(int64_t device_id) override;
  absl::StatusOr<Page<TopologySnapshot>> ListTopology(int64_t device_id,
                                                      const PageRequest& page) override;
  absl::StatusOr<DeviceEvent> AppendDeviceEvent(const DeviceEvent& event) override;
  absl::StatusOr<Page<DeviceEvent>> ListDeviceEvents(int64_t device_id,
                                                     const PageRequest& page) override;
  absl::Status PutTelemetry(const Telemetry& telemetry) override;
  absl::StatusOr<Telemetry> GetTelemetry(int64_t device_id) override;
  absl::StatusOr<std::vector<MinRtt>> MinRtts(std::optional<int64_t> device_id,
                                              absl::Time since) override;
  absl::StatusOr<std::vector<Verdict>> LatestVerdicts(
      std::optional<int64_t> organization_id) override;
  absl::Status AppendVerdicts(const std::vector<Verdict>& verdicts) override;
  absl::Status ResolveAlert(int64_t id, absl::Time at) override;
  // Schema v4.
  absl::StatusOr<int64_t> RecordTelemetry(const std::vector<Telemetry>& reports,
                                          absl::Duration sample_interval) override;
  absl::StatusOr<TelemetryHistory> ListTelemetrySamples(int64_t device_id, absl::Time since,
                                                        absl::Time until, int limit) override;
  absl::StatusOr<int64_t> DeleteTelemetrySamplesBefore(absl::Time before) override;
  absl::Status ReadLicenceVerdictHistory(int64_t licence_id, absl::Time since, absl::Time until,
                                         absl::Time deadline, VerdictPointSink sink) override;
  absl::Status SetDeviceLicence(int64_t device_id, int64_t organization_id,
                                int64_t licence_id) override;
  absl::StatusOr<std::vector<LandmarkBatchTime>> LatestBatchTimes() override;
  absl::StatusOr<std::vector<DeviceEntry>> ListDevicesMovedIn(int64_t organization_id,
                                                              int64_t first_device_id,
                                                              int64_t last_device_id) override;

 private:
  // Why a guarded device update matched no row: NotFound for an unknown device,
  // FailedPrecondition when it is in another organization, OK otherwise. Takes mu_.
  absl::Status WhyDeviceNotInOrganization(int64_t device_id, int64_t organization_id);
  SqlStore(std::unique_ptr<SqlDatabase> db, std::unique_ptr<SqlDatabase> reader)
      : db_dialect_(db->dialect()), db_(std::move(db)), reader_(std::move(reader)) {}

  // Runs `read` on the reader connection when there is one, else on the main connection.
  template <typename Fn>
  auto OnReader(Fn read) -> decltype(read(std::declval<SqlDatabase&>()));

  absl::StatusOr<IngestResult> IngestLocked(const MeasurementBatch& batch,
                                            const std::string& content_hash)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inserts one verdict and advances its device's latest_verdict_id, inside the caller's
  // transaction; returns the verdict's id.
  absl::StatusOr<int64_t> AppendVerdictLocked(const Verdict& verdict)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inserts verdicts[first, first + rows) with one multi-row INSERT and advances their devices'
  // latest_verdict_id, inside the caller's transaction.
  absl::Status AppendVerdictChunkLocked(const std::vector<Verdict>& verdicts, size_t first,
                                        size_t rows) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replaces the device's latest health unless the stored one is newer (PutTelemetry), inside
  // the caller's transaction.
  absl::Status PutTelemetryLocked(const Telemetry& telemetry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Upserts the latest health and appends a sample when due (RecordTelemetry's rule), inside
  // the caller's transaction; returns whether a sample was appended.
  absl::StatusOr<bool> RecordTelemetryLocked(const Telemetry& report,
                                             absl::Duration sample_interval)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Commit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SqlDialect db_dialect_;
  absl::Mutex mu_;
  std::unique_ptr<SqlDatabase> db_ ABSL_GUARDED_BY(mu_);
  absl::Mutex reader_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::unique_ptr<SqlDatabase> reader_ ABSL_GUARDED_BY(reader_mu_);
};

}  // namespace lightcone::server::internal

#endif  // LIGHTCONE_SERVER_STORE_SQL_STORE_H_
