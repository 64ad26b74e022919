#include "geo/country_atlas.h"

#include <cmath>
#include <cstdio>
#include <utility>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "s2/s2earth.h"
#include "s2/s2error.h"

namespace lightcone::geo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

// The atlas is loaded once for the whole suite: every test only reads it.
const CountryAtlas& Atlas() {
  static const CountryAtlas* atlas = [] {
    absl::StatusOr<CountryAtlas> loaded = CountryAtlas::LoadDefault();
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status().ToString();
      std::abort();
    }
    return new CountryAtlas(*std::move(loaded));
  }();
  return *atlas;
}

S2LatLng Deg(double lat, double lon) { return S2LatLng::FromDegrees(lat, lon); }

double AreaKm2(const S2Polygon& polygon) {
  return polygon.GetArea() * S2Earth::RadiusKm() * S2Earth::RadiusKm();
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path = std::string(LIGHTCONE_BINARY_DIR) + "/country_atlas_test_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

TEST(CountryAtlas, LoadsDefaultWithNamedRegions) {
  const CountryAtlas& atlas = Atlas();
  EXPECT_GT(atlas.countries().size(), 230u);
  EXPECT_THAT(atlas.source(), HasSubstr("world-atlas"));
  for (const char* code : {"CN", "HK", "MO", "TW", "FR", "US", "RU", "FJ", "XK", "GF", "RE"}) {
    EXPECT_NE(atlas.Country(code), nullptr) << code;
  }
  ASSERT_NE(atlas.Info("FR"), nullptr);
  EXPECT_EQ(atlas.Info("FR")->numeric_id, 250);
  EXPECT_EQ(atlas.Info("FR")->name, "France");
  EXPECT_EQ(atlas.Info("XK")->numeric_id, 0);
  EXPECT_EQ(atlas.Country("ZZ"), nullptr);
  EXPECT_EQ(atlas.Country("fr"), nullptr);
  EXPECT_EQ(atlas.Info("ZZ"), nullptr);
  for (size_t i = 1; i < atlas.countries().size(); ++i) {
    EXPECT_LT(atlas.countries()[i - 1].alpha2, atlas.countries()[i].alpha2);
  }
}

TEST(CountryAtlas, EveryPolygonIsValidAndSmallerThanAHemisphere) {
  const CountryAtlas& atlas = Atlas();
  for (const CountryInfo& info : atlas.countries()) {
    const S2Polygon* polygon = atlas.Country(info.alpha2);
    ASSERT_NE(polygon, nullptr) << info.alpha2;
    S2Error error;
    EXPECT_FALSE(polygon->FindValidationError(&error)) << info.alpha2 << ": " << error.text();
    EXPECT_FALSE(polygon->is_empty()) << info.alpha2;
    // The largest region, Russia, is 17.1 million km2 = 0.42 sr.
    EXPECT_LT(polygon->GetArea(), 0.5) << info.alpha2;
  }
}

TEST(CountryAtlas, CitiesLieInTheirCountries) {
  const CountryAtlas& atlas = Atlas();
  EXPECT_THAT(atlas.CountryAt(Deg(39.9042, 116.4074)), Optional(std::string("CN")));  // Beijing
  EXPECT_THAT(atlas.CountryAt(Deg(48.8566, 2.3522)), Optional(std::string("FR")));    // Paris
  EXPECT_THAT(atlas.CountryAt(Deg(21.3069, -157.8583)), Optional(std::string("US")));  // Honolulu
  EXPECT_THAT(atlas.CountryAt(Deg(61.2181, -149.9003)), Optional(std::string("US")));  // Anchorage
  EXPECT_THAT(atlas.CountryAt(Deg(35.6762, 139.6503)), Optional(std::string("JP")));   // Tokyo
  EXPECT_THAT(atlas.CountryAt(Deg(-33.8688, 151.2093)), Optional(std::string("AU")));  // Sydney
  EXPECT_THAT(atlas.CountryAt(Deg(42.6629, 21.1655)), Optional(std::string("XK")));    // Pristina
  EXPECT_THAT(atlas.CountryAt(Deg(-20.8821, 55.4507)), Optional(std::string("RE")));   // St-Denis
  EXPECT_THAT(atlas.CountryAt(Deg(4.9224, -52.3135)), Optional(std::string("GF")));    // Cayenne
  EXPECT_THAT(atlas.CountryAt(Deg(-82.0, 30.0)), Optional(std::string("AQ")));  // Antarctica
  EXPECT_EQ(atlas.CountryAt(Deg(0.0, -140.0)), std::nullopt);   // Mid Pacific.
  EXPECT_EQ(atlas.CountryAt(Deg(45.0, -35.0)), std::nullopt);   // Mid Atlantic.
}

TEST(CountryAtlas, HongKongAndMacaoAreSeparateFromChina) {
  const CountryAtlas& atlas = Atlas();
  EXPECT_THAT(atlas.CountryAt(Deg(22.3800, 114.1200)), Optional(std::string("HK")));  // N.T.
  // Inside Natural Earth's 1:50m Macao, which lies ~3 km north of the real one.
  EXPECT_THAT(atlas.CountryAt(Deg(22.2200, 113.5100)), Optional(std::string("MO")));
  EXPECT_THAT(atlas.CountryAt(Deg(22.6900, 114.2500)), Optional(std::string("CN")));  // Longgang
  EXPECT_THAT(atlas.CountryAt(Deg(23.1291, 113.2644)), Optional(std::string("CN")));  // Canton
  EXPECT_THAT(atlas.CountryAt(Deg(25.0330, 121.5654)), Optional(std::string("TW")));  // Taipei
}

TEST(CountryAtlas, AntimeridianCrossingCountries) {
  const CountryAtlas& atlas = Atlas();
  // Fiji: Viti Levu (west of 180) and the Lau group (east of 180).
  EXPECT_THAT(atlas.CountryAt(Deg(-17.8, 178.0)), Optional(std::string("FJ")));
  EXPECT_THAT(atlas.CountryAt(Deg(-16.8, -179.95)), Optional(std::string("FJ")));  // Taveuni
  // Russia: Chukotka east of 180 and the mainland west of it.
  EXPECT_THAT(atlas.CountryAt(Deg(66.0, -173.0)), Optional(std::string("RU")));
  EXPECT_THAT(atlas.CountryAt(Deg(67.0, 175.0)), Optional(std::string("RU")));
  // USA: Attu Island (west of 180) in the Aleutians.
  EXPECT_THAT(atlas.CountryAt(Deg(52.9, 172.9)), Optional(std::string("US")));
  // Areas catch a polygon inverted or cut in two at the antimeridian.
  EXPECT_NEAR(AreaKm2(*atlas.Country("RU")), 17'098'000, 0.05 * 17'098'000);
  EXPECT_NEAR(AreaKm2(*atlas.Country("FJ")), 18'274, 0.15 * 18'274);
  EXPECT_NEAR(AreaKm2(*atlas.Country("US")), 9'525'000, 0.05 * 9'525'000);
  // Natural Earth's Antarctica leaves out the ice shelves (~1.6 million km2 of 14 million).
  EXPECT_NEAR(AreaKm2(*atlas.Country("AQ")), 12'400'000, 0.10 * 12'400'000);
}

TEST(CountryAtlas, AreaOfFrance) {
  const CountryAtlas& atlas = Atlas();
  // Natural Earth's "France" includes the overseas departments; the converter gives them
  // their own ISO codes, so FR is metropolitan France with Corsica (551,695 km2).
  EXPECT_NEAR(AreaKm2(*atlas.Country("FR")), 551'695, 0.10 * 551'695);
  absl::StatusOr<std::unique_ptr<S2Polygon>> all =
      atlas.Union({"FR", "GF", "GP", "MQ", "RE", "YT"});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_NEAR(AreaKm2(**all), 640'679, 0.10 * 640'679);
}

TEST(CountryAtlas, UnionOfChinaHongKongMacao) {
  const CountryAtlas& atlas = Atlas();
  absl::StatusOr<std::vector<std::string>> codes = ParseCountrySet("CN,HK,MO");
  ASSERT_TRUE(codes.ok()) << codes.status();
  absl::StatusOr<std::unique_ptr<S2Polygon>> set = atlas.Union(*codes);
  ASSERT_TRUE(set.ok()) << set.status();
  S2Error error;
  EXPECT_FALSE((*set)->FindValidationError(&error)) << error.text();
  EXPECT_TRUE((*set)->Contains(Deg(39.9042, 116.4074).ToPoint()));   // Beijing
  EXPECT_TRUE((*set)->Contains(Deg(22.3800, 114.1200).ToPoint()));   // Hong Kong
  // At 1:50m Natural Earth draws Macao ~3 km north of the real peninsula (see
  // data/countries/README.md): the set reaches the real Senado Square within a few km.
  EXPECT_TRUE((*set)->Contains(Deg(22.2200, 113.5100).ToPoint()));
  EXPECT_LT(S2Earth::ToKm((*set)->GetDistance(Deg(22.1935, 113.5398).ToPoint())), 5.0);
  EXPECT_FALSE((*set)->Contains(Deg(35.6762, 139.6503).ToPoint()));  // Tokyo
  EXPECT_FALSE((*set)->Contains(Deg(25.0330, 121.5654).ToPoint()));  // Taipei
  const double sum_km2 = AreaKm2(*atlas.Country("CN")) + AreaKm2(*atlas.Country("HK")) +
                         AreaKm2(*atlas.Country("MO"));
  EXPECT_NEAR(AreaKm2(**set), sum_km2, 1e-6 * sum_km2);
}

TEST(CountryAtlas, UnionNamesTheUnknownCode) {
  absl::StatusOr<std::unique_ptr<S2Polygon>> set = Atlas().Union({"CN", "ZZ", "HK"});
  ASSERT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("\"ZZ\""));
}

