#include "relay/bench/options.hpp"

#include <gtest/gtest.h>

namespace relay::bench {
namespace {

bench_config ok(std::vector<std::string> a) {
  auto p = parse_options(a);
  EXPECT_TRUE(std::holds_alternative<bench_config>(p));
  return std::holds_alternative<bench_config>(p) ? std::get<bench_config>(p) : bench_config{};
}
int usage_error(std::vector<std::string> a) {
  auto p = parse_options(a);
  return std::holds_alternative<show_text>(p) ? std::get<show_text>(p).exit_code : -1;
}

TEST(BenchOptions, WindowDefaultsToMin2000Or20PerClient) {
  EXPECT_EQ(effective_window(ok({"-n", "10"})), 200u);
  EXPECT_EQ(effective_window(ok({"-n", "1000"})), 2000u);
  EXPECT_EQ(effective_window(ok({"-n", "1000", "--window", "64"})), 64u);
}

TEST(BenchOptions, ModesLabelsAndConcurrency) {
  auto c = ok({"--mode", "latency", "--irc", "--rate", "500", "--label", "ngircd"});
  EXPECT_EQ(c.mode, mode::latency);
  EXPECT_TRUE(c.irc);
  EXPECT_EQ(c.label, "ngircd");
  EXPECT_EQ(c.connect_concurrency, 8u);
  EXPECT_EQ(ok({}).label, "relaychat");
  EXPECT_EQ(ok({}).connect_concurrency, 128u);
}

TEST(BenchOptions, BatchesAreOnUnlessNoBatch) {
  EXPECT_TRUE(ok({}).batch);
  EXPECT_FALSE(ok({"--no-batch"}).batch);
  auto help = parse_options({"--help"});
  ASSERT_TRUE(std::holds_alternative<show_text>(help));
  EXPECT_NE(std::get<show_text>(help).text.find("--no-batch"), std::string::npos);
}

TEST(BenchOptions, RejectsWhatCannotBeMeasured) {
  EXPECT_EQ(usage_error({"--mode", "fast"}), 2);
  EXPECT_EQ(usage_error({"-n", "1"}), 2);
  EXPECT_EQ(usage_error({"--size", "10"}), 2);           // below the payload header
  EXPECT_EQ(usage_error({"--irc", "--size", "40"}), 2);  // below the text header
  EXPECT_EQ(usage_error({"--size", "40000"}), 2);        // above the send limit
  EXPECT_EQ(usage_error({"--bogus"}), 2);
  EXPECT_EQ(usage_error({"--rate", "nan"}), 2);
  EXPECT_EQ(usage_error({"--duration", "nan"}), 2);
  EXPECT_EQ(usage_error({"--warmup", "inf"}), 2);
  EXPECT_EQ(usage_error({"--hash-seconds", "-1"}), 2);
  EXPECT_EQ(usage_error({"--help"}), 0);
  EXPECT_EQ(ok({"--mode", "idle", "-n", "1"}).clients, 1u);  // idle needs no peers
}

// The joins' roster counts only once presence frames pause for longer than the relay may
// space its rounds: ten of its intervals (protocol.md 5.8), so a relay started with a longer
// --roster-interval needs a longer wait, or its last round lands in the measured phase.
TEST(BenchOptions, RosterSettleOutlastsTenRelayIntervals) {
  EXPECT_DOUBLE_EQ(ok({}).roster_settle_seconds(), 1.5);  // defaults: 1 s at most, and 0.5
  EXPECT_DOUBLE_EQ(ok({"--roster-interval", "0"}).roster_settle_seconds(), 1.5);
  EXPECT_DOUBLE_EQ(ok({"--roster-interval", "400"}).roster_settle_seconds(), 4.5);
  EXPECT_EQ(usage_error({"--roster-interval", "-1"}), 2);
  EXPECT_EQ(usage_error({"--roster-interval", "nan"}), 2);
  EXPECT_EQ(usage_error({"--roster-interval", "10001"}), 2);
}

}  // namespace
}  // namespace relay::bench
