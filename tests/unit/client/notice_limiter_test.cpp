#include "relay/client/notice_limiter.hpp"

#include <gtest/gtest.h>

namespace relay::client {
namespace {

using namespace std::chrono_literals;

TEST(NoticeLimiter, AFewPerSourceAndWindowThenTheRestIsCountedAndSummedUp) {
  notice_limiter limit(3, 60s);
  const auto t0 = notice_limiter::clock::time_point{} + 1000s;
  int shown = 0;
  for (int i = 0; i < 40; ++i) shown += limit.admit("mallet", t0 + i * 100ms);
  EXPECT_EQ(shown, 3);
  EXPECT_TRUE(limit.admit("alice", t0 + 5s));  // another source has its own window
  ASSERT_TRUE(limit.next_end());
  EXPECT_EQ(*limit.next_end(), t0 + 60s);
  EXPECT_TRUE(limit.ended(t0 + 59s).empty());
  const auto ended = limit.ended(t0 + 60s);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].source, "mallet");
  EXPECT_EQ(ended[0].count, 37u);
  EXPECT_FALSE(limit.next_end());  // alice's window holds nothing back
  // A new window: three shown again.
  EXPECT_TRUE(limit.admit("mallet", t0 + 61s));
  EXPECT_TRUE(limit.admit("mallet", t0 + 62s));
  EXPECT_TRUE(limit.admit("mallet", t0 + 63s));
  EXPECT_FALSE(limit.admit("mallet", t0 + 64s));
}

TEST(NoticeLimiter, AWindowOverWithNoneHeldBackIsForgottenQuietly) {
  notice_limiter limit(3, 60s);
  const auto t0 = notice_limiter::clock::time_point{} + 1000s;
  EXPECT_TRUE(limit.admit("bob", t0));
  EXPECT_TRUE(limit.ended(t0 + 61s).empty());
  EXPECT_TRUE(limit.admit("bob", t0 + 62s));
}

TEST(NoticeLimiter, NoticesAfterAWindowEndedButBeforeItIsSummedUpCountInIt) {
  notice_limiter limit(1, 60s);
  const auto t0 = notice_limiter::clock::time_point{} + 1000s;
  EXPECT_TRUE(limit.admit("mallet", t0));
  EXPECT_FALSE(limit.admit("mallet", t0 + 1s));
  EXPECT_FALSE(limit.admit("mallet", t0 + 61s));  // not summed up yet: held back too
  const auto ended = limit.ended(t0 + 61s);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].count, 2u);
}

TEST(NoticeLimiter, WhatIsHeldBackInAWindowNotOverYetIsTakenAllAtOnce) {
  notice_limiter limit(3, 60s);
  const auto t0 = notice_limiter::clock::time_point{} + 1000s;
  for (int i = 0; i < 10; ++i) (void)limit.admit("mallet", t0 + i * 1s);
  (void)limit.admit("alice", t0);  // shown: nothing held back
  const auto all = limit.take_all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].source, "mallet");
  EXPECT_EQ(all[0].count, 7u);
  EXPECT_FALSE(limit.next_end());
  EXPECT_TRUE(limit.take_all().empty());
}

}  // namespace
}  // namespace relay::client
