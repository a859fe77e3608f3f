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

TEST_F(SecretPoolTest, SlotsAreZeroedDistinctAndWipedOnRelease) {
  secret_pool pool;
  byte* a = pool.allocate();
  byte* b = pool.allocate();
  ASSERT_NE(a, b);
  EXPECT_TRUE(std::all_of(a, a + secret_pool::slot_size, [](byte x) { return x == 0; }));
  std::fill(a, a + secret_pool::slot_size, byte{0xAB});
  std::fill(b, b + secret_pool::slot_size, byte{0xCD});
  pool.release(a);
  // The slot comes back wiped, and its neighbour was not touched.
  byte* again = pool.allocate();
  EXPECT_EQ(again, a);
  EXPECT_TRUE(std::all_of(again, again + secret_pool::slot_size, [](byte x) { return x == 0; }));
  EXPECT_TRUE(std::all_of(b, b + secret_pool::slot_size, [](byte x) { return x == 0xCD; }));
  pool.release(again);
  pool.release(b);
  EXPECT_EQ(pool.current().slots_in_use, 0u);
}

TEST_F(SecretPoolTest, GrowsBySlabsAndGivesEmptySlabsBack) {
  secret_pool pool;
  std::vector<byte*> held;
  const std::size_t n = 3 * secret_pool::slots_per_slab + 5;
  for (std::size_t i = 0; i < n; ++i) held.push_back(pool.allocate());
  EXPECT_EQ(std::set<byte*>(held.begin(), held.end()).size(), n);
  EXPECT_EQ(pool.current().slabs, 4u);
  EXPECT_EQ(pool.current().slots_in_use, n);
  for (byte* p : held) pool.release(p);
  // Everything released: one slab is kept for the next connection, the rest are freed.
  EXPECT_EQ(pool.current().slabs, 1u);
  EXPECT_EQ(pool.current().slots_in_use, 0u);
}

TEST_F(SecretPoolTest, SmallSecretBuffersComeFromTheSharedPool) {
  const auto before = secret_pool::instance().current().slots_in_use;
  {
    secret_bytes<32> key;
    secret_bytes<64> chaining;
    secret_buffer big(secret_pool::slot_size + 1);  // too big: its own guarded allocation
    EXPECT_EQ(secret_pool::instance().current().slots_in_use, before + 2);
    secret_buffer moved(std::move(big));
    EXPECT_EQ(moved.size(), secret_pool::slot_size + 1);
  }
  EXPECT_EQ(secret_pool::instance().current().slots_in_use, before);
}

}  // namespace
}  // namespace relay::crypto
