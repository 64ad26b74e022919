# Location engine benchmarks (issue 2): sound verdicts per second.
add_executable(geo_benchmark ${CMAKE_CURRENT_SOURCE_DIR}/geo_benchmark.cc)
set_target_properties(geo_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
target_link_libraries(geo_benchmark PRIVATE lightcone::settings lightcone::geo
                      lightcone::geo_countries lightcone::bench_figures benchmark::benchmark)