TEST(CountryAtlas, UnionOfNothingIsEmpty) {
  absl::StatusOr<std::unique_ptr<S2Polygon>> set = Atlas().Union({});
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE((*set)->is_empty());
}

TEST(CountryAtlas, NearestCountryFindsCoastalPointsAtSea) {
  const CountryAtlas& atlas = Atlas();
  // 10 km off Brittany's west coast, at sea.
  const S2LatLng off_brest = Deg(48.38, -4.95);
  EXPECT_EQ(atlas.CountryAt(off_brest), std::nullopt);
  EXPECT_THAT(atlas.NearestCountry(off_brest, S2Earth::KmToAngle(25)),
              Optional(std::string("FR")));
  EXPECT_EQ(atlas.NearestCountry(Deg(0.0, -140.0), S2Earth::KmToAngle(100)), std::nullopt);
  EXPECT_THAT(atlas.NearestCountry(Deg(48.8566, 2.3522), S2Earth::KmToAngle(0)),
              Optional(std::string("FR")));
}

TEST(CountryAtlas, CopiesShareDataAndConcurrentReadsAgree) {
  const CountryAtlas copy = Atlas();
  EXPECT_EQ(copy.Country("FR"), Atlas().Country("FR"));
  std::vector<std::optional<std::string>> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) results[t] = copy.CountryAt(Deg(39.9042, 116.4074));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_THAT(result, Optional(std::string("CN")));
}

