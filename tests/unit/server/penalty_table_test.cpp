#include "relay/server/penalty_table.hpp"

#include <gtest/gtest.h>

namespace relay::server {
namespace {

using namespace std::chrono_literals;
using clock = penalty_table::clock;

penalty_table::params small() {
  penalty_table::params p;
  p.free_failures = 3;
  p.base = 1s;
  p.max = 8s;
  p.forget = 60s;
  p.capacity = 4;
  return p;
}

TEST(PenaltyTable, FreeFailuresThenDoublingPenalties) {
  penalty_table t(small());
  const auto t0 = clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) t.failure("a", t0);
  EXPECT_EQ(t.blocked_for("a", t0), clock::duration::zero());
  t.failure("a", t0);  // 4th: 1 s
  EXPECT_EQ(t.blocked_for("a", t0), clock::duration(1s));
  t.failure("a", t0 + 1s);  // 5th: 2 s
  EXPECT_EQ(t.blocked_for("a", t0 + 1s), clock::duration(2s));
  t.failure("a", t0 + 3s);   // 6th: 4 s
  t.failure("a", t0 + 7s);   // 7th: 8 s (max)
  t.failure("a", t0 + 15s);  // 8th: still 8 s
  EXPECT_EQ(t.blocked_for("a", t0 + 15s), clock::duration(8s));
  EXPECT_EQ(t.blocked_for("b", t0), clock::duration::zero());  // others unaffected
}

TEST(PenaltyTable, PenaltiesExpire) {
  penalty_table t(small());
  const auto t0 = clock::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) t.failure("a", t0);
  EXPECT_GT(t.blocked_for("a", t0), clock::duration::zero());
  EXPECT_EQ(t.blocked_for("a", t0 + 61s), clock::duration::zero());
  EXPECT_EQ(t.size(), 0u);
  t.failure("a", t0 + 62s);  // starts from scratch
  EXPECT_EQ(t.blocked_for("a", t0 + 62s), clock::duration::zero());
}

TEST(PenaltyTable, BoundedInSize) {
  penalty_table t(small());
  const auto t0 = clock::time_point{} + 1000s;
  for (int i = 0; i < 100; ++i) t.failure("k" + std::to_string(i), t0 + std::chrono::seconds(i));
  EXPECT_LE(t.size(), 4u);
  // The most recent offenders are the ones kept.
  for (int i = 0; i < 4; ++i) t.failure("k99", t0 + 100s);
  EXPECT_GT(t.blocked_for("k99", t0 + 100s), clock::duration::zero());
}

// One-off failures on ever new keys (an attacker's unknown names) fill the table, but do
// not evict the entry of a key being guessed at: it has more failures than any of them.
TEST(PenaltyTable, AFloodOfNewKeysDoesNotEvictOneUnderAttack) {
  penalty_table t(small());
  const auto t0 = clock::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) t.failure("bob", t0);  // 2 s
  const auto blocked = t.blocked_for("bob", t0);
  ASSERT_GT(blocked, clock::duration::zero());
  for (int i = 0; i < 100; ++i) t.failure("n" + std::to_string(i), t0 + 1s);
  EXPECT_LE(t.size(), 4u);
  EXPECT_EQ(t.blocked_for("bob", t0 + 1s), blocked - 1s);
  t.failure("bob", t0 + 2s);  // the count goes on from 5: the penalty doubles to 4 s
  EXPECT_GT(t.blocked_for("bob", t0 + 2s), blocked);
}

TEST(PenaltyTable, ClearForgets) {
  penalty_table t(small());
  const auto t0 = clock::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) t.failure("a", t0);
  t.clear("a");
  EXPECT_EQ(t.blocked_for("a", t0), clock::duration::zero());
}

// The count the relay's one-at-a-time rule reads: it grows with failures, and is 0 for an
// unknown key and once forgotten.
TEST(PenaltyTable, FailuresAreCountedUntilForgotten) {
  penalty_table t(small());
  const auto t0 = clock::time_point{} + 1000s;
  EXPECT_EQ(t.failures("a", t0), 0u);
  for (int i = 0; i < 4; ++i) t.failure("a", t0);
  EXPECT_EQ(t.failures("a", t0), 4u);
  EXPECT_EQ(t.failures("a", t0 + small().forget), 0u);
  EXPECT_EQ(t.free_failures(), small().free_failures);
}

}  // namespace
}  // namespace relay::server
