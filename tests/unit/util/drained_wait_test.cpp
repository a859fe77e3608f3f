#include "relay/util/drained_wait.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>

#include "relay/util/handler_memory.hpp"

namespace relay::util {
namespace {

using namespace std::chrono_literals;
using socket_type = net::basic_stream_socket<tcp, net::io_context::executor_type>;
using error_code = boost::system::error_code;

// A connected loopback pair: `in` is the side under test (non-blocking, like the relay's).
struct pair {
  net::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  tcp::socket out{io};
  socket_type in{io.get_executor()};
  pair() {
    out.connect(acceptor.local_endpoint());
    acceptor.accept(in);
    in.non_blocking(true);
    EXPECT_TRUE(count_queued_bytes(in));
  }
  void send(std::string_view s) { net::write(out, net::buffer(s)); }
  // Reads until the socket is empty, as the relay does before a drained wait.
  std::size_t drain() {
    std::array<char, 4096> buf{};
    std::size_t total = 0;
    for (;;) {
      error_code ec;
      const std::size_t n = in.read_some(net::buffer(buf), ec);
      if (ec == net::error::would_block) return total;
      EXPECT_FALSE(ec) << ec.message();
      if (ec) return total;
      total += n;
    }
  }
  // Runs the loop for `d`; true if `fired` stayed false all along.
  bool stays_quiet(const bool& fired, std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
    return !fired;
  }
  // Runs the loop until `done` or the time is up.
  void run_until(const bool& done, std::chrono::milliseconds limit = 2000ms) {
    const auto until = std::chrono::steady_clock::now() + limit;
    io.restart();
    while (!done && std::chrono::steady_clock::now() < until) io.run_for(10ms);
  }
};

TEST(DrainedWait, IsBuiltOnThisPlatformsAsio) {
  // Debian 12's Boost 1.74 on epoll: the system call saving is compiled in, not the fallback.
  EXPECT_EQ(RELAY_HAS_DRAINED_WAIT, 1);
}

TEST(DrainedWait, CompletesWhenBytesArriveAfterTheDrain) {
  pair p;
  p.send("hello");
  // The first wait after accept is an ordinary one (nothing has been read yet).
  bool first = false;
  p.in.async_wait(socket_type::wait_read, [&](const error_code& ec) { first = !ec; });
  p.run_until(first);
  ASSERT_TRUE(first);
  EXPECT_EQ(p.drain(), 5u);

  bool fired = false;
  error_code got = net::error::fault;
  async_wait_drained(p.in, [&](const error_code& ec) {
    fired = true;
    got = ec;
  });
  EXPECT_TRUE(p.stays_quiet(fired, 50ms)) << "nothing arrived, so nothing to report";

  p.send("again");
  p.run_until(fired);
  ASSERT_TRUE(fired);
  EXPECT_FALSE(got) << got.message();
  EXPECT_EQ(p.drain(), 5u);
}

TEST(DrainedWait, ServesOneWaitAfterAnotherAsTheRelaysReadLoopDoes) {
  pair p;
  int rounds = 0;
  std::size_t bytes = 0;
  bool done = false;
  std::function<void()> wait = [&] {
    async_wait_drained(p.in, [&](const error_code& ec) {
      ASSERT_FALSE(ec) << ec.message();
      bytes += p.drain();
      if (++rounds == 100) {
        done = true;
        return;
      }
      p.send("x");  // the next byte arrives after this drain
      wait();
    });
  };
  p.drain();
  wait();
  p.send("x");
  p.run_until(done);
  EXPECT_EQ(rounds, 100);
  EXPECT_EQ(bytes, 100u);
}

TEST(DrainedWait, DoesNotReArmTheSocketSoBytesAlreadyWaitingRaiseNoNewEdge) {
  // What the saving is: async_wait re-arms the socket with epoll_ctl, which reports bytes that
  // are already waiting; a drained wait relies on a new edge. Queued against its contract,
  // over bytes nobody read, it stays quiet until more arrive. This is the test that fails if
  // async_wait_drained is plain async_wait.
  const auto after_an_unread_edge = [](pair& p) {
    p.send("unread");
    bool first = false;
    p.in.async_wait(socket_type::wait_read, [&](const error_code&) { first = true; });
    p.run_until(first);
    ASSERT_TRUE(first);
  };

  pair plain_pair;
  after_an_unread_edge(plain_pair);
  bool plain = false;
  plain_pair.in.async_wait(socket_type::wait_read, [&](const error_code&) { plain = true; });
  plain_pair.run_until(plain);
  EXPECT_TRUE(plain) << "the re-arm reports the bytes already waiting";

  pair p;
  after_an_unread_edge(p);
  bool fired = false;
  async_wait_drained(p.in, [&](const error_code&) { fired = true; });
  EXPECT_TRUE(p.stays_quiet(fired, 100ms))
      << "no epoll_ctl: no event for bytes that were already there";
  p.send("more");
  p.run_until(fired);
  EXPECT_TRUE(fired);
}

TEST(DrainedWait, ReportsThePeerClosingAsReadable) {
  pair p;
  p.drain();
  bool fired = false;
  async_wait_drained(p.in, [&](const error_code& ec) { fired = !ec; });
  p.out.close();
  p.run_until(fired);
  ASSERT_TRUE(fired);
  std::array<char, 16> buf{};
  error_code ec;
  p.in.read_some(net::buffer(buf), ec);
  EXPECT_EQ(ec, net::error::eof);
}

TEST(DrainedWait, ClosingTheSocketAbortsIt) {
  pair p;
  p.drain();
  bool fired = false;
  error_code got;
  async_wait_drained(p.in, [&](const error_code& ec) {
    fired = true;
    got = ec;
  });
  p.in.close();
  p.run_until(fired);
  ASSERT_TRUE(fired);
  EXPECT_EQ(got, net::error::operation_aborted);
}

TEST(DrainedWait, APendingWaitDiesWithItsLoopWithoutBeingCalled) {
  auto token = std::make_shared<int>(0);
  bool called = false;
  {
    pair p;
    p.drain();
    async_wait_drained(p.in, [&called, token](const error_code&) { called = true; });
    EXPECT_EQ(token.use_count(), 2);
  }
  EXPECT_FALSE(called);
  EXPECT_EQ(token.use_count(), 1) << "the handler (and what it holds) is destroyed";
}

TEST(DrainedWait, TakesItsOperationFromTheHandlersAllocator) {
  // The relay's handlers name handler_allocator, so that a wait per message costs no malloc:
  // the operation must come from there, as Asio's own waits do. Inside the handler the block
  // is back in the thread's cache (freed before the upcall).
  std::size_t spare_in_handler = 0;
  std::thread([&] {
    pair p;
    p.drain();
    bool fired = false;
    async_wait_drained(p.in, cached([&](const error_code&) {
                         fired = true;
                         spare_in_handler =
                             local_handler_cache() ? local_handler_cache()->spare() : 0;
                       }));
    p.send("x");
    p.run_until(fired);
  }).join();
  EXPECT_EQ(spare_in_handler, 1u);
}

TEST(CountedRead, TheKernelSaysHowManyBytesAreLeft) {
  pair p;
  p.send(std::string(100, 'x'));
  bool readable = false;
  p.in.async_wait(socket_type::wait_read, [&](const error_code&) { readable = true; });
  p.run_until(readable);
  std::array<char, 30> small{};
  error_code ec;
  const auto first = read_some_counted(p.in, net::buffer(small), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(first.n, 30u);
  EXPECT_EQ(first.queued, 70);
  std::array<char, 4096> big{};
  const auto rest = read_some_counted(p.in, net::buffer(big), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(rest.n, 70u);
  EXPECT_EQ(rest.queued, 0) << "empty: only new bytes can make it readable";
  read_some_counted(p.in, net::buffer(big), ec);
  EXPECT_EQ(ec, net::error::would_block);
}

TEST(CountedRead, AShortReadCanLeaveThePeersFinBehindAndSaysSo) {
  // The peer's last bytes and its FIN arrive together and raise one edge. A read takes the
  // bytes and comes back short; the FIN is still queued, and no new edge will come for it. A
  // relay that took the short read for "empty" and waited for the next edge would never see
  // this peer leave. The kernel counts the FIN as one byte still queued.
  pair p;
  p.send("last words");
  p.out.shutdown(tcp::socket::shutdown_send);
  bool readable = false;
  p.in.async_wait(socket_type::wait_read, [&](const error_code&) { readable = true; });
  p.run_until(readable);
  std::this_thread::sleep_for(20ms);  // let the FIN land too, whatever the scheduler did
  std::array<char, 4096> buf{};
  error_code ec;
  const auto got = read_some_counted(p.in, net::buffer(buf), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string_view(buf.data(), got.n), "last words");
  EXPECT_GT(got.queued, 0) << "the FIN is still to be read";
  read_some_counted(p.in, net::buffer(buf), ec);
  EXPECT_EQ(ec, net::error::eof);
}

TEST(CountedRead, WithoutTheOptionTheCountIsUnknown) {
  // A kernel without TCP_INQ (before Linux 4.18) says nothing: the relay must then take a
  // short read for "maybe more" and re-arm, as before (session::read_available).
  net::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  tcp::socket out{io};
  socket_type in{io.get_executor()};
  out.connect(acceptor.local_endpoint());
  acceptor.accept(in);
  in.non_blocking(true);
  net::write(out, net::buffer(std::string_view("abc")));
  bool readable = false;
  in.async_wait(socket_type::wait_read, [&](const error_code&) { readable = true; });
  while (!readable) io.run_one_for(100ms);
  std::array<char, 16> buf{};
  error_code ec;
  const auto got = read_some_counted(in, net::buffer(buf), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(got.n, 3u);
  EXPECT_EQ(got.queued, -1);
}

TEST(CountedRead, TheNextStepFollowsTheKernelsCountNotTheReadsLength) {
  using then = counted_read::then;
  const std::size_t buf = 65536;
  EXPECT_EQ((counted_read{10, 0}.next(buf)), then::wait_for_new_bytes);
  EXPECT_EQ((counted_read{buf, 0}.next(buf)), then::wait_for_new_bytes);
  // Short, but a FIN (or more bytes) is queued: read on, or the close is never seen.
  EXPECT_EQ((counted_read{10, 1}.next(buf)), then::read_again);
  EXPECT_EQ((counted_read{buf, 500}.next(buf)), then::read_again);
  // The kernel did not say: a short read waits with the re-arm, a full one reads on.
  EXPECT_EQ((counted_read{10, -1}.next(buf)), then::wait_rearmed);
  EXPECT_EQ((counted_read{buf, -1}.next(buf)), then::read_again);
}

TEST(CountedRead, ErrorsAreReportedAsReadSomeReportsThem) {
  pair p;
  std::array<char, 16> buf{};
  error_code ec;
  const auto nothing = read_some_counted(p.in, net::buffer(buf), ec);
  EXPECT_EQ(ec, net::error::would_block);
  EXPECT_EQ(nothing.n, 0u);
  p.out.close();
  bool readable = false;
  p.in.async_wait(socket_type::wait_read, [&](const error_code&) { readable = true; });
  p.run_until(readable);
  read_some_counted(p.in, net::buffer(buf), ec);
  EXPECT_EQ(ec, net::error::eof);
}

}  // namespace
}  // namespace relay::util
