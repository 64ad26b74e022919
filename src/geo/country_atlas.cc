#include "geo/country_atlas.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"
#include "s2/mutable_s2shape_index.h"
#include "s2/s2builder.h"
#include "s2/s2builderutil_s2polygon_layer.h"
#include "s2/s2builderutil_snap_functions.h"
#include "s2/s2closest_edge_query.h"
#include "s2/s2contains_point_query.h"
#include "s2/s2error.h"
#include "s2/s2memory_tracker.h"
#include "s2/s2winding_operation.h"

namespace lightcone::geo {
namespace {

constexpr char kMagic[8] = {'L', 'C', 'B', 'O', 'R', 'D', 'E', 'R'};
constexpr uint32_t kFormatVersion = 1;
constexpr int32_t kMaxLatE6 = 90'000'000;
constexpr int32_t kMaxLonE6 = 180'000'000;
constexpr int kMinLoopVertices = 3;
// Memory the repair of one self-intersecting region may use.
constexpr int64_t kMaxBuildMemoryBytes = int64_t{1} << 30;

bool IsAlpha2(absl::string_view code) {
  return code.size() == 2 && absl::ascii_isupper(static_cast<unsigned char>(code[0])) &&
         absl::ascii_isupper(static_cast<unsigned char>(code[1]));
}

// Bounds-checked little-endian reader over the file contents. Every failure names the file
// and the byte offset.
class Reader {
 public:
  Reader(absl::string_view path, absl::string_view bytes) : path_(path), bytes_(bytes) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }

  absl::Status Truncated(absl::string_view what) const {
    return absl::DataLossError(absl::StrCat("country atlas ", path_, ": truncated at byte ",
                                            offset_, " while reading ", what));
  }
  absl::Status Malformed(absl::string_view why) const {
    return absl::DataLossError(
        absl::StrCat("country atlas ", path_, ": malformed at byte ", offset_, ": ", why));
  }
  absl::Status TooMany(absl::string_view what, uint64_t count, uint64_t limit) const {
    return absl::InvalidArgumentError(absl::StrCat("country atlas ", path_, ": at byte ",
                                                   offset_, ": ", what, " ", count,
                                                   " exceeds the limit ", limit));
  }

  absl::StatusOr<absl::string_view> Bytes(size_t n, absl::string_view what) {
    if (remaining() < n) return Truncated(what);
    absl::string_view out = bytes_.substr(offset_, n);
    offset_ += n;
    return out;
  }
  absl::StatusOr<uint16_t> U16(absl::string_view what) {
    LC_ASSIGN_OR_RETURN(absl::string_view b, Bytes(2, what));
    return static_cast<uint16_t>(static_cast<uint8_t>(b[0]) |
                                 (static_cast<uint8_t>(b[1]) << 8));
  }
  absl::StatusOr<uint32_t> U32(absl::string_view what) {
    LC_ASSIGN_OR_RETURN(absl::string_view b, Bytes(4, what));
    return DecodeU32(b.data());
  }

  static uint32_t DecodeU32(const char* p) {
    return static_cast<uint32_t>(static_cast<uint8_t>(p[0])) |
           (static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 8) |
           (static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(p[3])) << 24);
  }

 private:
  std::string path_;
  absl::string_view bytes_;
  size_t offset_ = 0;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("country atlas ", path, ": cannot open"));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return absl::DataLossError(absl::StrCat("country atlas ", path, ": cannot size"));
  if (static_cast<uint64_t>(size) > kMaxAtlasFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("country atlas ", path, ": ", size,
                                                   " bytes exceeds the limit ",
                                                   kMaxAtlasFileBytes));
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) {
    return absl::DataLossError(absl::StrCat("country atlas ", path, ": read failed"));
  }
  return bytes;
}

// Assembles the loops of one region into a valid polygon. Loops may share edges (parts cut
// at the antimeridian, merged features): S2Builder cancels each edge present in both
// directions. False with the reason in `error` if no valid polygon results (for instance
// when a loop crosses itself).
bool BuildPolygon(const std::vector<std::vector<S2Point>>& loops, S2Polygon* polygon,
                  S2Error* error) {
  // Corrupt input must give a Status, not the library's debug-mode abort.
  polygon->set_s2debug_override(S2Debug::DISABLE);
  S2Builder builder{S2Builder::Options()};
  builder.StartLayer(std::make_unique<s2builderutil::S2PolygonLayer>(polygon));
  for (const std::vector<S2Point>& loop : loops) builder.AddLoop(loop);
  if (!builder.Build(error)) return false;
  return !polygon->FindValidationError(error);
}

