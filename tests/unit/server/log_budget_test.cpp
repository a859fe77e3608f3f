#include "relay/server/log_budget.hpp"

#include <gtest/gtest.h>

namespace relay::server {
namespace {

using namespace std::chrono_literals;
using clock = log_budget::clock;

log_budget::params small() {
  log_budget::params p;
  p.per_window = 3;
  p.window = 10s;
  p.max_addresses = 2;
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
  EXPECT_TRUE(b.expire(t0 + 9s).empty());  // no window has ended yet

  const auto ended = b.expire(t0 + 10s);
  ASSERT_EQ(ended.size(), 1u);  // 10.0.0.2 left nothing unlogged: no summary
  EXPECT_EQ(ended[0].address, "10.0.0.1");
  EXPECT_EQ(ended[0].unlogged, 47u);
  EXPECT_EQ(ended[0].window, clock::duration(10s));
  EXPECT_EQ(describe(ended[0], 3),
            "10.0.0.1: 47 more connections in the last 10 s, not logged one by one (the "
            "first 3 were)");
}

TEST(LogBudget, AWindowThatEndedStartsAfresh) {
  log_budget b(small());
  for (int i = 0; i < 5; ++i) b.admit("a", t0);
  EXPECT_FALSE(b.admit("a", t0 + 9s));
  EXPECT_EQ(b.expire(t0 + 11s).at(0).unlogged, 3u);
  EXPECT_EQ(b.size(), 0u);  // forgotten
  EXPECT_TRUE(b.admit("a", t0 + 12s));
  EXPECT_TRUE(b.expire(t0 + 30s).empty());  // logged them all
}

TEST(LogBudget, ManyAddressesShareOneBudgetOnceFull) {
  log_budget b(small());  // two addresses tracked one by one
  EXPECT_TRUE(b.admit("a", t0));
  EXPECT_TRUE(b.admit("b", t0));
  int logged = 0;
  for (int i = 0; i < 100; ++i) logged += b.admit("x" + std::to_string(i), t0 + 1s);
  EXPECT_EQ(logged, 3);  // the shared entry's budget, not 3 per address
  EXPECT_EQ(b.size(), 3u);
  const auto ended = b.expire(t0 + 11s);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].address, log_budget::others_key);
  EXPECT_EQ(ended[0].unlogged, 97u);
  EXPECT_EQ(describe(ended[0], 3).substr(0, 39), "other addresses: 97 more connections in");
}

TEST(LogBudget, SummariesComeOldestFirst) {
  log_budget b(small());
  for (int i = 0; i < 4; ++i) b.admit("late", t0 + 2s);
  for (int i = 0; i < 5; ++i) b.admit("early", t0);
  const auto ended = b.expire(t0 + 20s);
  ASSERT_EQ(ended.size(), 2u);
  EXPECT_EQ(ended[0].address, "early");
  EXPECT_EQ(ended[0].unlogged, 2u);
  EXPECT_EQ(ended[1].address, "late");
  EXPECT_EQ(ended[1].unlogged, 1u);
  EXPECT_EQ(describe(ended[1], 3).substr(0, 29), "late: 1 more connection in th");
}

}  // namespace
}  // namespace relay::server
