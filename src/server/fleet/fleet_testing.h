// Test world of the fleet tests and benchmark: landmarks at real positions (RIPE Atlas
// anchors from /work/shared/data/ripe-atlas-2018/hosts.csv, plus Beijing's city centre,
// which has no anchor there), RTTs derived from distances at fiber speed (2/3 c) plus a
// small overhead, and a licence for a Singapore site with CN, HK, MO prohibited.
#ifndef LIGHTCONE_SERVER_FLEET_FLEET_TESTING_H_
#define LIGHTCONE_SERVER_FLEET_FLEET_TESTING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/store.h"

namespace lightcone::server::fleet::testing {

struct Place {
  const char* name;
  double latitude_deg;
  double longitude_deg;
  const char* country;
};

// 16 landmark positions: 3 in Singapore, 2 in Hong Kong, Beijing, Tokyo, Seoul, Manila, Ho
// Chi Minh City, Jakarta, Mumbai, Sydney, Frankfurt, London, Brisbane.
const std::vector<Place>& LandmarkPlaces();

// Positions of GPUs in the tests.
inline constexpr Place kSingaporeDc = {"sin-dc1", 1.3300, 103.7400, "SG"};
inline constexpr Place kHongKongDc = {"hkg-dc", 22.3700, 114.1300, "HK"};
inline constexpr Place kBeijingDc = {"pek-dc", 39.9500, 116.3000, "CN"};
inline constexpr Place kTokyoDc = {"tyo-dc", 35.6500, 139.7500, "JP"};

// The RTT an honest path gives between two places: great-circle distance at 2/3 c, there and
// back, times `stretch`, plus `overhead_ms`.
int64_t FiberRttNs(double lat1, double lon1, double lat2, double lon2, double stretch = 1.15,
                   double overhead_ms = 0.05);

// Landmark records for `LandmarkPlaces()` (first `count` of them), ids unset.
std::vector<Landmark> MakeLandmarks(int count = 16);

// A licence for site SIN-DC1 (50 km around kSingaporeDc), country SG, CN/HK/MO prohibited,
// valid 2026-01-01 .. 2027-01-01, cap 512 "NVIDIA H100 80GB HBM3".
Licence SingaporeLicence(int64_t organization_id);

// A fresh SQLite store in a temporary directory (removed by the destructor).
class TempSqliteStore {
 public:
  static absl::StatusOr<std::unique_ptr<TempSqliteStore>> Create(bool synchronous_full = false);
  ~TempSqliteStore();
  Store& store() { return *store_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<Store> store_;
};

// The reference "now" of the tests: 2026-11-22T09:00:00Z.
absl::Time TestNow();

// An organization, the landmarks (ids set), the Singapore licence, its site and one host
// there, stored.
struct World {
  Organization org;
  std::vector<Landmark> landmarks;
  Licence licence;
  Site site;
  Host host;
  int64_t next_sequence = 1;  // Probe / batch sequences for Measure.
};
absl::StatusOr<World> SeedWorld(Store& store, int landmarks = 16);

// A device "GPU-<name>" with serial `serial` (default: the name) on `host_id` (default: the
// world's host) under `licence_id` (default: the world's licence; pass 0 for none), first
// and last seen at `seen`.
struct DeviceSpec {
  std::string name;
  std::string serial;
  int64_t host_id = -1;
  int64_t licence_id = -1;
  std::string model = "NVIDIA H100 80GB HBM3";
  absl::Time first_seen = absl::UnixEpoch();
  absl::Time last_seen = absl::UnixEpoch();
};
absl::StatusOr<Device> AddDevice(Store& store, const World& world, const DeviceSpec& spec);

// Stores one honest measurement from each landmark (or the first `landmarks` of them) to a
// device at `where`, at time `t`. `rtt_override_ns[i]` >= 0 replaces landmark i's RTT.
absl::Status Measure(Store& store, World& world, int64_t device_id, const Place& where,
                     absl::Time t, const std::vector<int64_t>& rtt_override_ns = {});

}  // namespace lightcone::server::fleet::testing

#endif  // LIGHTCONE_SERVER_FLEET_FLEET_TESTING_H_
