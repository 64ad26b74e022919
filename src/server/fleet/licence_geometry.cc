#include "server/fleet/licence_geometry.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/logging.h"
#include "geo/units.h"
#include "s2/s2latlng.h"

namespace lightcone::server::fleet {

CountryAreaCache::CountryAreaCache(std::optional<geo::CountryAtlas> atlas)
    : atlas_(std::move(atlas)) {}

std::shared_ptr<CountryAreaCache> CountryAreaCache::LoadDefault() {
  auto atlas = geo::CountryAtlas::LoadDefault();
  if (!atlas.ok()) {
    Logger("fleet")->warn("country borders unavailable ({}); licences naming countries stay unproven",
                          atlas.status().ToString());
    return std::make_shared<CountryAreaCache>(std::nullopt);
  }
  return std::make_shared<CountryAreaCache>(*std::move(atlas));
}

absl::StatusOr<const geo::AreaIndex*> CountryAreaCache::Area(
    const std::vector<std::string>& codes) {
  if (codes.empty()) return absl::InvalidArgumentError("country set is empty");
  std::vector<std::string> sorted;
  for (const std::string& c : codes) {
    std::string u = c;
    for (char& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    sorted.push_back(u);
  }
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const std::string key = absl::StrJoin(sorted, ",");
  absl::MutexLock lock(&mu_);
  auto it = areas_.find(key);
  if (it != areas_.end()) return it->second.get();
  if (!atlas_.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("country borders are not loaded: cannot build the area of ", key));
  }
  auto polygon = atlas_->Union(sorted);
  if (!polygon.ok()) return polygon.status();
  auto index = std::make_unique<geo::AreaIndex>(*std::move(polygon),
                                                geo::KmToAngle(geo::kCountryBorderMarginKm));
  const geo::AreaIndex* out = index.get();
  areas_.emplace(key, std::move(index));
  return out;
}

LicenceGeometry BuildLicenceGeometry(const Licence& licence, CountryAreaCache& countries) {
  LicenceGeometry g;
  g.licence_id = licence.id;
  for (const AllowedSite& site : licence.allowed_sites) {
    g.allowed.sites.push_back(
        S2Cap(S2LatLng::FromDegrees(site.latitude_deg, site.longitude_deg).ToPoint(),
              geo::KmToAngle(std::max(0.0, site.radius_km))));
    g.site_names.push_back(site.name);
  }
  if (!licence.allowed_countries.empty()) {
    auto area = countries.Area(licence.allowed_countries);
    if (area.ok()) {
      g.allowed.countries = *area;
    } else {
      g.status = absl::FailedPreconditionError(absl::StrCat(
          "licence ", licence.reference, ": allowed countries: ", area.status().message()));
    }
  }
  if (!licence.prohibited_regions.empty()) {
    auto area = countries.Area(licence.prohibited_regions);
    if (area.ok()) {
      g.prohibited = *area;
    } else if (g.status.ok()) {
      g.status = absl::FailedPreconditionError(absl::StrCat(
          "licence ", licence.reference, ": prohibited regions: ", area.status().message()));
    }
  }
  if (g.status.ok() && g.allowed.sites.empty() && g.allowed.countries == nullptr) {
    g.status = absl::FailedPreconditionError(
        absl::StrCat("licence ", licence.reference, " names no allowed site or country"));
  }
  return g;
}

}  // namespace lightcone::server::fleet