// Same, for loops that may cross themselves or each other: the result is the set of points
// whose winding number is positive, taking the point opposite the loops' mean vertex as
// outside (winding 0). That holds for every region smaller than a hemisphere.
bool BuildPolygonByWinding(const std::vector<std::vector<S2Point>>& loops, S2Polygon* polygon,
                           S2Error* error) {
  polygon->set_s2debug_override(S2Debug::DISABLE);
  S2Point sum(0, 0, 0);
  for (const std::vector<S2Point>& loop : loops) {
    for (const S2Point& p : loop) sum += p;
  }
  if (sum.Norm2() == 0) {
    error->Init(S2Error::DATA_LOSS, "loops have no mean direction");
    return false;
  }
  const S2Point outside = -sum.Normalize();
  S2MemoryTracker tracker;
  tracker.set_limit_bytes(kMaxBuildMemoryBytes);
  S2WindingOperation::Options options;
  options.set_memory_tracker(&tracker);
  S2WindingOperation op(std::make_unique<s2builderutil::S2PolygonLayer>(polygon), options);
  for (const std::vector<S2Point>& loop : loops) op.AddLoop(loop);
  if (!op.Build(outside, 0, S2WindingOperation::WindingRule::POSITIVE, error)) return false;
  return !polygon->FindValidationError(error);
}

}  // namespace

struct CountryAtlas::Data {
  std::string source;
  std::vector<CountryInfo> infos;                    // Sorted by alpha2.
  std::vector<std::unique_ptr<S2Polygon>> polygons;  // Parallel to infos.
  absl::flat_hash_map<std::string, int> by_code;
  MutableS2ShapeIndex index;                         // Shape id i is polygons[i].
  int64_t num_vertices = 0;
};

absl::StatusOr<std::vector<std::string>> ParseCountrySet(absl::string_view text) {
  std::vector<std::string> codes;
  absl::flat_hash_set<std::string> seen;
  if (absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError("country set is empty (expected codes such as CN,HK,MO)");
  }
  int position = 0;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    ++position;
    absl::string_view code = absl::StripAsciiWhitespace(part);
    if (code.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("country set \"", text, "\": element ",
                                                     position, " is empty"));
    }
    std::string upper = absl::AsciiStrToUpper(code);
    if (!IsAlpha2(upper)) {
      return absl::InvalidArgumentError(
          absl::StrCat("country set \"", text, "\": element ", position, " \"", code,
                       "\" is not an ISO 3166-1 alpha-2 code (two letters)"));
    }
    if (static_cast<size_t>(position) > kMaxCountrySetCodes) {
      return absl::InvalidArgumentError(absl::StrCat("country set names more than ",
                                                     kMaxCountrySetCodes, " codes"));
    }
    if (seen.insert(upper).second) codes.push_back(std::move(upper));
  }
  return codes;
}

