# Agent GPU footprint: resident memory and CPU share of the telemetry loop with 8 fake GPUs
# at 1 s telemetry (DESIGN.md §9: <= 30 MB, <= 1% of one core), plus the cost of one
# telemetry round and one /metrics render. Needs the fake NVML library (tests/fake_nvml).
if(TARGET lightcone_fake_nvml_scenario AND TARGET lightcone_agent_metrics)
  add_executable(agent_footprint_benchmark ${CMAKE_CURRENT_LIST_DIR}/agent_footprint_benchmark.cc)
  set_target_properties(agent_footprint_benchmark PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  target_link_libraries(agent_footprint_benchmark PRIVATE lightcone::settings
    lightcone::agent_gpu lightcone::agent_metrics lightcone::fake_nvml_scenario
    lightcone::bench_figures benchmark::benchmark)
endif()
