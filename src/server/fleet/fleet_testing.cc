#include "server/fleet/fleet_testing.h"

#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "geo/calibration.h"
#include "geo/units.h"
#include "s2/s1angle.h"
#include "s2/s2latlng.h"
#include "server/store/sqlite_store.h"

namespace lightcone::server::fleet::testing {

const std::vector<Place>& LandmarkPlaces() {
  static const std::vector<Place> places = {
      {"sg-sin-as133165", 1.3205, 103.7005, "SG"},  {"sg-sin-as59253", 1.3505, 103.8195, "SG"},
      {"sg-sin-as14907", 1.3595, 103.8695, "SG"},   {"hk-hkg-as133752", 22.3975, 114.1115, "HK"},
      {"hk-hkg-as43996", 22.3995, 114.1095, "HK"},  {"cn-pek-city", 39.9042, 116.4074, "CN"},
      {"jp-tyo-as2500", 35.6885, 139.6885, "JP"},   {"kr-sel-as42473", 37.5015, 127.0285, "KR"},
      {"ph-qzt-as9821", 14.6485, 121.0685, "PH"},   {"vn-sgn-as24176", 10.8205, 106.6305, "VN"},
      {"id-jkt-as10208", -6.1685, 106.8205, "ID"},  {"in-bom-as33480", 19.0205, 72.8275, "IN"},
      {"au-syd-as23719", -33.8795, 151.1995, "AU"}, {"de-fra-as48918", 50.1195, 8.7275, "DE"},
      {"uk-lon-as34587", 51.4995, -0.0125, "GB"},   {"au-bne-as4608", -27.4705, 153.0295, "AU"},
  };
  return places;
}

int64_t FiberRttNs(double lat1, double lon1, double lat2, double lon2, double stretch,
                   double overhead_ms) {
  const S1Angle d(S2LatLng::FromDegrees(lat1, lon1), S2LatLng::FromDegrees(lat2, lon2));
  const double ms = geo::AngleToKm(d) * geo::kTwoThirdsCRttMsPerKm * stretch + overhead_ms;
  return static_cast<int64_t>(ms * 1e6);
}

std::vector<Landmark> MakeLandmarks(int count) {
  std::vector<Landmark> out;
  const auto& places = LandmarkPlaces();
  for (int i = 0; i < count && i < static_cast<int>(places.size()); ++i) {
    Landmark l;
    l.name = places[i].name;
    l.latitude_deg = places[i].latitude_deg;
    l.longitude_deg = places[i].longitude_deg;
    l.country = places[i].country;
    l.public_key = std::string(32, static_cast<char>('a' + i));
    l.wire_id = absl::StrCat(std::string(30, '0'), absl::Hex(i + 16, absl::kZeroPad2));
    out.push_back(l);
  }
  return out;
}

Licence SingaporeLicence(int64_t organization_id) {
  Licence l;
  l.organization_id = organization_id;
  l.reference = "EL-2026-0042";
  l.holder = "Acme Compute Pte Ltd";
  l.end_user = "Acme Research";
  l.allowed_sites.push_back({"SIN-DC1", kSingaporeDc.latitude_deg, kSingaporeDc.longitude_deg, 50});
  l.allowed_countries = {"SG"};
  l.prohibited_regions = {"CN", "HK", "MO"};
  l.model_caps.push_back({"NVIDIA H100 80GB HBM3", 512});
  l.valid_from = absl::FromUnixSeconds(1767225600);   // 2026-01-01
  l.valid_until = absl::FromUnixSeconds(1798761600);  // 2027-01-01
  return l;
}

absl::StatusOr<std::unique_ptr<TempSqliteStore>> TempSqliteStore::Create(bool synchronous_full) {
  std::string pattern = std::filesystem::temp_directory_path() / "lightcone-fleet-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  auto t = std::unique_ptr<TempSqliteStore>(new TempSqliteStore);
  t->dir_ = pattern;
  SqliteStoreOptions options;
  options.path = t->dir_ + "/store.db";
  options.synchronous_full = synchronous_full;
  auto store = OpenSqliteStore(options);
  if (!store.ok()) return store.status();
  t->store_ = *std::move(store);
  return t;
}

TempSqliteStore::~TempSqliteStore() {
  store_.reset();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

absl::Time TestNow() { return absl::FromUnixSeconds(1795338000); }  // 2026-11-22T09:00:00Z

absl::StatusOr<World> SeedWorld(Store& store, int landmarks) {
  World w;
  Organization org;
  org.name = "acme";
  auto o = store.CreateOrganization(org);
  if (!o.ok()) return o.status();
  w.org = *o;
  for (Landmark l : MakeLandmarks(landmarks)) {
    auto created = store.CreateLandmark(l);
    if (!created.ok()) return created.status();
    w.landmarks.push_back(*created);
  }
  auto lic = store.CreateLicence(SingaporeLicence(w.org.id));
  if (!lic.ok()) return lic.status();
  w.licence = *lic;
  Site site;
  site.organization_id = w.org.id;
  site.name = "SIN-DC1";
  site.latitude_deg = kSingaporeDc.latitude_deg;
  site.longitude_deg = kSingaporeDc.longitude_deg;
  site.radius_km = 50;
  site.country = "SG";
  auto st = store.CreateSite(site);
  if (!st.ok()) return st.status();
  w.site = *st;
  Host host;
  host.organization_id = w.org.id;
  host.hostname = "gpu-node-1";
  host.site_id = w.site.id;
  host.first_seen = TestNow() - absl::Hours(24 * 60);
  host.last_seen = TestNow() - absl::Minutes(10);
  auto h = store.CreateHost(host);
  if (!h.ok()) return h.status();
  w.host = *h;
  return w;
}

absl::StatusOr<Device> AddDevice(Store& store, const World& world, const DeviceSpec& spec) {
  Device d;
  d.organization_id = world.org.id;
  d.host_id = spec.host_id < 0 ? world.host.id : spec.host_id;
  d.licence_id = spec.licence_id < 0 ? world.licence.id : spec.licence_id;
  d.uuid = absl::StrCat("GPU-", spec.name);
  d.serial = spec.serial.empty() ? spec.name : spec.serial;
  d.model = spec.model;
  d.key.public_key = std::string(32, 'k');
  d.key.key_id = "0123456789abcdef";
  d.key.assurance = AssuranceLevel::kL1;
  d.first_seen = spec.first_seen == absl::UnixEpoch() ? TestNow() - absl::Hours(24 * 10) : spec.first_seen;
  d.last_seen = spec.last_seen == absl::UnixEpoch() ? TestNow() - absl::Minutes(5) : spec.last_seen;
  return store.CreateDevice(d);
}

absl::Status Measure(Store& store, World& world, int64_t device_id, const Place& where,
                     absl::Time t, const std::vector<int64_t>& rtt_override_ns) {
  for (size_t i = 0; i < world.landmarks.size(); ++i) {
    const Landmark& l = world.landmarks[i];
    MeasurementBatch batch;
    batch.landmark_id = l.id;
    batch.batch_sequence = world.next_sequence++;
    Measurement m;
    m.device_id = device_id;
    m.time = t;
    m.rtt_ns = i < rtt_override_ns.size() && rtt_override_ns[i] >= 0
                   ? rtt_override_ns[i]
                   : FiberRttNs(where.latitude_deg, where.longitude_deg, l.latitude_deg,
                                l.longitude_deg);
    m.nonce = absl::StrCat("nonce-", batch.batch_sequence);
    m.sequence = batch.batch_sequence;
    m.key_id = "0123456789abcdef";
    m.reply_signature = std::string(64, 's');
    batch.measurements.push_back(m);
    auto r = store.IngestMeasurements(batch);
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

}  // namespace lightcone::server::fleet::testing
