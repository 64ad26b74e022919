// CountryAtlas: country borders as S2 polygons, named by ISO 3166-1 alpha-2 codes.
//
// The atlas is loaded from the binary file that tools/borders/convert.mjs writes from
// Natural Earth's admin-0 countries (npm package world-atlas); the format and the mapping of
// Natural Earth features to codes are documented in data/countries/README.md. Each region
// is one valid S2Polygon (shells and holes, antimeridian-crossing parts joined), and an
// S2ShapeIndex over all of them answers point lookups.
//
// Copy semantics: copies are cheap and share the same immutable data.
// Thread safety: after Load() returns, every const method may be called concurrently.
//
// Edge cases: points at sea (or on a coast the map scale smooths away) belong to no
// country; CountryAt() then returns nullopt and NearestCountry() can be used instead.
// Borders are Natural Earth's de facto lines; see the README for disputed areas.
#ifndef LIGHTCONE_GEO_COUNTRY_ATLAS_H_
#define LIGHTCONE_GEO_COUNTRY_ATLAS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "s2/s1angle.h"
#include "s2/s2latlng.h"
#include "s2/s2polygon.h"

namespace lightcone::geo {

// Limits on what a country file may declare; a file beyond them is rejected before any
// allocation of that size.
inline constexpr uint32_t kMaxAtlasCountries = 1000;
inline constexpr uint32_t kMaxAtlasLoopsPerCountry = 100'000;
inline constexpr uint32_t kMaxAtlasVerticesPerLoop = 5'000'000;
inline constexpr uint32_t kMaxAtlasTotalVertices = 20'000'000;
inline constexpr uint64_t kMaxAtlasFileBytes = 256ull << 20;
// Most codes a country set such as "CN,HK,MO" may name.
inline constexpr size_t kMaxCountrySetCodes = 300;

// The scale of the atlas file shipped in data/countries/ and loaded by LoadDefault().
inline constexpr absl::string_view kDefaultAtlasScale = "50m";

// One region of the atlas.
struct CountryInfo {
  std::string alpha2;    // ISO 3166-1 alpha-2, e.g. "FR" ("XK" for Kosovo).
  int numeric_id = 0;    // ISO 3166-1 numeric, e.g. 250; 0 when there is none (XK).
  std::string name;      // English short name, e.g. "France".
};

// Parses a comma-separated set of ISO 3166-1 alpha-2 codes such as "CN,HK,MO" (spaces
// around codes are allowed, lower case is upper-cased, duplicates are dropped, order is
// kept). InvalidArgument for an empty set, an empty element, a code that is not two ASCII
// letters, or more than kMaxCountrySetCodes codes. Does not check that the codes exist.
absl::StatusOr<std::vector<std::string>> ParseCountrySet(absl::string_view text);

class CountryAtlas {
 public:
  // Loads an atlas file. NotFound if the file does not exist, DataLoss for a truncated or
  // malformed file or geometry that does not form valid S2 polygons, InvalidArgument for
  // counts beyond the kMaxAtlas* limits. The message names the file and the byte offset.
  // Costs about 0.2 s of CPU for the shipped 1:50m file: load once and share copies.
  static absl::StatusOr<CountryAtlas> Load(const std::string& path);

  // Loads data/countries/countries-<kDefaultAtlasScale>.bin from $LIGHTCONE_DATA_DIR when
  // that is set (the directory holding countries/), else from the source tree.
  static absl::StatusOr<CountryAtlas> LoadDefault();

  // The path LoadDefault() reads.
  static std::string DefaultPath();

  // The polygon of a region, or nullptr if the code is unknown. Case-sensitive ("FR").
  // A region the map scale collapses (none at 1:50m) has an empty polygon.
  const S2Polygon* Country(absl::string_view alpha2) const;

  // The union of the named regions (e.g. the codes from ParseCountrySet("CN,HK,MO")); an
  // empty list gives an empty polygon. NotFound naming the first unknown code.
  absl::StatusOr<std::unique_ptr<S2Polygon>> Union(absl::Span<const std::string> codes) const;

  // The region containing the point, or nullopt if none does (sea, Antarctic ice shelves
  // not in the data, coasts smoothed away by the map scale).
  std::optional<std::string> CountryAt(const S2LatLng& p) const;

  // The region containing the point or, failing that, the region whose boundary is closest
  // to it at a distance <= max_distance; nullopt if there is none.
  std::optional<std::string> NearestCountry(const S2LatLng& p, S1Angle max_distance) const;

  // All regions, sorted by alpha-2 code.
  const std::vector<CountryInfo>& countries() const;

  // Information on one region, or nullptr if the code is unknown.
  const CountryInfo* Info(absl::string_view alpha2) const;

  // Where the geometry came from, as recorded in the file (e.g. "world-atlas 2.0.2 ...").
  const std::string& source() const;

  // Total number of vertices in the loaded polygons.
  int64_t num_vertices() const;

 private:
  struct Data;
  explicit CountryAtlas(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

  std::shared_ptr<const Data> data_;
};

}  // namespace lightcone::geo

#endif  // LIGHTCONE_GEO_COUNTRY_ATLAS_H_
