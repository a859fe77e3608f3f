#include "relay/server/off_loop.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "relay/server/thread_priority.hpp"

namespace relay::server {
namespace {

TEST(OffLoop, TheJobRunsOnItsPoolAndTheCallerResumesOnTheLoopWithItsResult) {
  net::io_context io;
  loop_inbox inbox(io);
  net::thread_pool workers(1);
  std::string got;
  int job_policy = -1;
  std::thread::id job_thread, resumed_on;
  const std::uint64_t bells_before = inbox.bells();
  net::co_spawn(
      io,
      [&]() -> awaitable<void> {
        got = co_await off_loop(workers.get_executor(), inbox, [&] {
          (void)yield_to_event_loop();  // as the relay's hashing jobs do
          job_policy = ::sched_getscheduler(0);
          job_thread = std::this_thread::get_id();
          return std::string("hashed");
        });
        resumed_on = std::this_thread::get_id();
        io.stop();
      },
      net::detached);
  io.run();
  workers.join();

  EXPECT_EQ(got, "hashed");
  EXPECT_EQ(job_policy, SCHED_IDLE);
  EXPECT_TRUE(job_thread != std::this_thread::get_id());
  EXPECT_TRUE(resumed_on == std::this_thread::get_id());  // back on the loop's thread
  EXPECT_EQ(inbox.bells(), bells_before + 1) << "the result did not come through the inbox";
}

TEST(OffLoop, WorksThroughAStrand) {
  net::io_context io;
  loop_inbox inbox(io);
  net::thread_pool db(1);
  auto strand = net::make_strand(db.get_executor());
  int sum = 0;
  net::co_spawn(
      io,
      [&]() -> awaitable<void> {
        for (int i = 1; i <= 3; ++i) sum += co_await off_loop(strand, inbox, [i] { return i; });
        io.stop();
      },
      net::detached);
  io.run();
  db.join();
  EXPECT_EQ(sum, 6);
  EXPECT_EQ(inbox.bells(), 3u);
}

TEST(OffLoop, AJobsExceptionIsRethrownInTheCaller) {
  net::io_context io;
  loop_inbox inbox(io);
  net::thread_pool workers(1);
  std::string caught;
  net::co_spawn(
      io,
      [&]() -> awaitable<void> {
        try {
          (void)co_await off_loop(workers.get_executor(), inbox, []() -> bool {
            throw std::runtime_error("out of memory for the hash");
          });
        } catch (const std::runtime_error& e) {
          caught = e.what();
        }
        io.stop();
      },
      net::detached);
  io.run();
  workers.join();
  EXPECT_EQ(caught, "out of memory for the hash");
}

}  // namespace
}  // namespace relay::server
