# Fleet server: measurements ingested per second over HTTP (signed 1,000-record batches,
# every signature checked) into SQLite and PostgreSQL (src/server/api, docs/api.md).
if(TARGET lightcone::server_api)
  add_executable(server_benchmark ${CMAKE_CURRENT_LIST_DIR}/server_benchmark.cc)
  set_target_properties(server_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  target_link_libraries(server_benchmark PRIVATE lightcone::settings lightcone::server_api
                        lightcone::server_store_pg_testing lightcone::bench_figures
                        benchmark::benchmark PkgConfig::HTTPLIB absl::strings absl::time)
endif()
