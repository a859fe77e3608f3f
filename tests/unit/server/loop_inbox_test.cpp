#include "relay/server/loop_inbox.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace relay::server {
namespace {

TEST(LoopInbox, JobsFromManyThreadsAllRunOnTheLoopInEachThreadsOrder) {
  constexpr int producers = 4;
  constexpr int per_producer = 20000;
  net::io_context io;
  loop_inbox inbox(io);
  std::thread::id loop_thread;
  std::vector<int> next(producers, 0);  // loop thread only
  int ran = 0, out_of_order = 0, elsewhere = 0;
  std::thread loop([&] {
    loop_thread = std::this_thread::get_id();
    io.run();
  });
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        inbox.post([&, p, i] {
          if (std::this_thread::get_id() != loop_thread) ++elsewhere;
          if (next[p] != i) ++out_of_order;
          next[p] = i + 1;
          if (++ran == producers * per_producer) io.stop();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  loop.join();
  EXPECT_EQ(ran, producers * per_producer);
  EXPECT_EQ(out_of_order, 0);
  EXPECT_EQ(elsewhere, 0);
  // A bell only for a post to an empty inbox: the loop drains many jobs per wake-up.
  EXPECT_GE(inbox.bells(), 1u);
  EXPECT_LE(inbox.bells(), static_cast<std::uint64_t>(producers * per_producer));
}

TEST(LoopInbox, PostsToAnInboxNotYetDrainedRingOnce) {
  net::io_context io;
  loop_inbox inbox(io);
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) inbox.post([&order, i] { order.push_back(i); });
  EXPECT_EQ(inbox.bells(), 1u);
  EXPECT_TRUE(order.empty());  // nothing runs until the loop does
  io.run_one();                // the bell's read completes: all three run, in order
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  inbox.post([&order] { order.push_back(3); });  // empty again: a new bell
  EXPECT_EQ(inbox.bells(), 2u);
  io.run_one();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(LoopInbox, AJobPostedByAJobRunsAfterIt) {
  net::io_context io;
  loop_inbox inbox(io);
  std::vector<int> order;
  inbox.post([&] {
    inbox.post([&] {
      order.push_back(2);
      io.stop();
    });
    order.push_back(1);
  });
  io.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(LoopInbox, JobsThatNeverRanAreDestroyedWithTheInbox) {
  net::io_context io;
  auto held = std::make_shared<int>(0);
  bool ran = false;
  {
    loop_inbox inbox(io);
    inbox.post([held, &ran] { ran = true; });
    inbox.post([held, &ran] { ran = true; });
    EXPECT_EQ(held.use_count(), 3);
  }
  EXPECT_EQ(held.use_count(), 1);
  io.run();  // the aborted read of the bell touches nothing that is gone
  EXPECT_FALSE(ran);
}

TEST(LoopInbox, AJobThatThrowsLosesNoLaterJob) {
  net::io_context io;
  loop_inbox inbox(io);
  auto held = std::make_shared<int>(0);
  bool later_ran = false;
  inbox.post([] { throw std::runtime_error("job failed"); });
  inbox.post([held] {});  // same batch, after the throw: destroyed, not leaked
  EXPECT_THROW(io.run_one(), std::runtime_error);
  EXPECT_EQ(held.use_count(), 1);
  inbox.post([&] {
    later_ran = true;
    io.stop();
  });
  io.restart();
  io.run();
  EXPECT_TRUE(later_ran);
}

}  // namespace
}  // namespace relay::server
