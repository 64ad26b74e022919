# Ed25519 costs that bound the fleet server's ingest (every reply signature is verified) and
# the agent's reply time (one signature per challenge). See docs/api.md "Ingest throughput".
add_executable(crypto_benchmark ${CMAKE_CURRENT_LIST_DIR}/crypto_benchmark.cc)
set_target_properties(crypto_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
target_link_libraries(crypto_benchmark PRIVATE lightcone::settings lightcone::crypto
                      OpenSSL::Crypto lightcone::bench_figures benchmark::benchmark)
