#include "relay/server/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace relay::server {
namespace {

TEST(BufferPool, AGivenBufferIsHandedOutAgainEmpty) {
  buffer_pool pool;
  bytes b = pool.take(2048);
  EXPECT_TRUE(b.empty());
  EXPECT_GE(b.capacity(), 2048u);
  b.assign(100, 0xAB);
  const byte* storage = b.data();
  pool.give(std::move(b));
  EXPECT_EQ(pool.spare_buffers(), 1u);

  bytes again = pool.take(1024);
  EXPECT_EQ(again.data(), storage);  // reused, not reallocated
  EXPECT_TRUE(again.empty());        // the old contents are not visible
  EXPECT_EQ(pool.spare_buffers(), 0u);
  EXPECT_EQ(pool.spare_bytes(), 0u);
}

TEST(BufferPool, ASpareTooSmallIsGrownToTheRequest) {
  buffer_pool pool;
  bytes small;
  small.reserve(100);
  pool.give(std::move(small));
  bytes b = pool.take(4096);
  EXPECT_GE(b.capacity(), 4096u);
  EXPECT_TRUE(b.empty());
}

TEST(BufferPool, KeepsNoMoreThanItsLimits) {
  buffer_pool pool(/*max_bytes=*/8192, /*max_buffer=*/4096);
  bytes big;
  big.reserve(5000);
  pool.give(std::move(big));  // larger than any buffer worth keeping
  EXPECT_EQ(pool.spare_buffers(), 0u);

  for (int i = 0; i < 4; ++i) {
    bytes b;
    b.reserve(4096);
    pool.give(std::move(b));
  }
  EXPECT_EQ(pool.spare_buffers(), 2u);  // 2 x 4096 fills the 8192 allowed
  EXPECT_LE(pool.spare_bytes(), 8192u);

  bytes none;
  pool.give(std::move(none));  // a buffer that never allocated is not kept
  EXPECT_EQ(pool.spare_buffers(), 2u);
}

TEST(BufferPool, ShrinkFreesSparesDownToWhatIsKept) {
  buffer_pool pool(/*max_bytes=*/16 * 1024, /*max_buffer=*/1024);
  for (int i = 0; i < 16; ++i) pool.give(pool.take(1024));  // one spare, reused each time
  EXPECT_EQ(pool.spare_buffers(), 1u);
  std::vector<bytes> held;
  for (int i = 0; i < 16; ++i) held.push_back(pool.take(1024));
  for (auto& b : held) pool.give(std::move(b));
  EXPECT_EQ(pool.spare_buffers(), 16u);  // a busy turn's buffers all kept for the next

  pool.shrink(4096);
  EXPECT_EQ(pool.spare_buffers(), 4u);
  EXPECT_LE(pool.spare_bytes(), 4096u);
  pool.shrink(0);
  EXPECT_EQ(pool.spare_buffers(), 0u);
  EXPECT_EQ(pool.spare_bytes(), 0u);
  EXPECT_GE(pool.take(1024).capacity(), 1024u);  // still usable
}

TEST(BufferPool, TheDefaultKeepsABusyTurnsBuffersForAFewHundredRecipients) {
  // Two 1 KiB buffers (frames and records) per recipient with something queued in one turn
  // of the event loop: 256 recipients' worth must come back from the pool, not malloc.
  buffer_pool pool;
  std::vector<bytes> held;
  for (int i = 0; i < 512; ++i) held.push_back(pool.take(1024));
  std::vector<const byte*> storage;
  for (auto& b : held) {
    storage.push_back(b.data());
    pool.give(std::move(b));
  }
  EXPECT_EQ(pool.spare_buffers(), 512u);
  for (int i = 0; i < 512; ++i) {
    const bytes b = pool.take(1024);
    EXPECT_NE(std::find(storage.begin(), storage.end(), b.data()), storage.end());
  }
}

TEST(BufferPool, EachThreadHasItsOwn) {
  buffer_pool* here = &local_buffer_pool();
  buffer_pool* there = nullptr;
  std::thread t([&] { there = &local_buffer_pool(); });
  t.join();
  EXPECT_NE(here, there);
  EXPECT_EQ(here, &local_buffer_pool());
}

}  // namespace
}  // namespace relay::server
