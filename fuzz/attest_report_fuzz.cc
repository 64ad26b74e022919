// Fuzz target for the attestation report parser (src/attest/spdm_report.h) and the DICE
// TcbInfo DER reader: neither may crash, read out of bounds or allocate without bound on
// any input, and a report that parses must account for every byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "attest/dice_tcb_info.h"
#include "attest/spdm_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = absl::MakeConstSpan(data, size);
  auto report = lightcone::attest::ParseSpdmReport(bytes);
  if (report.ok()) {
    if (report->signed_length + lightcone::attest::kSignatureBytes != size) std::abort();
    (void)report->DriverVersion();
    (void)report->VbiosVersion();
    (void)report->Fwid();
  }
  (void)lightcone::attest::ParseDiceTcbInfoFwid(bytes);
  return 0;
}
