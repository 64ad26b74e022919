# Evidence store: measurements ingested per second through the Store API, batches of 1,000,
# into SQLite (a file in a temporary directory) and into a real PostgreSQL server started in
# a temporary directory (src/server/store, docs/store.md).
add_executable(store_benchmark ${CMAKE_CURRENT_LIST_DIR}/store_benchmark.cc)
set_target_properties(store_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
target_link_libraries(store_benchmark PRIVATE lightcone::settings lightcone::server_store
                      lightcone::server_store_pg_testing lightcone::bench_figures
                      benchmark::benchmark absl::strings absl::time)

# The store at scale: the compliance history read over 2.4M verdicts (time and the reading
# process's peak RSS, streamed and materialized) and the schema v4 migration of 1M and 5M
# verdicts, on SQLite and PostgreSQL (docs/store.md "Compliance history reads", "Migration cost").
add_executable(store_scale_benchmark ${CMAKE_CURRENT_LIST_DIR}/store_scale_benchmark.cc)
set_target_properties(store_scale_benchmark PROPERTIES
                      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
target_link_libraries(store_scale_benchmark PRIVATE lightcone::server_store
                      lightcone::server_store_pg_testing lightcone::bench_figures
                      absl::strings absl::time)
