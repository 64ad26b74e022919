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

lightcone_cc_library(
  NAME geo_landmark_sanity
  HDRS landmark_sanity.h
  SRCS landmark_sanity.cc
  DEPS lightcone::geo_dataset lightcone::geo s2::s2 absl::str_format absl::span
)

lightcone_cc_test(NAME landmark_sanity_test SRCS landmark_sanity_test.cc
                  DEPS lightcone::geo_landmark_sanity)

lightcone_cc_library(
  NAME geo_estimate
  HDRS calibration.h estimator.h
  SRCS calibration.cc estimator.cc
  DEPS lightcone::geo_dataset lightcone::geo_landmark_sanity lightcone::geo s2::s2
       absl::status absl::statusor absl::strings absl::span absl::flat_hash_map
)

lightcone_cc_test(NAME calibration_test SRCS calibration_test.cc DEPS lightcone::geo_estimate)
lightcone_cc_test(NAME estimator_test SRCS estimator_test.cc DEPS lightcone::geo_estimate)
# Leave-one-out over the RIPE Atlas anchor mesh: prints the table of every method and checks
# the accuracy targets of issue 2.
lightcone_cc_test(NAME estimator_eval_test SRCS estimator_eval_test.cc DEPS lightcone::geo_estimate)

# `lightcone locate` reads datasets and estimates positions.
set_property(GLOBAL APPEND PROPERTY LIGHTCONE_CLI_DEPS lightcone::geo_estimate)
