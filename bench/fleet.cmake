# Fleet analysis: one FleetMonitor pass (verdicts, detectors, alerts) over 100,000 GPUs with
# 16 landmarks each on SQLite (src/server/fleet).
add_executable(fleet_benchmark ${CMAKE_CURRENT_LIST_DIR}/fleet_benchmark.cc)
set_target_properties(fleet_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
target_link_libraries(fleet_benchmark PRIVATE lightcone::settings lightcone::server_fleet
                      lightcone::server_fleet_testing lightcone::server_store
                      lightcone::bench_figures benchmark::benchmark absl::strings absl::time)
