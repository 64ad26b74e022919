#include "attest/dice_tcb_info.h"

#include <gtest/gtest.h>

#include "attest/cert_chain.h"
#include "attest/internal/der.h"
#include "attest/internal/test_files.h"

namespace lightcone::attest {
namespace {

TEST(ParseDiceTcbInfoFwid, ReadsTheRealHopperLeafFwid) {
  auto chain = CertificateChain::FromPem(
      testing::ReadFileOrEmpty(testing::SharedPath("nvtrust/hopperCertChain.txt")));
  ASSERT_TRUE(chain.ok()) << chain.status();
  auto fwid = chain->LeafFwid();
  ASSERT_TRUE(fwid.ok()) << fwid.status();
  ASSERT_EQ(fwid->size(), 48u);
  EXPECT_EQ((*fwid)[0], 0xf5);
  EXPECT_EQ((*fwid)[47], 0x5d);
  // Intermediate certificates carry no TcbInfo.
  EXPECT_EQ(chain->size(), 5u);
}

TEST(ParseDiceTcbInfoFwid, BothLayoutsRoundTrip) {
  std::vector<uint8_t> fwid(48);
  for (size_t i = 0; i < fwid.size(); ++i) fwid[i] = static_cast<uint8_t>(i + 1);
  const std::vector<uint8_t> fake_spki = internal::DerEncode(internal::kDerSequence, {});
  auto nvidia = ParseDiceTcbInfoFwid(EncodeNvidiaTcbInfo(fake_spki, fwid));
  ASSERT_TRUE(nvidia.ok()) << nvidia.status();
  EXPECT_EQ(*nvidia, fwid);
  auto tcg = ParseDiceTcbInfoFwid(EncodeTcgTcbInfo("NVIDIA", "GB100", fwid));
  ASSERT_TRUE(tcg.ok()) << tcg.status();
  EXPECT_EQ(*tcg, fwid);
}

TEST(ParseDiceTcbInfoFwid, MalformedDerIsInvalidArgument) {
  std::vector<uint8_t> fwid(48, 7);
  auto der = EncodeTcgTcbInfo("NVIDIA", "GB100", fwid);
  der.pop_back();
  EXPECT_EQ(ParseDiceTcbInfoFwid(der).status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<uint8_t> indefinite = {0x30, 0x80, 0x00, 0x00};
  EXPECT_EQ(ParseDiceTcbInfoFwid(indefinite).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDiceTcbInfoFwid({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseDiceTcbInfoFwid, NoSha384FwidIsNotFound) {
  // SEQUENCE { INTEGER 1 }
  const std::vector<uint8_t> der = {0x30, 0x03, 0x02, 0x01, 0x01};
  EXPECT_EQ(ParseDiceTcbInfoFwid(der).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lightcone::attest
