#include "relay/term/text_width.hpp"

#include <gtest/gtest.h>

#include <clocale>
#include <string>

namespace relay::term {
namespace {

TEST(TextWidth, ColumnsAsATerminalCountsThem) {
  EXPECT_EQ(columns(U'a'), 1);
  EXPECT_EQ(columns(U'é'), 1);
  EXPECT_EQ(columns(U'你'), 2);
  EXPECT_EQ(columns(U'\U0001F600'), 2);  // 😀
  EXPECT_EQ(columns(U'\u3042'), 2);      // あ
  EXPECT_EQ(columns(U'\uff71'), 1);      // half-width katakana
  EXPECT_EQ(columns(U'\u0301'), 0);      // combining acute
  EXPECT_EQ(columns(U'\u200d'), 0);      // zero-width joiner
  EXPECT_EQ(columns(U'\U000E0000'), 1);  // unassigned: one, never negative
}

TEST(TextWidth, TheProcesssLocaleIsLeftAlone) {
  const std::string before = std::setlocale(LC_CTYPE, nullptr);
  EXPECT_EQ(columns(U'你'), 2);  // whatever the process's locale ("C" here)
  EXPECT_EQ(std::string(std::setlocale(LC_CTYPE, nullptr)), before);
}

TEST(TextWidth, CombiningMarksJoinBidiControlsAreFlagged) {
  EXPECT_TRUE(joins_previous(U'\u0301'));
  EXPECT_TRUE(joins_previous(U'\u200d'));
  EXPECT_TRUE(joins_previous(U'\ufe0f'));  // emoji presentation selector
  EXPECT_FALSE(joins_previous(U'a'));
  EXPECT_FALSE(joins_previous(U'你'));
  EXPECT_FALSE(joins_previous(U'\u202e'));
  for (char32_t c : {U'\u202a', U'\u202e', U'\u2066', U'\u2069'}) EXPECT_TRUE(is_bidi_control(c));
  for (char32_t c : {U'\u200e', U'\u200f', U'a', U'\u05d0'}) EXPECT_FALSE(is_bidi_control(c));
}

TEST(TextWidth, DecodesEveryLength) {
  const std::string s = "a\u00e9\u4f60\U0001F600";
  EXPECT_EQ(decode_utf8(s, 0, 1), U'a');
  EXPECT_EQ(decode_utf8(s, 1, 2), U'\u00e9');
  EXPECT_EQ(decode_utf8(s, 3, 3), U'\u4f60');
  EXPECT_EQ(decode_utf8(s, 6, 4), U'\U0001F600');
}

TEST(TextWidth, EscapeSequencesAreMeasuredWholeEvenWhenCutShort) {
  const std::string s = "a\x1b[1;31mb\x1b[0m";
  EXPECT_EQ(escape_length(s, 1), 7u);          // ESC [ 1 ; 3 1 m
  EXPECT_EQ(escape_length(s, 9), 4u);          // ESC [ 0 m, at the end
  EXPECT_EQ(escape_length("\x1b[12", 0), 4u);  // no final byte: the rest
  EXPECT_EQ(escape_length("\x1bx", 0), 1u);    // a lone ESC
  EXPECT_EQ(escape_length("\x1b", 0), 1u);
}

}  // namespace
}  // namespace relay::term
