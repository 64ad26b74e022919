# Every dependency comes from a Debian package (scripts/install-deps); nothing is
# downloaded at build time.
find_package(absl CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(GTest CONFIG REQUIRED)
find_package(rapidcheck CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
# The fleet server's HTTP(S) (Debian's libcpp-httplib-dev, built with OpenSSL, zlib, brotli).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
if(LIGHTCONE_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()

# Debian's libs2-dev ships no CMake package: wrap the library and its Abseil needs.
find_library(S2_LIBRARY NAMES s2 REQUIRED)
find_path(S2_INCLUDE_DIR NAMES s2/s2cap.h REQUIRED)
add_library(s2::s2 INTERFACE IMPORTED)
target_link_libraries(s2::s2 INTERFACE ${S2_LIBRARY} absl::strings absl::str_format
                      absl::flat_hash_map absl::span absl::log_severity)
target_include_directories(s2::s2 INTERFACE ${S2_INCLUDE_DIR})

# Evidence store of the fleet server (src/server/store): SQLite (default backend) and the
# PostgreSQL client library libpq (only the client component is needed to build).
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
