# Timed challenges: the agent's responder (processing time per challenge) and the landmark
# prober (timing error, probes per second per core). See docs/protocol.md.
add_executable(responder_benchmark ${CMAKE_CURRENT_LIST_DIR}/responder_benchmark.cc)
set_target_properties(responder_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
target_link_libraries(responder_benchmark PRIVATE lightcone::settings lightcone::agent_responder
                      lightcone::bench_figures benchmark::benchmark)

add_executable(landmark_benchmark ${CMAKE_CURRENT_LIST_DIR}/landmark_benchmark.cc)
set_target_properties(landmark_benchmark PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
target_link_libraries(landmark_benchmark PRIVATE lightcone::settings lightcone::landmark
                      lightcone::agent_responder lightcone::bench_figures benchmark::benchmark)
target_compile_definitions(landmark_benchmark PRIVATE LIGHTCONE_BINARY_DIR="${CMAKE_BINARY_DIR}")
