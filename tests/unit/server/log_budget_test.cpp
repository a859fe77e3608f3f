#include "relay/server/log_budget.hpp"

#include <gtest/gtest.h>

namespace relay::server {
namespace {

using namespace std::chrono_literals;
using clock = log_budget::clock;

log_budget::params small() {
  log_budget::params p;
  p.per_address = 3;
  p.total = 7;
  p.window = 10s;
  p.max_addresses = 4;
  p.summaries = 2;
  return p;
}

const auto t0 = clock::time_point{} + 1000s;

TEST(LogBudget, TheFirstFewPerAddressAreLoggedTheRestCounted) {
  log_budget b(small());
  int logged = 0;
  for (int i = 0; i < 50; ++i) logged += b.admit("10.0.0.1", t0 + i * 10ms);
  EXPECT_EQ(logged, 3);
  // Another address has its own budget.
  EXPECT_TRUE(b.admit("10.0.0.2", t0 + 1s));
  EXPECT_TRUE(b.expire(t0 + 9s).empty());  // the window has not ended yet

  const auto ended = b.expire(t0 + 10s);
  ASSERT_EQ(ended.size(), 1u);  // 10.0.0.2 left nothing unlogged: no summary
  EXPECT_EQ(ended[0].address, "10.0.0.1");
  EXPECT_EQ(ended[0].unlogged, 47u);
  EXPECT_EQ(ended[0].window, clock::duration(10s));
  EXPECT_EQ(describe(ended[0]),
            "10.0.0.1: 47 more connections in the last 10 s, not logged one by one");
}

TEST(LogBudget, AllAddressesTogetherHaveABudgetToo) {
  log_budget b(small());
  int logged = 0;
  for (const char* a : {"a", "b", "c"}) {
    for (int i = 0; i < 3; ++i) logged += b.admit(a, t0);
  }
  EXPECT_EQ(logged, 7);  // c got only 1 of its 3
  const auto ended = b.expire(t0 + 10s);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].address, "c");
  EXPECT_EQ(ended[0].unlogged, 2u);
}

TEST(LogBudget, AWindowThatEndedStartsAfreshWithTheNextConnection) {
  log_budget b(small());
  for (int i = 0; i < 5; ++i) b.admit("a", t0);
  EXPECT_FALSE(b.admit("a", t0 + 9s));
  EXPECT_EQ(b.expire(t0 + 11s).at(0).unlogged, 3u);
  EXPECT_EQ(b.size(), 0u);  // forgotten
  EXPECT_TRUE(b.expire(t0 + 100s).empty());
  // The next window starts at the next connection, not at the last expire.
  EXPECT_TRUE(b.admit("a", t0 + 200s));
  for (int i = 0; i < 3; ++i) b.admit("a", t0 + 201s);
  EXPECT_TRUE(b.expire(t0 + 209s).empty());
  EXPECT_EQ(b.expire(t0 + 210s).at(0).unlogged, 1u);
}

TEST(LogBudget, TheBusiestAddressesByNameTheRestTogether) {
  log_budget b(small());                              // 2 summaries by name
  for (int i = 0; i < 9; ++i) b.admit("quiet", t0);   // 6 unlogged
  for (int i = 0; i < 13; ++i) b.admit("busy", t0);   // 10 unlogged
  for (int i = 0; i < 4; ++i) b.admit("least", t0);   // 3 unlogged (the total budget of 7 is spent)
  for (int i = 0; i < 5; ++i) b.admit("little", t0);  // 5 unlogged
  const auto ended = b.expire(t0 + 10s);
  ASSERT_EQ(ended.size(), 3u);
  EXPECT_EQ(ended[0].address, "busy");
  EXPECT_EQ(ended[0].unlogged, 10u);
  EXPECT_EQ(ended[1].address, "quiet");
  EXPECT_EQ(ended[1].unlogged, 6u);
  EXPECT_EQ(ended[2].address, "");
  EXPECT_EQ(ended[2].unlogged, 3u + 5u);
  EXPECT_EQ(describe(ended[2]),
            "2 other addresses: 8 more connections in the last 10 s, not logged one by one");
}

TEST(LogBudget, ManyAddressesAreCountedNotRemembered) {
  log_budget b(small());  // four addresses tracked by name
  int logged = 0;
  for (int i = 0; i < 1000; ++i) logged += b.admit("x" + std::to_string(i), t0 + 1s);
  EXPECT_EQ(logged, 4);  // one each for the four tracked; the others only counted
  EXPECT_EQ(b.size(), 4u);
  const auto ended = b.expire(t0 + 11s);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].address, "");
  EXPECT_EQ(ended[0].unlogged, 996u);
  EXPECT_TRUE(ended[0].at_least);
  EXPECT_EQ(describe(ended[0]),
            "other addresses: 996 more connections in the last 10 s, not logged one by one");
}

TEST(LogBudget, OneUnloggedConnectionIsSingular) {
  log_budget b(small());
  for (int i = 0; i < 4; ++i) b.admit("a", t0);
  EXPECT_EQ(describe(b.expire(t0 + 10s).at(0)),
            "a: 1 more connection in the last 10 s, not logged one by one");
}

}  // namespace
}  // namespace relay::server
