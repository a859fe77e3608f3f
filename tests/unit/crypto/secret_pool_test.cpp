#include "relay/crypto/secret_pool.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <set>

#include "relay/crypto/secret.hpp"

namespace relay::crypto {
namespace {

class SecretPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
};

TEST(Wipe, AStringIsZeroedUpToItsCapacityAlsoAfterAMoveOrAShrink) {
  std::string shrunk(40, 'p');
  shrunk.resize(3);  // the bytes past the size stay in the buffer
  crypto::wipe(shrunk);
  EXPECT_TRUE(
      std::all_of(shrunk.data(), shrunk.data() + shrunk.capacity(), [](char c) { return c == 0; }));
  std::string short_one = "secret";
  std::string taken = std::move(short_one);
  crypto::wipe(short_one);  // a moved-from short string may still hold its bytes
  EXPECT_TRUE(std::all_of(short_one.data(), short_one.data() + short_one.capacity(),
                          [](char c) { return c == 0; }));
  EXPECT_EQ(taken, "secret");
}

TEST_F(SecretPoolTest, SlotsAreZeroedDistinctAndWipedOnRelease) {
  secret_pool pool;
  byte* a = pool.allocate();
  byte* b = pool.allocate();
  ASSERT_NE(a, b);
  EXPECT_TRUE(std::all_of(a, a + pool.slot_size(), [](byte x) { return x == 0; }));
  std::fill(a, a + pool.slot_size(), byte{0xAB});
  std::fill(b, b + pool.slot_size(), byte{0xCD});
  pool.release(a);
  // The slot comes back wiped, and its neighbour was not touched.
  byte* again = pool.allocate();
  EXPECT_EQ(again, a);
  EXPECT_TRUE(std::all_of(again, again + pool.slot_size(), [](byte x) { return x == 0; }));
  EXPECT_TRUE(std::all_of(b, b + pool.slot_size(), [](byte x) { return x == 0xCD; }));
  pool.release(again);
  pool.release(b);
  EXPECT_EQ(pool.current().slots_in_use, 0u);
}

TEST_F(SecretPoolTest, GrowsBySlabsAndGivesEmptySlabsBack) {
  secret_pool pool;
  std::vector<byte*> held;
  const std::size_t n = 3 * pool.slots_per_slab() + 5;
  for (std::size_t i = 0; i < n; ++i) held.push_back(pool.allocate());
  EXPECT_EQ(std::set<byte*>(held.begin(), held.end()).size(), n);
  EXPECT_EQ(pool.current().slabs, 4u);
  EXPECT_EQ(pool.current().slots_in_use, n);
  for (byte* p : held) pool.release(p);
  // Everything released: one slab is kept for the next connection, the rest are freed.
  EXPECT_EQ(pool.current().slabs, 1u);
  EXPECT_EQ(pool.current().slots_in_use, 0u);
}

TEST_F(SecretPoolTest, SmallSecretBuffersComeFromTheSharedPoolOfTheirSize) {
  secret_pool& small = secret_pool::for_size(32);
  secret_pool& large = secret_pool::for_size(64);
  ASSERT_NE(&small, &large);
  EXPECT_EQ(small.slot_size(), 32u);
  EXPECT_EQ(large.slot_size(), 64u);
  EXPECT_EQ(&secret_pool::for_size(1), &small);
  EXPECT_EQ(&secret_pool::for_size(33), &large);
  const auto small_before = small.current().slots_in_use;
  const auto large_before = large.current().slots_in_use;
  {
    secret_bytes<32> key;
    secret_bytes<32> key2;
    secret_bytes<64> chaining;
    secret_buffer big(secret_pool::max_slot + 1);  // too big: its own guarded allocation
    EXPECT_EQ(small.current().slots_in_use, small_before + 2);
    EXPECT_EQ(large.current().slots_in_use, large_before + 1);
    // Two keys from a fresh run of slots sit 32 bytes apart, not 64.
    const auto gap = key.data() > key2.data() ? key.data() - key2.data() : key2.data() - key.data();
    EXPECT_EQ(gap % 32, 0);
    secret_buffer moved(std::move(big));
    EXPECT_EQ(moved.size(), secret_pool::max_slot + 1);
  }
  EXPECT_EQ(small.current().slots_in_use, small_before);
  EXPECT_EQ(large.current().slots_in_use, large_before);
}

TEST_F(SecretPoolTest, ThirtyTwoByteSlotsAreWipedWholeAndLeaveTheirNeighboursAlone) {
  secret_pool pool(32);
  byte* a = pool.allocate();
  byte* b = pool.allocate();
  ASSERT_EQ(b - a, 32);  // adjacent: a slab hands out low addresses first
  std::fill(a, a + 32, byte{0x11});
  std::fill(b, b + 32, byte{0x22});
  pool.release(a);
  EXPECT_TRUE(std::all_of(a, a + 32, [](byte x) { return x == 0; }));
  EXPECT_TRUE(std::all_of(b, b + 32, [](byte x) { return x == 0x22; }));
  pool.release(b);
  EXPECT_EQ(pool.current().slots_in_use, 0u);
}

TEST_F(SecretPoolTest, AKeySlotIsOnePointerIntoTheThirtyTwoBytePool) {
  static_assert(sizeof(key_slot) == sizeof(void*));
  secret_pool& small = secret_pool::for_size(32);
  const auto before = small.current().slots_in_use;
  key_slot k;
  EXPECT_TRUE(k.empty());
  bytes key(32);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<byte>(i + 1);
  k.assign(key);
  ASSERT_FALSE(k.empty());
  EXPECT_TRUE(std::equal(key.begin(), key.end(), k.data()));
  EXPECT_EQ(small.current().slots_in_use, before + 1);
  const byte* slot = k.data();
  k.assign(bytes(32, 0x77));  // a new key goes into the same slot
  EXPECT_EQ(k.data(), slot);
  EXPECT_THROW(k.assign(bytes(16)), std::invalid_argument);
  key_slot moved(std::move(k));
  EXPECT_TRUE(k.empty());
  EXPECT_EQ(moved.data(), slot);
  EXPECT_EQ(small.current().slots_in_use, before + 1);
  moved.reset();
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(small.current().slots_in_use, before);
  // Wiped on the way back to the pool.
  EXPECT_TRUE(std::all_of(slot, slot + 32, [](byte x) { return x == 0; }));
}

}  // namespace
}  // namespace relay::crypto