TEST(ParseCountrySet, AcceptsCodesWithSpacesAndCase) {
  EXPECT_THAT(*ParseCountrySet("CN,HK,MO"), ElementsAre("CN", "HK", "MO"));
  EXPECT_THAT(*ParseCountrySet(" cn , Hk,CN "), ElementsAre("CN", "HK"));
  EXPECT_THAT(*ParseCountrySet("FR"), ElementsAre("FR"));
}

TEST(ParseCountrySet, RejectsMalformedSets) {
  for (const char* text : {"", "  ", "CN,,HK", "CN,", ",CN", "CHN", "C1", "C", "CN;HK", "ÄB"}) {
    EXPECT_EQ(ParseCountrySet(text).status().code(), absl::StatusCode::kInvalidArgument)
        << "\"" << text << "\"";
  }
  std::string many;
  for (int i = 0; i < 400; ++i) many += "AB,";
  many += "AB";
  EXPECT_EQ(ParseCountrySet(many).status().code(), absl::StatusCode::kInvalidArgument);
}

// Writes an atlas file in the documented format (data/countries/README.md).
struct TestRegion {
  std::string alpha2;
  int numeric = 0;
  std::string name;
  std::vector<std::vector<std::pair<double, double>>> loops;  // (lat, lon) degrees.
};

