#include "relay/server/hashing_handoff.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "relay/server/thread_priority.hpp"

namespace relay::server {
namespace {

// The event loop's executor, noting the scheduling policy of every thread that hands it
// work: a SCHED_IDLE thread doing so could leave the loop waiting on the io_context's mutex.
struct recording_executor {
  net::io_context::executor_type inner;
  struct log {
    std::mutex m;
    std::vector<int> policies;
  };
  std::shared_ptr<log> seen = std::make_shared<log>();

  net::execution_context& context() const noexcept { return inner.context(); }
  void on_work_started() const noexcept { inner.on_work_started(); }
  void on_work_finished() const noexcept { inner.on_work_finished(); }
  template <class F, class A>
  void dispatch(F&& f, const A& a) const {
    note();
    inner.dispatch(std::forward<F>(f), a);
  }
  template <class F, class A>
  void post(F&& f, const A& a) const {
    note();
    inner.post(std::forward<F>(f), a);
  }
  template <class F, class A>
  void defer(F&& f, const A& a) const {
    note();
    inner.defer(std::forward<F>(f), a);
  }
  void note() const {
    std::lock_guard lock(seen->m);
    seen->policies.push_back(::sched_getscheduler(0));
  }
  bool operator==(const recording_executor& o) const noexcept { return inner == o.inner; }
  bool operator!=(const recording_executor& o) const noexcept { return inner != o.inner; }
};

TEST(HashingHandoff, TheResultReachesTheLoopFromANormalPriorityThread) {
  net::io_context io;
  net::thread_pool workers(1), handoff(1);
  recording_executor loop{io.get_executor()};
  std::string got;
  int job_policy = -1;
  std::thread::id job_thread, resumed_on;
  net::co_spawn(
      io,
      [&]() -> awaitable<void> {
        got = co_await on_hashing_thread(workers, handoff, loop, [&] {
          (void)yield_to_event_loop();  // as the relay's hashing jobs do
          job_policy = ::sched_getscheduler(0);
          job_thread = std::this_thread::get_id();
          return std::string("hashed");
        });
        resumed_on = std::this_thread::get_id();
      },
      net::detached);
  io.run();
  workers.join();
  handoff.join();

  EXPECT_EQ(got, "hashed");
  EXPECT_EQ(job_policy, SCHED_IDLE);
  EXPECT_TRUE(job_thread != std::this_thread::get_id());
  EXPECT_TRUE(resumed_on == std::this_thread::get_id());  // back on the loop's thread
  ASSERT_EQ(loop.seen->policies.size(), 1u);
  EXPECT_NE(loop.seen->policies[0], SCHED_IDLE) << "a hashing thread posted to the loop";
}

TEST(HashingHandoff, AJobsExceptionIsRethrownInTheCaller) {
  net::io_context io;
  net::thread_pool workers(1), handoff(1);
  std::string caught;
  net::co_spawn(
      io,
      [&]() -> awaitable<void> {
        try {
          (void)co_await on_hashing_thread(workers, handoff, io.get_executor(), []() -> bool {
            throw std::runtime_error("out of memory for the hash");
          });
        } catch (const std::runtime_error& e) {
          caught = e.what();
        }
      },
      net::detached);
  io.run();
  workers.join();
  handoff.join();
  EXPECT_EQ(caught, "out of memory for the hash");
}

}  // namespace
}  // namespace relay::server
