#include "attest/cert_chain.h"

#include <gtest/gtest.h>

#include "attest/internal/test_files.h"

namespace lightcone::attest {
namespace {

std::string HopperChainPem() {
  return testing::ReadFileOrEmpty(testing::SharedPath("nvtrust/hopperCertChain.txt"));
}

TEST(CertificateChain, ParsesRealChainLeafFirst) {
  auto chain = CertificateChain::FromPem(HopperChainPem());
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 5u);
  EXPECT_EQ(chain->SubjectCommonName(0), "GH100 A01 GSP FMC LF");
  EXPECT_EQ(chain->SubjectCommonName(1), "GH100 A01 GSP BROM");
  EXPECT_EQ(chain->SubjectCommonName(4), "NVIDIA Device Identity CA");
  EXPECT_EQ(chain->LeafSerialHex(), "53C22BA15E5D68088282DA074ED9FB37AA585771");
}

TEST(CertificateChain, TrailingDataInACertificateIsRejected) {
  auto chain = CertificateChain::FromPem(HopperChainPem());
  ASSERT_TRUE(chain.ok());
  std::vector<std::vector<uint8_t>> ders = {chain->der(0)};
  ders[0].push_back(0x00);
  auto bad = CertificateChain::FromDer(ders);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("trailing"), absl::string_view::npos);
}

TEST(CertificateChain, EmptyOrForeignInputIsRejected) {
  EXPECT_EQ(CertificateChain::FromPem("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CertificateChain::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
                                      "KEY-----\n")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CertificateChain, TooManyCertificatesIsRejected) {
  std::string pem;
  for (size_t i = 0; i < 2; ++i) pem += HopperChainPem() + "\n";  // 10 certificates
  auto chain = CertificateChain::FromPem(pem);
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(chain.status().message().find("kMaxChainCertificates"), absl::string_view::npos);
}

TEST(CertificateChain, OversizedPemIsRejected) {
  const std::string pem(kMaxChainPemBytes + 1, 'A');
  EXPECT_EQ(CertificateChain::FromPem(pem).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightcone::attest