std::string EncodeAtlas(const std::vector<TestRegion>& regions) {
  std::string out = "LCBORDER";
  auto u16 = [&](uint32_t v) { out.push_back(char(v & 0xff)); out.push_back(char(v >> 8)); };
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
  };
  uint32_t vertices = 0;
  for (const TestRegion& r : regions) {
    for (const auto& loop : r.loops) vertices += static_cast<uint32_t>(loop.size());
  }
  u32(1);
  u32(static_cast<uint32_t>(regions.size()));
  u32(vertices);
  const std::string source = "test";
  u16(static_cast<uint32_t>(source.size()));
  out += source;
  for (const TestRegion& r : regions) {
    out += r.alpha2;
    u16(static_cast<uint32_t>(r.numeric));
    u16(static_cast<uint32_t>(r.name.size()));
    out += r.name;
    u32(static_cast<uint32_t>(r.loops.size()));
    for (const auto& loop : r.loops) {
      u32(static_cast<uint32_t>(loop.size()));
      for (const auto& [lat, lon] : loop) {
        u32(static_cast<uint32_t>(static_cast<int32_t>(std::lround(lat * 1e6))));
        u32(static_cast<uint32_t>(static_cast<int32_t>(std::lround(lon * 1e6))));
      }
    }
  }
  return out;
}

TEST(CountryAtlasLoad, JoinsPartsCutAtTheAntimeridian) {
  // One island split at 180 into a western and an eastern part, each counter-clockwise,
  // as Natural Earth stores Fiji's Taveuni and Russia's Chukotka.
  TestRegion island{"AA", 1, "Island", {
      {{-1, 179}, {-1, 180}, {1, 180}, {1, 179}},
      {{-1, -180}, {-1, -179}, {1, -179}, {1, -180}}}};
  absl::StatusOr<CountryAtlas> atlas =
      CountryAtlas::Load(WriteTemp("antimeridian.bin", EncodeAtlas({island})));
  ASSERT_TRUE(atlas.ok()) << atlas.status();
  const S2Polygon* polygon = atlas->Country("AA");
  ASSERT_NE(polygon, nullptr);
  EXPECT_EQ(polygon->num_loops(), 1);  // The shared edge along 180 cancelled.
  EXPECT_THAT(atlas->CountryAt(Deg(0, 180)), Optional(std::string("AA")));
  EXPECT_THAT(atlas->CountryAt(Deg(0.5, -179.5)), Optional(std::string("AA")));
  EXPECT_THAT(atlas->CountryAt(Deg(0.5, 179.5)), Optional(std::string("AA")));
  EXPECT_EQ(atlas->CountryAt(Deg(0, 178.5)), std::nullopt);
  EXPECT_NEAR(AreaKm2(*polygon), 4 * 111.2 * 111.2, 0.01 * 4 * 111.2 * 111.2);
}

TEST(CountryAtlasLoad, RepairsASelfCrossingLoop) {
  // A counter-clockwise square whose east edge crosses itself at (1, 2.1), as a quantized
  // narrow inlet does: the lobe east of the crossing winds clockwise (winding -1) and is
  // dropped, the small bulge west of it winds +1 and is kept.
  TestRegion folded{"BB", 2, "Folded", {
      {{0, 0}, {0, 2}, {0.8, 2}, {1.2, 2.2}, {0.8, 2.2}, {1.2, 2}, {2, 2}, {2, 0}}}};
  absl::StatusOr<CountryAtlas> atlas =
      CountryAtlas::Load(WriteTemp("folded.bin", EncodeAtlas({folded})));
  ASSERT_TRUE(atlas.ok()) << atlas.status();
  S2Error error;
  EXPECT_FALSE(atlas->Country("BB")->FindValidationError(&error)) << error.text();
  EXPECT_THAT(atlas->CountryAt(Deg(1, 1)), Optional(std::string("BB")));
  EXPECT_THAT(atlas->CountryAt(Deg(1, 2.05)), Optional(std::string("BB")));
  EXPECT_EQ(atlas->CountryAt(Deg(1, 2.18)), std::nullopt);
  EXPECT_EQ(atlas->CountryAt(Deg(1, 3)), std::nullopt);
}

