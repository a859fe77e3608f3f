#include "relay/server/thread_priority.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

#include "relay/util/thread_name.hpp"

namespace relay::server {
namespace {

TEST(ThreadPriority, AHashingThreadRunsAtIdlePriorityAndOthersDoNot) {
  const int before = ::sched_getscheduler(0);
  hashing_priority first{}, second{};
  int policy = -1;
  std::string name;
  const std::string main_name = util::this_thread_name();
  std::thread t([&] {
    first = yield_to_event_loop();
    second = yield_to_event_loop();  // once per thread: the same answer, nothing more done
    policy = ::sched_getscheduler(0);
    name = util::this_thread_name();
  });
  t.join();
  EXPECT_EQ(first, hashing_priority::idle);  // lowering one's own thread is always allowed
  EXPECT_EQ(second, first);
  EXPECT_EQ(policy, SCHED_IDLE);
  EXPECT_EQ(name, "node-hash");  // `top -H` and node-bench tell it from the event loop
  EXPECT_EQ(::sched_getscheduler(0), before);  // the calling (event loop) thread is untouched
  EXPECT_EQ(util::this_thread_name(), main_name);
}

}  // namespace
}  // namespace relay::server
