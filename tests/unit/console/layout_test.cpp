#include "relay/console/layout.hpp"

#include <gtest/gtest.h>

namespace relay::console {
namespace {

TEST(Layout, ATableContinuesUnderItsLastColumn) {
  EXPECT_EQ(answer_hang("NAME   CREATED     LAST SIGN-IN       KEY FINGERPRINT\n"
                        "alice  2026-12-03  2026-12-03 15:34Z  fe5e 4c36\n"),
            38U);  // "KEY FINGERPRINT": one column name with a single space in it
  EXPECT_EQ(answer_hang("NAME   ADDRESS          SINCE\nalice  127.0.0.1:1  x\n"), 24U);
  EXPECT_EQ(answer_hang("NAME  UNTIL      REASON\n"), 17U);
}

TEST(Layout, AnythingElseContinuesTwoColumnsIn) {
  EXPECT_EQ(answer_hang("kicked alice\n"), 2U);
  EXPECT_EQ(answer_hang("relay key fingerprint:\n0123\n"), 2U);
  EXPECT_EQ(answer_hang("NAME\n"), 2U);  // one column: nothing to line up under
  EXPECT_EQ(answer_hang(""), 2U);
  EXPECT_EQ(answer_hang("uptime              2s\n"), 2U);  // lower case: not a header
}

TEST(Layout, LogLinesContinueUnderTheirText) {
  EXPECT_EQ(log_hang("2026-12-03T12:00:00.000Z INFO user alice left\n"), 30U);
  EXPECT_EQ(log_hang("2026-12-03T12:00:00.000Z WARN x\n2026-12-03T12:00:00.000Z INFO y\n"), 30U);
  EXPECT_EQ(log_hang("oneword\n"), 2U);
  EXPECT_EQ(log_hang("two words\n"), 2U);  // no text after the level
  EXPECT_EQ(log_hang(""), 2U);
}

}  // namespace
}  // namespace relay::console
