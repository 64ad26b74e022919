#include "agent/keys.h"

#include "gtest/gtest.h"

namespace lightcone::agent {
namespace {

std::vector<DeviceConfig> TwoDevices() {
  std::vector<DeviceConfig> d(2);
  d[0].id.fill(1);
  d[0].name = "gpu0";
  d[1].id.fill(2);
  d[1].name = "gpu1";
  return d;
}

TEST(DeviceKeyStore, OneDistinctKeyPerDevice) {
  auto store = DeviceKeyStore::Create(TwoDevices(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  auto keys = (*store)->PublicKeys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_NE(keys[0].public_key, keys[1].public_key);
  EXPECT_TRUE(keys[0].current);
  wire::Id unknown;
  unknown.fill(3);
  EXPECT_EQ((*store)->Find(unknown), -1);
  EXPECT_EQ((*store)->Find(keys[1].device_id), 1);
}

TEST(DeviceKeyStore, SignsWithTheDevicesCurrentKey) {
  auto store = DeviceKeyStore::Create(TwoDevices(), {});
  ASSERT_TRUE(store.ok());
  auto keys = (*store)->PublicKeys();
  wire::Challenge c;
  c.device_id = keys[1].device_id;
  c.sequence = 5;
  wire::Reply r;
  (*store)->Sign(1, c, &r);
  EXPECT_EQ(r.key_id, keys[1].key_id);
  EXPECT_TRUE(wire::VerifyReply(r, keys[1].public_key));
  EXPECT_FALSE(wire::VerifyReply(r, keys[0].public_key));
}

TEST(DeviceKeyStore, RotationKeepsPreviousKeyForTheOverlapThenWipesIt) {
  auto store = DeviceKeyStore::Create(TwoDevices(), {std::chrono::seconds(10)});
  ASSERT_TRUE(store.ok());
  auto before = (*store)->PublicKeys();
  auto t0 = std::chrono::system_clock::now();
  ASSERT_TRUE((*store)->RotateAll(t0).ok());
  auto during = (*store)->PublicKeys();
  ASSERT_EQ(during.size(), 4u);  // two current, two previous
  int current = 0;
  for (const auto& k : during) {
    if (k.current) {
      ++current;
      EXPECT_NE(k.public_key, before[k.device_id == before[0].device_id ? 0 : 1].public_key);
    }
  }
  EXPECT_EQ(current, 2);
  wire::Challenge c;
  c.device_id = before[0].device_id;
  wire::Reply r;
  (*store)->Sign(0, c, &r);
  EXPECT_FALSE(wire::VerifyReply(r, before[0].public_key));  // new key signs now
  (*store)->ExpirePrevious(t0 + std::chrono::seconds(5));
  EXPECT_EQ((*store)->PublicKeys().size(), 4u);
  (*store)->ExpirePrevious(t0 + std::chrono::seconds(11));
  EXPECT_EQ((*store)->PublicKeys().size(), 2u);
  // Several rotations in a row keep working (slot reuse).
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*store)->RotateAll(t0 + std::chrono::seconds(20 + i)).ok());
  auto after = (*store)->PublicKeys();
  (*store)->Sign(0, c, &r);
  bool verified = false;
  for (const auto& k : after) {
    if (k.current && k.device_id == c.device_id) verified = wire::VerifyReply(r, k.public_key);
  }
  EXPECT_TRUE(verified);
}

TEST(DeviceKeyStore, RejectsNoDevices) {
  EXPECT_EQ(DeviceKeyStore::Create({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PublicKeysJson, ListsDevicesAndKeys) {
  auto store = DeviceKeyStore::Create(TwoDevices(), {});
  ASSERT_TRUE(store.ok());
  std::string json = PublicKeysJson((*store)->PublicKeys());
  EXPECT_NE(json.find("\"event\":\"keys\""), std::string::npos);
  EXPECT_NE(json.find("01010101-0101-0101-0101-010101010101"), std::string::npos);
  EXPECT_NE(json.find("\"key_id\""), std::string::npos);
}

}  // namespace
}  // namespace lightcone::agent
