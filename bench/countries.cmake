# Country atlas: load time and point lookups (src/geo/country_atlas.h).
add_executable(countries_benchmark ${CMAKE_CURRENT_LIST_DIR}/countries_benchmark.cc)
set_target_properties(countries_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
target_link_libraries(countries_benchmark PRIVATE lightcone::settings lightcone::geo_countries
                      lightcone::bench_figures benchmark::benchmark absl::strings)
target_compile_definitions(countries_benchmark PRIVATE
  LIGHTCONE_SHARED_DATA_DIR="${LIGHTCONE_SHARED_DATA_DIR}")
