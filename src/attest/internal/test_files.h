// Test-only helpers: paths of the shared real evidence and file reading.
#ifndef LIGHTCONE_ATTEST_INTERNAL_TEST_FILES_H_
#define LIGHTCONE_ATTEST_INTERNAL_TEST_FILES_H_

#include <fstream>
#include <sstream>
#include <string>

namespace lightcone::attest::testing {

inline std::string SharedPath(const std::string& relative) {
  return std::string(LIGHTCONE_SHARED_DATA_DIR) + "/nvidia-attestation/" + relative;
}

// The whole file, or "" when it cannot be read (the caller's assertions then fail).
inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace lightcone::attest::testing

#endif  // LIGHTCONE_ATTEST_INTERNAL_TEST_FILES_H_
