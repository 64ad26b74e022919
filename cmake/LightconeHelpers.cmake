# Abseil-style helpers: lightcone_cc_library, lightcone_cc_binary, lightcone_cc_test,
# lightcone_cc_fuzz. Libraries get a namespaced alias lightcone::<name>.

function(lightcone_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target lightcone_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS} ${ARG_HDRS})
    target_link_libraries(${target} PUBLIC lightcone::settings ${ARG_DEPS})
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE lightcone::settings ${ARG_DEPS})
  endif()
  add_library(lightcone::${ARG_NAME} ALIAS ${target})
endfunction()

function(lightcone_cc_binary)
  cmake_parse_arguments(ARG "" "NAME;OUTPUT" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE lightcone::settings ${ARG_DEPS})
  if(ARG_OUTPUT)
    set_target_properties(${ARG_NAME} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT})
  endif()
endfunction()

# One CTest test per *_test.cc. LABELS lets `ctest -L unit` pick a subset.
function(lightcone_cc_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${ARG_NAME} PRIVATE lightcone::settings ${ARG_DEPS}
                        GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${ARG_NAME} PRIVATE
    LIGHTCONE_SHARED_DATA_DIR="${LIGHTCONE_SHARED_DATA_DIR}"
    LIGHTCONE_BINARY_DIR="${CMAKE_BINARY_DIR}")
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()

# A libFuzzer target. With LIGHTCONE_FUZZ off (gcc builds) the same source is linked
# against a small driver that replays the corpus, so every fuzz target is also a test.
function(lightcone_cc_fuzz)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  target_link_libraries(${ARG_NAME} PRIVATE lightcone::settings ${ARG_DEPS})
  set(corpus ${PROJECT_SOURCE_DIR}/fuzz/corpus/${ARG_NAME})
  if(LIGHTCONE_FUZZ)
    target_compile_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME} -max_total_time=20 -rss_limit_mb=2048 ${corpus})
  else()
    target_sources(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cc)
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME} ${corpus})
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS fuzz TIMEOUT 120)
endfunction()
