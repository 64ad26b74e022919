// Builds NVIDIA-layout SPDM 1.1 attestation reports (see spdm_report.h) signed with a
// given P-384 key: the fake NVML library answers nvmlDeviceGetConfComputeGpuAttestationReport
// with these, and tests use them to exercise the verifier end to end.
//
//   auto ca = TestCa::Generate();
//   auto device = ca->IssueDevice();
//   ReportSpec spec;
//   spec.nonce = binding_nonce;
//   spec.fwid = device->fwid;
//   auto report = BuildSpdmReport(spec, device->leaf_key);
#ifndef LIGHTCONE_ATTEST_REPORT_BUILDER_H_
#define LIGHTCONE_ATTEST_REPORT_BUILDER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/ec_key.h"
#include "attest/spdm_report.h"
#include "attest/verifier.h"

namespace lightcone::attest {

// Number of measurement blocks a default report carries (as H100 reports do).
inline constexpr size_t kDefaultMeasurementCount = 64;

struct ReportSpec {
  Nonce nonce{};            // the verifier's nonce (request bytes 4..35)
  Nonce responder_nonce{};  // zero = random
  uint8_t slot_id = 0;
  // Empty: kDefaultMeasurementCount blocks of SHA-384 digests derived from the index.
  std::vector<MeasurementBlock> measurements;
  std::string driver_version = "550.90.07";
  // Dotted GPU form "96.00.9F.00.01" (encoded in 8 bytes as GPUs do); empty = omitted.
  std::string vbios_version = "96.00.9F.00.01";
  // 48-byte FWID opaque field; nullopt = omitted.
  std::optional<std::vector<uint8_t>> fwid;
  // Further opaque fields, appended in order.
  std::vector<OpaqueField> extra_opaque;
};

// The signed report bytes. INVALID_ARGUMENT when a field does not fit the layout (e.g. a
// vbios_version that is not five dotted hex bytes, an FWID that is not 48 bytes).
absl::StatusOr<std::vector<uint8_t>> BuildSpdmReport(const ReportSpec& spec,
                                                     const EcKey& signing_key);

// "96.00.9F.00.01" -> the 8-byte GPU opaque encoding.
absl::StatusOr<std::vector<uint8_t>> EncodeVbiosVersion(absl::string_view dotted);

}  // namespace lightcone::attest

#endif  // LIGHTCONE_ATTEST_REPORT_BUILDER_H_
