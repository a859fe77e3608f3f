// parse_duration / format_duration / format_utc: units, sums, limits and garbage.
#include "relay/console/duration.hpp"

#include <gtest/gtest.h>

#include <string>

#include "relay/console/command.hpp"

namespace relay::console {
namespace {

using std::chrono::seconds;

seconds parsed(std::string_view text) {
  auto r = parse_duration(text);
  EXPECT_TRUE(r) << "'" << text << "'";
  return r ? *r : seconds{-1};
}

TEST(Duration, EveryUnit) {
  EXPECT_EQ(parsed("30s"), seconds{30});
  EXPECT_EQ(parsed("10m"), seconds{600});
  EXPECT_EQ(parsed("2h"), seconds{7200});
  EXPECT_EQ(parsed("2H"), seconds{7200});  // units in any case
  EXPECT_EQ(parsed("7d"), seconds{7 * 86400});
  EXPECT_EQ(parsed("1w"), seconds{7 * 86400});
  EXPECT_EQ(parsed("1s"), seconds{1});
}

TEST(Duration, SumsAndLeadingZeros) {
  EXPECT_EQ(parsed("1h30m"), seconds{5400});
  EXPECT_EQ(parsed("1w2d3h4m5s"), seconds{7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5});
  EXPECT_EQ(parsed("90m"), seconds{5400});
  EXPECT_EQ(parsed("007s"), seconds{7});
  EXPECT_EQ(parsed("0h5m"), seconds{300});
}

TEST(Duration, Limits) {
  EXPECT_EQ(parsed("520w"), max_duration);
  EXPECT_EQ(parsed("3640d"), max_duration);
  EXPECT_FALSE(parse_duration("521w"));
  EXPECT_FALSE(parse_duration("520w1s"));
  EXPECT_FALSE(parse_duration("99999999999999999999999s"));  // would overflow int64
  EXPECT_FALSE(parse_duration("9223372036854775807s"));
  EXPECT_FALSE(parse_duration("0s"));
  EXPECT_FALSE(parse_duration("0m0s"));
}

TEST(Duration, Garbage) {
  for (const char* bad : {"", "s", "10", "10x", "10min", "1.5h", "-5m", "+5m", "5 m", " 5m", "5m ",
                          "h1", "1hh", "1h30", "１h"}) {
    const auto r = parse_duration(bad);
    ASSERT_FALSE(r) << "'" << bad << "'";
    EXPECT_EQ(r.error(), command_errc::bad_duration) << bad;
  }
}

// Largest unit first, each once: "30m1h" or "1h1h1h" is more likely a typo than a sum
// (found by a black-box operator review: `ban bob 1h1h1h` banned for 3 hours).
TEST(Duration, UnitsComeLargestFirstAndOnce) {
  for (const char* bad : {"1h1h1h", "30m1h", "1s1m", "5m5m", "1d1w", "2h3H"}) {
    const auto r = parse_duration(bad);
    ASSERT_FALSE(r) << "'" << bad << "'";
    EXPECT_EQ(r.error(), command_errc::bad_duration) << bad;
  }
  EXPECT_EQ(parsed("1w1d1h1m1s"), seconds{8 * 86400 + 3661});
  EXPECT_EQ(parsed("1d30s"), seconds{86430});
}

TEST(Duration, FormatLeavesOutZeroParts) {
  EXPECT_EQ(format_duration(seconds{0}), "0s");
  EXPECT_EQ(format_duration(seconds{-5}), "0s");
  EXPECT_EQ(format_duration(seconds{59}), "59s");
  EXPECT_EQ(format_duration(seconds{60}), "1m");
  EXPECT_EQ(format_duration(seconds{7200}), "2h");
  EXPECT_EQ(format_duration(seconds{5400}), "1h30m");
  EXPECT_EQ(format_duration(seconds{8 * 86400 + 5}), "8d5s");
  EXPECT_EQ(format_duration(seconds{86400 + 3661}), "1d1h1m1s");
}

TEST(Duration, FormatReadsBack) {
  for (long long s : {1LL, 59LL, 61LL, 3600LL, 3601LL, 86399LL, 86400LL, 1234567LL,
                      static_cast<long long>(max_duration.count())}) {
    EXPECT_EQ(parsed(format_duration(seconds{s})), seconds{s}) << s;
  }
}

TEST(Duration, FormatUtc) {
  EXPECT_EQ(format_utc(0), "1970-01-01 00:00:00Z");
  EXPECT_EQ(format_utc(1700000000), "2023-11-14 22:13:20Z");
}

TEST(Duration, TimeLeftIsTwoUnitsRoundedUp) {
  using std::chrono::seconds;
  EXPECT_EQ(format_time_left(seconds(2 * 86400 - 1)), "2d");
  EXPECT_EQ(format_time_left(seconds(86400 + 3600 + 1)), "1d2h");
  EXPECT_EQ(format_time_left(seconds(5430)), "1h31m");
  EXPECT_EQ(format_time_left(seconds(7199)), "2h");
  EXPECT_EQ(format_time_left(seconds(61)), "1m1s");
  EXPECT_EQ(format_time_left(seconds(59)), "59s");
  EXPECT_EQ(format_time_left(seconds(0)), "0s");
  EXPECT_EQ(format_time_left(seconds(-5)), "0s");
}

}  // namespace

}  // namespace relay::console
