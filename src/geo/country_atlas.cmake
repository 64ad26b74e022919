# Country borders (Natural Earth admin-0 via world-atlas, see data/countries/README.md).
# Included from src/geo/CMakeLists.txt.
lightcone_cc_library(
  NAME geo_countries
  HDRS country_atlas.h
  SRCS country_atlas.cc
  DEPS lightcone::core s2::s2 absl::status absl::statusor absl::strings absl::span
       absl::flat_hash_map absl::flat_hash_set
)
lightcone_cc_test(NAME country_atlas_test SRCS country_atlas_test.cc
                  DEPS lightcone::geo_countries lightcone::core)
