#include "relay/bench/irc_line.hpp"

#include <gtest/gtest.h>

namespace relay::bench {
namespace {

TEST(BenchIrcLine, PrivmsgWithPrefixAndTrailing) {
  auto m = parse_irc_line(":bn3!~bn3@127.0.0.1 PRIVMSG bn7 :hello there :)");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prefix, "bn3!~bn3@127.0.0.1");
  EXPECT_EQ(m->nick(), "bn3");
  EXPECT_EQ(m->command, "PRIVMSG");
  ASSERT_EQ(m->n_params, 2u);
  EXPECT_EQ(m->params[0], "bn7");
  EXPECT_EQ(m->params[1], "hello there :)");
}

TEST(BenchIrcLine, PingWithoutPrefixAndNumerics) {
  auto p = parse_irc_line("PING :bench.irc");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->prefix.empty());
  EXPECT_EQ(p->command, "PING");
  ASSERT_EQ(p->n_params, 1u);
  EXPECT_EQ(p->params[0], "bench.irc");

  auto w = parse_irc_line(":bench.irc 001 bn0 :Welcome to the Internet Relay Network");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->nick(), "bench.irc");
  EXPECT_EQ(w->command, "001");
  EXPECT_EQ(w->params[1], "Welcome to the Internet Relay Network");
}

TEST(BenchIrcLine, MiddleParamsAndExtraSpaces) {
  auto m = parse_irc_line("MODE  bn0   +i");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->n_params, 2u);
  EXPECT_EQ(m->params[0], "bn0");
  EXPECT_EQ(m->params[1], "+i");
  EXPECT_FALSE(parse_irc_line(""));
  EXPECT_FALSE(parse_irc_line(":prefix.only"));
}

TEST(BenchIrcLine, LinesAreCutAtLfWithOptionalCr) {
  auto a = next_irc_line("PING :x\r\nPONG");
  EXPECT_EQ(a.line, "PING :x");
  EXPECT_EQ(a.consumed, 9u);
  auto b = next_irc_line("NICK a\nrest");
  EXPECT_EQ(b.line, "NICK a");
  EXPECT_EQ(b.consumed, 7u);
  EXPECT_EQ(next_irc_line("no end yet").consumed, 0u);
}

}  // namespace
}  // namespace relay::bench
