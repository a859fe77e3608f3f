// format_stats and rate_window: exact lines for known counters, and the recent rate.
#include "relay/console/stats.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::console {
namespace {

using namespace std::chrono_literals;

TEST(Stats, EveryCounterOnItsOwnLine) {
  relay_stats s;
  s.uptime = 3725s;
  s.connections_now = 4;
  s.connections_total = 9;
  s.refused = 2;
  s.unauthenticated_now = 1;
  s.signed_in_now = 3;
  s.sign_ins = 7;
  s.sign_in_failures = 1;
  s.banned_sign_ins = 5;
  s.messages = 3725;
  s.bytes = 150;
  s.db_writes = 8;
  s.db_commits = 3;
  s.hashes_in_pool = 6;
  s.hashing_threads = 2;
  s.rate_recent = 0.5;
  s.held_sign_ins = 2;
  EXPECT_EQ(format_stats(s),
            "uptime               1h2m5s\n"
            "connections now      4\n"
            "connections total    9\n"
            "connections refused  2\n"
            "not signed in now    1\n"
            "signed in now        3\n"
            "sign-ins             7\n"
            "sign-in failures     1\n"
            "banned sign-ins      5\n"
            "sign-ins held back   2\n"
            "messages relayed     3725\n"
            "bytes relayed        150\n"
            "database writes      8 in 3 commits\n"
            "password hashing     6 waiting or running on 2 threads\n"
            "messages/s (10 s)    0.50\n"
            "messages/s (avg)     1.00\n");
}

TEST(Stats, ZeroUptimeHasZeroAverage) {
  EXPECT_NE(format_stats({}).find("messages/s (avg)     0.00\n"), std::string::npos);
}

TEST(Stats, OneCommitIsSingular) {
  relay_stats s;
  s.db_writes = 1;
  s.db_commits = 1;
  EXPECT_NE(format_stats(s).find("database writes      1 in 1 commit\n"), std::string::npos);
  s.db_write_failures = 3;  // said only when some failed (a full disk)
  EXPECT_NE(format_stats(s).find("database writes      1 in 1 commit, 3 failed\n"),
            std::string::npos);
}

TEST(Stats, OneHashingThreadIsSingular) {
  relay_stats s;
  s.hashing_threads = 1;
  EXPECT_NE(format_stats(s).find("password hashing     0 waiting or running on 1 thread\n"),
            std::string::npos);
}

TEST(RateWindow, BeforeTheRingFillsItIsTheRateSinceStart) {
  const auto t = rate_window::clock::time_point{} + 1000s;
  rate_window r(t);
  EXPECT_EQ(r.per_second(t, 0), 0.0);
  EXPECT_DOUBLE_EQ(r.per_second(t + 2s, 10), 5.0);
  r.sample(t + 1s, 4);
  EXPECT_DOUBLE_EQ(r.per_second(t + 4s, 20), 5.0);
}

TEST(RateWindow, OnlyTheLastTenSecondsCount) {
  const auto t = rate_window::clock::time_point{} + 1000s;
  rate_window r(t);
  std::uint64_t total = 0;
  // 100 messages/s for 20 s, one sample a second...
  for (int s = 1; s <= 20; ++s) r.sample(t + std::chrono::seconds(s), total += 100);
  EXPECT_DOUBLE_EQ(r.per_second(t + 20s, total), 100.0);
  // ...then silence: the rate falls to zero once the window has passed over it.
  for (int s = 21; s <= 25; ++s) r.sample(t + std::chrono::seconds(s), total);
  EXPECT_DOUBLE_EQ(r.per_second(t + 25s, total), 50.0);
  for (int s = 26; s <= 30; ++s) r.sample(t + std::chrono::seconds(s), total);
  EXPECT_DOUBLE_EQ(r.per_second(t + 30s, total), 0.0);
}

}  // namespace
}  // namespace relay::console
