// A test certificate authority shaped like NVIDIA's device identity PKI, for tests, the fake
// NVML library and the demo. Never trusted by default: a Verifier trusts it only when its
// root PEM is passed in VerifierOptions::trusted_roots_pem.
//
//   root ("Lightcone Test Device Identity CA", self-signed)
//     -> provisioner ICA ("Lightcone Test Provisioner ICA")
//        -> per-device BROM CA (CN = hwmodel, e.g. "GH100 A01 GSP BROM")
//           -> device leaf (CN "... FMC LF", DICE TcbInfo FWID extension, P-384 key that
//              signs the SPDM reports)
//
// All keys are P-384 and all certificates are signed with ECDSA-SHA384, like the real ones.
// Copyable (keys are shared, immutable).
#ifndef LIGHTCONE_ATTEST_TEST_CA_H_
#define LIGHTCONE_ATTEST_TEST_CA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/ec_key.h"

namespace lightcone::attest {

enum class TcbInfoLayout {
  kNvidia,  // Hopper / LS10: SEQUENCE { version, device SPKI, FWID }
  kTcg,     // TCG DICE TcbInfo with [6] fwids (Blackwell-style)
  kNone,    // no TcbInfo extension
};

struct TestDeviceOptions {
  std::string hwmodel = "GH100 A01 GSP BROM";   // CN of the per-device BROM CA
  std::string leaf_common_name = "GH100 A01 GSP FMC LF";
  // Leaf serial (the ueid), big-endian; empty = 20 random bytes with the top bit clear.
  std::vector<uint8_t> leaf_serial;
  // 48-byte FWID for the TcbInfo extension; empty = random.
  std::vector<uint8_t> fwid;
  TcbInfoLayout layout = TcbInfoLayout::kNvidia;
  // Validity of the device certificates; defaults: one day ago, 20 years ahead.
  std::optional<absl::Time> not_before;
  std::optional<absl::Time> not_after;
};

struct TestDevice {
  EcKey leaf_key;
  std::string leaf_pem;
  std::string chain_pem;  // leaf, BROM, ICA, root (as NVML returns them, root included)
  std::vector<uint8_t> fwid;
  std::string leaf_serial_hex;  // upper case, as Verifier reports ueid
};

class TestCa {
 public:
  // A new root and provisioner ICA with fresh keys, valid from one day ago for 30 years.
  static absl::StatusOr<TestCa> Generate(
      const std::string& root_common_name = "Lightcone Test Device Identity CA");
  // Reloads a CA saved with root_pem()/ica_pem() and the keys' PrivatePem().
  static absl::StatusOr<TestCa> FromPem(const std::string& root_pem,
                                        const std::string& root_key_pem,
                                        const std::string& ica_pem,
                                        const std::string& ica_key_pem);

  // Issues a BROM CA and a leaf for one device.
  absl::StatusOr<TestDevice> IssueDevice(const TestDeviceOptions& options = {}) const;

  const std::string& root_pem() const { return root_pem_; }
  const std::string& ica_pem() const { return ica_pem_; }
  const EcKey& root_key() const { return root_key_; }
  const EcKey& ica_key() const { return ica_key_; }

 private:
  TestCa(EcKey root_key, EcKey ica_key) : root_key_(root_key), ica_key_(ica_key) {}
  EcKey root_key_;
  EcKey ica_key_;
  std::string root_pem_;
  std::string ica_pem_;
};

}  // namespace lightcone::attest

#endif  // LIGHTCONE_ATTEST_TEST_CA_H_
