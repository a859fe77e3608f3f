#include "relay/server/thread_priority.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace relay::server {
namespace {

TEST(ThreadPriority, AHashingThreadRunsAtIdlePriorityAndOthersDoNot) {
  const int before = ::sched_getscheduler(0);
  hashing_priority first{}, second{};
  int policy = -1;
  std::thread t([&] {
    first = yield_to_event_loop();
    second = yield_to_event_loop();  // once per thread: the same answer, nothing more done
    policy = ::sched_getscheduler(0);
  });
  t.join();
  EXPECT_EQ(first, hashing_priority::idle);  // lowering one's own thread is always allowed
  EXPECT_EQ(second, first);
  EXPECT_EQ(policy, SCHED_IDLE);
  EXPECT_EQ(::sched_getscheduler(0), before);  // the calling (event loop) thread is untouched
}

}  // namespace
}  // namespace relay::server
