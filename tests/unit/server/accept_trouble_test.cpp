#include "relay/server/accept_trouble.hpp"

#include <gtest/gtest.h>

namespace relay::server {
namespace {

using namespace std::chrono_literals;
using clock = accept_trouble::clock;

TEST(AcceptTrouble, AStreakIsLoggedOnceThenSummedUpEachMinuteAndAtItsEnd) {
  accept_trouble t(60s);
  const auto t0 = clock::time_point{} + 1h;
  EXPECT_FALSE(t.accepted(t0));  // nothing to end
  const auto first = t.failed("Too many open files", true, t0);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first,
            "cannot accept connections: Too many open files; until descriptors are free, new "
            "connections are closed at once (clients are told no, not kept waiting). Lines like "
            "this are summed up once a minute while it lasts");
  EXPECT_TRUE(t.failing());
  // Ten a second for a minute: silent until the minute is up.
  int lines = 0;
  for (int i = 1; i < 600; ++i) {
    if (t.failed("Too many open files", i % 2 == 0, t0 + i * 100ms)) ++lines;
  }
  EXPECT_EQ(lines, 0);
  const auto minute = t.failed("Too many open files", true, t0 + 60s);
  ASSERT_TRUE(minute);
  EXPECT_EQ(*minute,
            "still cannot accept connections (Too many open files): accept failed 600 times, "
            "300 connections closed at once in the last 60.0 s");
  EXPECT_FALSE(t.failed("Too many open files", false, t0 + 61s));
  const auto end = t.accepted(t0 + 62500ms);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end,
            "accepting connections again after 62.5 s (Too many open files): accept failed 602 "
            "times, 301 connections closed at once");
  EXPECT_FALSE(t.failing());
  EXPECT_FALSE(t.accepted(t0 + 63s));  // said once
}

TEST(AcceptTrouble, AnotherReasonIsSaidAtOnceAndANewStreakStartsAfresh) {
  accept_trouble t(60s);
  const auto t0 = clock::time_point{} + 1h;
  const auto first = t.failed("Cannot allocate memory", false, t0);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first,
            "cannot accept connections: Cannot allocate memory; retrying every 0.1 s. Lines like "
            "this are summed up once a minute while it lasts");
  EXPECT_FALSE(t.failed("Cannot allocate memory", false, t0 + 100ms));
  const auto other = t.failed("Too many open files", true, t0 + 200ms);
  ASSERT_TRUE(other);
  EXPECT_EQ(*other,
            "still cannot accept connections (Cannot allocate memory): accept failed 2 times, 1 "
            "connection closed at once in the last 0.2 s; now: Too many open files");
  ASSERT_TRUE(t.accepted(t0 + 1s));
  const auto again = t.failed("Too many open files", true, t0 + 5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rfind("cannot accept connections: Too many open files", 0), 0u) << *again;
  const auto end = t.accepted(t0 + 6s);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end,
            "accepting connections again after 1.0 s (Too many open files): accept failed 1 "
            "time, 1 connection closed at once");
}

}  // namespace
}  // namespace relay::server
