#include "relay/util/handler_memory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "relay/net.hpp"

namespace relay {
namespace {

TEST(HandlerCache, AFreedBlockIsHandedOutAgainForTheSameSizeClass) {
  handler_cache cache;
  void* a = cache.allocate(150);
  cache.deallocate(a, 150);
  EXPECT_EQ(cache.spare(), 1u);
  EXPECT_EQ(cache.allocate(145), a);  // 145 and 150 share the 152-byte class
  EXPECT_EQ(cache.spare(), 0u);
  void* b = cache.allocate(130);  // another class (136 bytes): not the spare of the 152-byte one
  EXPECT_NE(b, a);
  cache.deallocate(a, 145);
  cache.deallocate(b, 140);
  EXPECT_EQ(cache.spare(), 2u);
}

TEST(HandlerCache, BlocksFillMallocsChunksExactly) {
  // glibc serves a request from a chunk of a multiple of 16 bytes with an 8-byte header, so a
  // block of 16k + 8 bytes wastes nothing; the idle connection's 84-byte wait gets 88.
  EXPECT_EQ(handler_cache::block_size(84), 88u);
  EXPECT_EQ(handler_cache::block_size(1), 24u);
  EXPECT_EQ(handler_cache::block_size(24), 24u);
  EXPECT_EQ(handler_cache::block_size(25), 40u);
  for (std::size_t n = 1; n <= handler_cache::largest; ++n) {
    const std::size_t b = handler_cache::block_size(n);
    ASSERT_GE(b, n);
    ASSERT_LT(b, std::max(n, handler_cache::smallest) + handler_cache::granule);
    ASSERT_EQ((b + 8) % 16, 0u) << n;
  }
}

TEST(HandlerCache, BigBlocksAreNotKeptAndEachClassIsBounded) {
  handler_cache cache;
  void* big = cache.allocate(handler_cache::largest + 1);
  cache.deallocate(big, handler_cache::largest + 1);
  EXPECT_EQ(cache.spare(), 0u);
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < handler_cache::per_class + 10; ++i)
    blocks.push_back(cache.allocate(64));
  for (void* p : blocks) cache.deallocate(p, 64);
  EXPECT_EQ(cache.spare(), handler_cache::per_class);
}

// Each case runs on a fresh thread, whose cache does not exist until a cached handler's
// operation is allocated; a spare block seen inside the handler is that operation (Asio
// frees it before calling the handler).
template <class Start>
std::size_t spare_seen_by_handler(Start start) {
  std::size_t seen = 0;
  bool untouched_before = false;
  std::thread([&] {
    net::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    tcp::socket a(io), b(io);
    a.connect(acceptor.local_endpoint());
    acceptor.accept(b);
    untouched_before = local_handler_cache() == nullptr;
    start(io, a, b, [&seen] { seen = local_handler_cache() ? local_handler_cache()->spare() : 0; });
    io.run();
  }).join();
  EXPECT_TRUE(untouched_before);
  return seen;
}

TEST(HandlerCache, AsioAllocatesAPostedHandlersOperationFromIt) {
  EXPECT_EQ(spare_seen_by_handler([](auto& io, auto&, auto&, auto note) {
              net::post(io, cached([note] { note(); }));
            }),
            1u);
}

TEST(HandlerCache, AsioAllocatesAReadinessWaitFromIt) {
  EXPECT_EQ(spare_seen_by_handler([](auto&, auto& a, auto& b, auto note) {
              b.async_wait(tcp::socket::wait_read,
                           cached([note](const boost::system::error_code& ec) {
                             EXPECT_FALSE(ec);
                             note();
                           }));
              static const char hello[] = "hello";
              net::write(a, net::buffer(hello));
            }),
            1u);
}

TEST(HandlerCache, AsioAllocatesAComposedWriteFromIt) {
  EXPECT_GE(spare_seen_by_handler([](auto&, auto& a, auto&, auto note) {
              static const char hello[] = "hello";
              net::async_write(a, net::buffer(hello),
                               cached([note](const boost::system::error_code& ec, std::size_t n) {
                                 EXPECT_FALSE(ec);
                                 EXPECT_EQ(n, sizeof hello);
                                 note();
                               }));
            }),
            1u);
}

TEST(HandlerCache, APlainHandlerDoesNotTouchIt) {
  EXPECT_EQ(spare_seen_by_handler(
                [](auto& io, auto&, auto&, auto note) { net::post(io, [note] { note(); }); }),
            0u);
}

}  // namespace
}  // namespace relay
