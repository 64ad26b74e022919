# Delay emulator: scheduling error of the relay at 1,000 and 10,000 datagrams/s and the CPU
# the timing thread spends (src/netem/relay.h, docs/netem.md).
add_executable(netem_benchmark ${CMAKE_CURRENT_LIST_DIR}/netem_benchmark.cc)
set_target_properties(netem_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
target_link_libraries(netem_benchmark PRIVATE lightcone::settings lightcone::netem
                      lightcone::bench_figures benchmark::benchmark absl::strings)
