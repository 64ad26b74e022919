// LicenceGeometry: a licence's allowed area (site discs and allowed countries) and its
// prohibited regions as the location engine's types, built once per licence and shared by
// every verdict of a pass. CountryAreaCache builds the country polygons (unions of atlas
// regions, indexed with the 5 km border margin) once per set of codes.
//
// Thread safety: CountryAreaCache is safe to call from several threads; a LicenceGeometry is
// immutable once built and its const members may be read concurrently. Geometry pointers
// handed out by the cache stay valid as long as the cache lives.
#ifndef LIGHTCONE_SERVER_FLEET_LICENCE_GEOMETRY_H_
#define LIGHTCONE_SERVER_FLEET_LICENCE_GEOMETRY_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "geo/area_index.h"
#include "geo/country_atlas.h"
#include "geo/verdict.h"
#include "server/store/store.h"

namespace lightcone::server::fleet {

// Country polygons by set of ISO codes, built on first use.
class CountryAreaCache {
 public:
  // Without an atlas every country lookup fails with FailedPrecondition (site-only licences
  // still work).
  explicit CountryAreaCache(std::optional<geo::CountryAtlas> atlas);

  // Loads the default atlas (geo::CountryAtlas::LoadDefault); when that fails, a cache
  // without an atlas, and the failure is logged.
  static std::shared_ptr<CountryAreaCache> LoadDefault();

  // The union of `codes` (order and case do not matter) as an AreaIndex with the border
  // margin geo::kCountryBorderMarginKm. NotFound naming an unknown code; FailedPrecondition
  // without an atlas; InvalidArgument for an empty set.
  absl::StatusOr<const geo::AreaIndex*> Area(const std::vector<std::string>& codes);

  const geo::CountryAtlas* atlas() const { return atlas_ ? &*atlas_ : nullptr; }

 private:
  std::optional<geo::CountryAtlas> atlas_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<geo::AreaIndex>> areas_ ABSL_GUARDED_BY(mu_);
};

// The geometry of one licence.
struct LicenceGeometry {
  int64_t licence_id = 0;
  geo::LicensedArea allowed;              // allowed.countries points into the cache.
  std::vector<std::string> site_names;    // Parallel to allowed.sites.
  const geo::AreaIndex* prohibited = nullptr;  // nullptr when the licence prohibits nothing.
  // Not OK when the licence cannot be turned into geometry (unknown country code, no atlas):
  // every verdict under it is unproven with this message as the reason.
  absl::Status status;
};

// Builds the geometry of `licence`. Never fails: problems land in LicenceGeometry::status.
// Prohibited "regions" are ISO codes; unknown ones are an error in status.
LicenceGeometry BuildLicenceGeometry(const Licence& licence, CountryAreaCache& countries);

}  // namespace lightcone::server::fleet

#endif  // LIGHTCONE_SERVER_FLEET_LICENCE_GEOMETRY_H_
