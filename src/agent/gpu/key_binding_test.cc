#include "agent/gpu/key_binding.h"

#include <sodium.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace lightcone::agent {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

void AppendField(std::vector<uint8_t>& out, const std::vector<uint8_t>& field) {
  const uint32_t n = static_cast<uint32_t>(field.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), field.begin(), field.end());
}

TEST(KeyBindingNonce, MatchesDocumentedEncoding) {
  const std::vector<uint8_t> key(32, 0xab);
  const std::vector<uint8_t> server(32, 0x01);
  std::vector<uint8_t> message;
  AppendField(message, Bytes(std::string(kKeyBindingDomainTag)));
  AppendField(message, key);
  AppendField(message, server);
  std::array<uint8_t, 32> expected;
  crypto_hash_sha256(expected.data(), message.data(), message.size());
  EXPECT_EQ(KeyBindingNonce(key, server), expected);
}

TEST(KeyBindingNonce, DependsOnKeyAndServerNonce) {
  const std::vector<uint8_t> key(32, 0xab), other_key(32, 0xac);
  const std::vector<uint8_t> server(32, 0x01), other_server(32, 0x02);
  EXPECT_NE(KeyBindingNonce(key, server), KeyBindingNonce(other_key, server));
  EXPECT_NE(KeyBindingNonce(key, server), KeyBindingNonce(key, other_server));
  EXPECT_EQ(KeyBindingNonce(key, server), KeyBindingNonce(key, server));
}

TEST(KeyBindingNonce, FieldBoundariesAreUnambiguous) {
  EXPECT_NE(KeyBindingNonce(Bytes("ab"), Bytes("c")), KeyBindingNonce(Bytes("a"), Bytes("bc")));
}

}  // namespace
}  // namespace lightcone::agent
