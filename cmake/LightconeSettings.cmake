# One INTERFACE target carries the project's warnings and sanitizer flags; every
# Lightcone target links it through the lightcone_cc_* helpers.
add_library(lightcone_settings INTERFACE)
add_library(lightcone::settings ALIAS lightcone_settings)

target_compile_options(lightcone_settings INTERFACE
  -Wall -Wextra -Wpedantic $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local> -Wnon-virtual-dtor -Wimplicit-fallthrough
  -Wno-missing-field-initializers)
target_include_directories(lightcone_settings INTERFACE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(lightcone_settings INTERFACE
  LIGHTCONE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

if(LIGHTCONE_SANITIZE)
  # Debian's Abseil and S2 are built without sanitizers. Abseil's headers change the layout
  # of btree nodes when they see __SANITIZE_ADDRESS__ (iterator generations), which would
  # disagree with libs2.so's S2ShapeIndex; hide the macro so the headers match the
  # libraries. Instrumentation itself is unaffected.
  target_compile_options(lightcone_settings INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
    -U__SANITIZE_ADDRESS__)
  target_link_options(lightcone_settings INTERFACE -fsanitize=address,undefined)
endif()
