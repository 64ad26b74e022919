// The trust anchor compiled into Lightcone: NVIDIA's Device Identity CA, from
// data/nvidia/verifier_device_root.pem (see data/nvidia/README.md for its provenance).
#ifndef LIGHTCONE_ATTEST_PINNED_ROOTS_H_
#define LIGHTCONE_ATTEST_PINNED_ROOTS_H_

#include "absl/strings/string_view.h"

namespace lightcone::attest {

// PEM text of the NVIDIA Device Identity CA certificate.
absl::string_view NvidiaDeviceIdentityRootPem();

}  // namespace lightcone::attest

#endif  // LIGHTCONE_ATTEST_PINNED_ROOTS_H_
