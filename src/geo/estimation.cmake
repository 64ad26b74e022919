# Dataset loading, landmark sanity and position estimators (issue 2). Included from
# src/geo/CMakeLists.txt.

lightcone_cc_library(
  NAME geo_dataset
  HDRS dataset.h
  SRCS dataset.cc
  DEPS lightcone::core lightcone::geo s2::s2 absl::status absl::statusor absl::strings
       absl::flat_hash_map
)

lightcone_cc_test(NAME dataset_test SRCS dataset_test.cc DEPS lightcone::geo_dataset)