absl::StatusOr<CountryAtlas> CountryAtlas::Load(const std::string& path) {
  LC_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  Reader r(path, bytes);
  auto data = std::make_shared<Data>();

  LC_ASSIGN_OR_RETURN(absl::string_view magic, r.Bytes(sizeof(kMagic), "magic"));
  if (std::memcmp(magic.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError(absl::StrCat("country atlas ", path,
                                            ": not a country atlas file (bad magic)"));
  }
  LC_ASSIGN_OR_RETURN(uint32_t version, r.U32("version"));
  if (version != kFormatVersion) {
    return absl::DataLossError(absl::StrCat("country atlas ", path, ": format version ",
                                            version, ", this build reads ", kFormatVersion));
  }
  LC_ASSIGN_OR_RETURN(uint32_t country_count, r.U32("country count"));
  if (country_count > kMaxAtlasCountries) {
    return r.TooMany("country count", country_count, kMaxAtlasCountries);
  }
  LC_ASSIGN_OR_RETURN(uint32_t declared_vertices, r.U32("total vertex count"));
  if (declared_vertices > kMaxAtlasTotalVertices) {
    return r.TooMany("total vertex count", declared_vertices, kMaxAtlasTotalVertices);
  }
  LC_ASSIGN_OR_RETURN(uint16_t source_len, r.U16("source length"));
  LC_ASSIGN_OR_RETURN(absl::string_view source, r.Bytes(source_len, "source"));
  data->source = std::string(source);

  uint64_t total_vertices = 0;
  data->infos.reserve(country_count);
  data->polygons.reserve(country_count);
  for (uint32_t c = 0; c < country_count; ++c) {
    CountryInfo info;
    LC_ASSIGN_OR_RETURN(absl::string_view code, r.Bytes(2, "country code"));
    info.alpha2 = std::string(code);
    if (!IsAlpha2(info.alpha2)) return r.Malformed("country code is not two upper-case letters");
    if (!data->infos.empty() && data->infos.back().alpha2 >= info.alpha2) {
      return r.Malformed(absl::StrCat("country ", info.alpha2, " is duplicate or out of order"));
    }
    LC_ASSIGN_OR_RETURN(uint16_t numeric, r.U16("numeric id"));
    info.numeric_id = numeric;
    LC_ASSIGN_OR_RETURN(uint16_t name_len, r.U16("name length"));
    LC_ASSIGN_OR_RETURN(absl::string_view name, r.Bytes(name_len, "name"));
    info.name = std::string(name);
    LC_ASSIGN_OR_RETURN(uint32_t loop_count, r.U32("loop count"));
    if (loop_count > kMaxAtlasLoopsPerCountry) {
      return r.TooMany(absl::StrCat("loop count of ", info.alpha2), loop_count,
                       kMaxAtlasLoopsPerCountry);
    }
    if (loop_count == 0) return r.Malformed(absl::StrCat("country ", info.alpha2, " has no loops"));

    std::vector<std::vector<S2Point>> loops;
    loops.reserve(loop_count);
    for (uint32_t l = 0; l < loop_count; ++l) {
      LC_ASSIGN_OR_RETURN(uint32_t n, r.U32("vertex count"));
      if (n > kMaxAtlasVerticesPerLoop) {
        return r.TooMany("vertex count of a loop", n, kMaxAtlasVerticesPerLoop);
      }
      if (n < kMinLoopVertices) return r.Malformed("loop with fewer than 3 vertices");
      total_vertices += n;
      if (total_vertices > declared_vertices) {
        return r.Malformed("more vertices than the header declares");
      }
      if (r.remaining() / 8 < n) return r.Truncated(absl::StrCat("a loop of ", info.alpha2));
      LC_ASSIGN_OR_RETURN(absl::string_view raw, r.Bytes(static_cast<size_t>(n) * 8, "loop"));
      std::vector<S2Point> loop;
      loop.reserve(n);
      for (uint32_t v = 0; v < n; ++v) {
        const int32_t lat = static_cast<int32_t>(Reader::DecodeU32(raw.data() + 8 * v));
        int32_t lon = static_cast<int32_t>(Reader::DecodeU32(raw.data() + 8 * v + 4));
        if (lat < -kMaxLatE6 || lat > kMaxLatE6 || lon < -kMaxLonE6 || lon > kMaxLonE6) {
          return r.Malformed(absl::StrCat("vertex ", v, " of ", info.alpha2,
                                          " is outside lat [-90,90], lon [-180,180]"));
        }
        // -180 and +180 are the same meridian; make them the same S2Point exactly so the
        // two sides of a polygon cut at the antimeridian cancel their shared edge.
        if (lon == -kMaxLonE6) lon = kMaxLonE6;
        const S2Point p = S2LatLng::FromE6(lat, lon).ToPoint();
        if (loop.empty() || loop.back() != p) loop.push_back(p);
      }
      while (loop.size() > 1 && loop.back() == loop.front()) loop.pop_back();
      if (loop.size() >= static_cast<size_t>(kMinLoopVertices)) loops.push_back(std::move(loop));
    }
    // Fast path first. The quantized source has a few self-intersecting rings (a narrow
    // inlet of Brazil's 1:10m coast folds over itself, enclaves such as Baarle-Hertog); for
    // those the slower path keeps the points of positive winding number.
    auto polygon = std::make_unique<S2Polygon>();
    S2Error error;
    if (!BuildPolygon(loops, polygon.get(), &error)) {
      polygon = std::make_unique<S2Polygon>();
      error = S2Error();
      if (!BuildPolygonByWinding(loops, polygon.get(), &error)) {
        return absl::DataLossError(absl::StrCat("country atlas ", path, ": polygon of ",
                                                info.alpha2, " is invalid: ", error.text()));
      }
    }
    // A region larger than a hemisphere means a loop was stored with the wrong orientation.
    // (A region may come out empty when the source's quantization collapses it: the
    // Vatican at 1:10m.)
    if (polygon->GetArea() > 2 * M_PI) {
      return absl::DataLossError(absl::StrCat("country atlas ", path, ": polygon of ",
                                              info.alpha2,
                                              " is inside out (loop orientation)"));
    }
    data->num_vertices += polygon->num_vertices();
    data->by_code.emplace(info.alpha2, static_cast<int>(data->infos.size()));
    data->infos.push_back(std::move(info));
    data->polygons.push_back(std::move(polygon));
  }
  if (total_vertices != declared_vertices) {
    return r.Malformed(absl::StrCat("header declares ", declared_vertices, " vertices, file has ",
                                    total_vertices));
  }
  if (r.remaining() != 0) return r.Malformed("trailing bytes after the last country");

  for (const auto& polygon : data->polygons) {
    data->index.Add(std::make_unique<S2Polygon::Shape>(polygon.get()));
  }
  // Build now so that concurrent readers never trigger the lazy build.
  data->index.ForceBuild();
  return CountryAtlas(std::move(data));
}

std::string CountryAtlas::DefaultPath() {
  const std::string file = absl::StrCat("countries/countries-", kDefaultAtlasScale, ".bin");
  if (const char* dir = std::getenv("LIGHTCONE_DATA_DIR"); dir != nullptr && *dir != '\0') {
    return absl::StrCat(dir, "/", file);
  }
  return absl::StrCat(LIGHTCONE_SOURCE_DIR, "/data/", file);
}

absl::StatusOr<CountryAtlas> CountryAtlas::LoadDefault() { return Load(DefaultPath()); }

const S2Polygon* CountryAtlas::Country(absl::string_view alpha2) const {
  auto it = data_->by_code.find(alpha2);
  return it == data_->by_code.end() ? nullptr : data_->polygons[it->second].get();
}

const CountryInfo* CountryAtlas::Info(absl::string_view alpha2) const {
  auto it = data_->by_code.find(alpha2);
  return it == data_->by_code.end() ? nullptr : &data_->infos[it->second];
}

absl::StatusOr<std::unique_ptr<S2Polygon>> CountryAtlas::Union(
    absl::Span<const std::string> codes) const {
  std::vector<std::unique_ptr<S2Polygon>> parts;
  parts.reserve(codes.size());
  for (const std::string& code : codes) {
    const S2Polygon* polygon = Country(code);
    if (polygon == nullptr) {
      return absl::NotFoundError(absl::StrCat("unknown country code \"", code,
                                              "\" (not an ISO 3166-1 alpha-2 code in ",
                                              data_->source, ")"));
    }
    auto copy = std::make_unique<S2Polygon>();
    copy->Copy(*polygon);
    parts.push_back(std::move(copy));
  }
  if (parts.empty()) return std::make_unique<S2Polygon>();
  if (parts.size() == 1) return std::move(parts.front());
  return S2Polygon::DestructiveUnion(std::move(parts));
}

std::optional<std::string> CountryAtlas::CountryAt(const S2LatLng& p) const {
  std::optional<std::string> found;
  auto query = MakeS2ContainsPointQuery(&data_->index);
  query.VisitContainingShapes(p.Normalized().ToPoint(), [&](S2Shape* shape) {
    found = data_->infos[shape->id()].alpha2;
    return false;  // Regions do not overlap: the first is the answer.
  });
  return found;
}

std::optional<std::string> CountryAtlas::NearestCountry(const S2LatLng& p,
                                                        S1Angle max_distance) const {
  S2ClosestEdgeQuery query(&data_->index);
  query.mutable_options()->set_inclusive_max_distance(S1ChordAngle(max_distance));
  query.mutable_options()->set_include_interiors(true);
  S2ClosestEdgeQuery::PointTarget target(p.Normalized().ToPoint());
  const S2ClosestEdgeQuery::Result result = query.FindClosestEdge(&target);
  if (result.is_empty()) return std::nullopt;
  return data_->infos[result.shape_id()].alpha2;
}

const std::vector<CountryInfo>& CountryAtlas::countries() const { return data_->infos; }

const std::string& CountryAtlas::source() const { return data_->source; }

int64_t CountryAtlas::num_vertices() const { return data_->num_vertices; }

}  // namespace lightcone::geo
