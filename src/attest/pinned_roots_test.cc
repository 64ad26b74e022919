#include "attest/pinned_roots.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "attest/cert_chain.h"
#include "attest/internal/test_files.h"

namespace lightcone::attest {
namespace {

TEST(PinnedRoots, EmbeddedRootIsTheShippedAndUpstreamFile) {
  const std::string shipped = testing::ReadFileOrEmpty(
      std::string(LIGHTCONE_ATTEST_SOURCE_DIR) + "/data/nvidia/verifier_device_root.pem");
  ASSERT_FALSE(shipped.empty());
  EXPECT_EQ(std::string(NvidiaDeviceIdentityRootPem()), shipped);
  EXPECT_EQ(shipped,
            testing::ReadFileOrEmpty(testing::SharedPath("nvtrust/verifier_device_root.pem")));
}

TEST(PinnedRoots, FingerprintIsNvidiaDeviceIdentityCa) {
  auto chain = CertificateChain::FromPem(NvidiaDeviceIdentityRootPem());
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 1u);
  EXPECT_EQ(chain->SubjectCommonName(0), "NVIDIA Device Identity CA");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(chain->der(0).data(), chain->der(0).size(), digest);
  EXPECT_EQ(absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest),
                                                     sizeof(digest))),
            "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48");
}

}  // namespace
}  // namespace lightcone::attest
