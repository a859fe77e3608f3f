// utf8_at: every length, and each way bytes fail to be UTF-8.
#include "relay/util/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::util {
namespace {

TEST(Utf8, EveryLengthDecodes) {
  const std::string s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";  // a é € 😀
  EXPECT_EQ(utf8_at(s, 0).cp, U'a');
  EXPECT_EQ(utf8_at(s, 0).length, 1u);
  EXPECT_EQ(utf8_at(s, 1).cp, U'\u00e9');
  EXPECT_EQ(utf8_at(s, 1).length, 2u);
  EXPECT_EQ(utf8_at(s, 3).cp, U'\u20ac');
  EXPECT_EQ(utf8_at(s, 3).length, 3u);
  EXPECT_EQ(utf8_at(s, 6).cp, U'\U0001f600');
  EXPECT_EQ(utf8_at(s, 6).length, 4u);
  EXPECT_EQ(utf8_at("\x1b", 0).length, 1u);  // controls are valid: callers decide
  EXPECT_EQ(utf8_at("\xc2\x9b", 0).cp, 0x9bu);
  EXPECT_TRUE(is_c1_control(utf8_at("\xc2\x9b", 0).cp));
  EXPECT_EQ(utf8_at("\xf4\x8f\xbf\xbf", 0).cp, 0x10ffffu);  // the last code point
}

TEST(Utf8, InvalidBytesHaveNoLength) {
  for (const std::string bad :
       {"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xed\xa0\x80",
        "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xff",
        "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xc3\x41"}) {
    EXPECT_EQ(utf8_at(bad, 0).length, 0u) << testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace relay::util