TEST(CountryAtlasLoad, InsideOutLoopIsDataLoss) {
  // Clockwise: interior on the right, i.e. the whole sphere but a small square.
  TestRegion inverted{"CC", 3, "Inverted", {{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}};
  absl::StatusOr<CountryAtlas> atlas =
      CountryAtlas::Load(WriteTemp("inverted.bin", EncodeAtlas({inverted})));
  EXPECT_EQ(atlas.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(atlas.status().message()), HasSubstr("CC"));
}

TEST(CountryAtlasLoad, RejectsBadCodesAndCoordinates) {
  TestRegion ok{"DD", 4, "Ok", {{{0, 0}, {0, 1}, {1, 1}, {1, 0}}}};
  TestRegion bad_code = ok;
  bad_code.alpha2 = "d1";
  EXPECT_EQ(CountryAtlas::Load(WriteTemp("code.bin", EncodeAtlas({bad_code}))).status().code(),
            absl::StatusCode::kDataLoss);
  TestRegion bad_lat = ok;
  bad_lat.loops[0][1] = {91, 1};
  EXPECT_EQ(CountryAtlas::Load(WriteTemp("lat.bin", EncodeAtlas({bad_lat}))).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(CountryAtlas::Load(WriteTemp("dup.bin", EncodeAtlas({ok, ok}))).status().code(),
            absl::StatusCode::kDataLoss);
  TestRegion two_vertices = ok;
  two_vertices.loops[0].resize(2);
  EXPECT_EQ(
      CountryAtlas::Load(WriteTemp("two.bin", EncodeAtlas({two_vertices}))).status().code(),
      absl::StatusCode::kDataLoss);
  // Sanity: the encoder itself writes loadable files.
  EXPECT_TRUE(CountryAtlas::Load(WriteTemp("ok.bin", EncodeAtlas({ok}))).ok());
}

TEST(CountryAtlasLoad, MissingFileIsNotFound) {
  EXPECT_EQ(CountryAtlas::Load("/nonexistent/countries.bin").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CountryAtlasLoad, TruncatedFileIsDataLoss) {
  const std::string bytes = ReadBytes(CountryAtlas::DefaultPath());
  ASSERT_GT(bytes.size(), 1000u);
  for (size_t cut : {size_t{0}, size_t{4}, size_t{10}, size_t{21}, size_t{40}, size_t{500},
                     bytes.size() / 2, bytes.size() - 1}) {
    const std::string path = WriteTemp("truncated.bin", bytes.substr(0, cut));
    absl::StatusOr<CountryAtlas> atlas = CountryAtlas::Load(path);
    EXPECT_EQ(atlas.status().code(), absl::StatusCode::kDataLoss) << cut << ": "
                                                                  << atlas.status();
    if (cut > 21) {
      EXPECT_THAT(std::string(atlas.status().message()), HasSubstr("byte"));
    }
  }
}

TEST(CountryAtlasLoad, TrailingBytesAndBadMagicAreDataLoss) {
  const std::string bytes = ReadBytes(CountryAtlas::DefaultPath());
  EXPECT_EQ(CountryAtlas::Load(WriteTemp("trailing.bin", bytes + "x")).status().code(),
            absl::StatusCode::kDataLoss);
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  EXPECT_EQ(CountryAtlas::Load(WriteTemp("magic.bin", bad_magic)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(CountryAtlasLoad, CountsBeyondLimitsAreRejectedBeforeAllocation) {
  const std::string bytes = ReadBytes(CountryAtlas::DefaultPath());
  std::string huge_count = bytes;
  huge_count[12] = huge_count[13] = huge_count[14] = huge_count[15] = '\xff';  // Countries.
  EXPECT_EQ(CountryAtlas::Load(WriteTemp("count.bin", huge_count)).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string huge_vertices = bytes;
  huge_vertices[19] = '\x7f';  // Total vertex count.
  EXPECT_EQ(CountryAtlas::Load(WriteTemp("vertices.bin", huge_vertices)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CountryAtlasLoad, CorruptedVerticesNeverCrash) {
  const std::string bytes = ReadBytes(CountryAtlas::DefaultPath());
  // Flip bytes all over the file: each load either succeeds or fails with a status.
  for (size_t pos = 30; pos < bytes.size(); pos += bytes.size() / 7) {
    std::string corrupted = bytes;
    corrupted[pos] = static_cast<char>(corrupted[pos] ^ 0x5a);
    absl::StatusOr<CountryAtlas> atlas = CountryAtlas::Load(WriteTemp("flip.bin", corrupted));
    if (!atlas.ok()) {
      EXPECT_THAT(atlas.status().code(),
                  ::testing::AnyOf(absl::StatusCode::kDataLoss,
                                   absl::StatusCode::kInvalidArgument))
          << pos << ": " << atlas.status();
    }
  }
}

TEST(CountryAtlasLoad, DataDirEnvironmentOverridesDefaultPath) {
  ASSERT_EQ(setenv("LIGHTCONE_DATA_DIR", "/some/dir", 1), 0);
  EXPECT_EQ(CountryAtlas::DefaultPath(), "/some/dir/countries/countries-50m.bin");
  EXPECT_EQ(CountryAtlas::LoadDefault().status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(unsetenv("LIGHTCONE_DATA_DIR"), 0);
  EXPECT_THAT(CountryAtlas::DefaultPath(), HasSubstr("/data/countries/countries-50m.bin"));
}

struct Host {
  std::string id;
  double lat_deg = 0;
  double lon_deg = 0;
  std::string country;
};

// hosts.csv is id,lat,lon,country,city where the city may itself contain commas
// ("Toronto, ON, CA"), so only the first four fields are split off here.
std::vector<Host> ReadHosts(const std::string& path) {
  std::ifstream in(path);
  std::vector<Host> hosts;
  std::string line;
  std::getline(in, line);  // Header.
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(',', 4));
    if (fields.size() < 4) continue;
    Host host;
    host.id = fields[0];
    if (!absl::SimpleAtod(fields[1], &host.lat_deg) || !absl::SimpleAtod(fields[2], &host.lon_deg)) {
      ADD_FAILURE() << path << ": bad coordinates in " << line;
      continue;
    }
    host.country = fields[3];
    hosts.push_back(std::move(host));
  }
  return hosts;
}

// Every RIPE Atlas host of the shared data set should lie in the country its operator
// declared. Hosts on a coast may fall just outside a generalised border; NearestCountry
// with a small tolerance catches them. The figures are quoted in data/countries/README.md.
TEST(CountryAtlas, RipeAtlasHostsAgreeWithTheirDeclaredCountry) {
  const std::string path =
      std::string(LIGHTCONE_SHARED_DATA_DIR) + "/ripe-atlas-2018/hosts.csv";
  const std::vector<Host> hosts = ReadHosts(path);
  if (hosts.empty()) GTEST_SKIP() << "no shared data at " << path;
  int inside = 0, near = 0;
  for (const Host& host : hosts) {
    const S2LatLng p = Deg(host.lat_deg, host.lon_deg);
    std::optional<std::string> at = Atlas().CountryAt(p);
    if (at == host.country) ++inside;
    std::optional<std::string> nearest = Atlas().NearestCountry(p, S2Earth::KmToAngle(10));
    if (nearest == host.country) {
      ++near;
    } else {
      std::printf("disagree: %s declared %s, atlas %s (nearest within 10 km: %s)\n",
                  host.id.c_str(), host.country.c_str(), at.value_or("-").c_str(),
                  nearest.value_or("-").c_str());
    }
  }
  std::printf("hosts %zu, CountryAt agrees %d, NearestCountry(10 km) agrees %d\n",
              hosts.size(), inside, near);
  EXPECT_EQ(hosts.size(), 333u);
  EXPECT_GE(inside, 0.93 * static_cast<double>(hosts.size()));  // 315 of 333 at 1:50m.
  EXPECT_GE(near, 0.99 * static_cast<double>(hosts.size()));  // 331 of 333 at 1:50m.
}

}  // namespace
}  // namespace lightcone::geo
