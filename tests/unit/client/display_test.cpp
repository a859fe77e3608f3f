#include "relay/client/display.hpp"

#include <gtest/gtest.h>

namespace relay::client {
namespace {

TEST(Printable, PlainTextAndUtf8Unchanged) {
  EXPECT_EQ(printable("hello: world\tok"), "hello: world\tok");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
}

TEST(Printable, EscapesAndControlsBecomeInert) {
  EXPECT_EQ(printable("\x1b[2J\x1b]0;pwned\x07"), "^[[2J^[]0;pwned^G");
  EXPECT_EQ(printable("a\rb\nc\bd\x7f"), "a^Mb^Jc^Hd^?");
  // 8-bit CSI as UTF-8 (U+009B) and a raw C1 byte.
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\xc2\\x9b31m");
  EXPECT_EQ(printable("\x9b"), "\\x9b");
  // Overlong encodings and surrogates are not passed through.
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  for (char c : printable("\x1b\x9b\x07\x08\x0d")) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 && c != '\t');
  }
}

TEST(Printable, BidiOverridesCannotReorderWhatIsShown) {
  // "Trojan Source": U+202E shows "exe.txt" reversed as "txt.exe".
  EXPECT_EQ(printable("invoice\u202etxt.exe"), "invoice\\u202etxt.exe");
  EXPECT_EQ(printable("\u2066a\u2069 \u202a"), "\\u2066a\\u2069 \\u202a");
  // Right-to-left text itself, and the plain direction marks, are left as they are.
  EXPECT_EQ(printable("\u05e9\u05dc\u05d5\u05dd \u200f!"), "\u05e9\u05dc\u05d5\u05dd \u200f!");
}

// Found by a black-box review: these passed through raw. Line and paragraph separators can
// break a line on screen; invisible ones hide a difference. ZWJ (emoji) and ZWNJ stay.
TEST(Printable, SeparatorsAndInvisibleCharactersAreShownAsNotation) {
  EXPECT_EQ(printable("a\u2028b\u2029c"), "a\\u2028b\\u2029c");
  EXPECT_EQ(printable("pay\u200bpal \u2060x \ufeffy"), "pay\\u200bpal \\u2060x \\ufeffy");
  EXPECT_EQ(printable("\U0001f468\u200d\U0001f469 \u0645\u200c\u06cc"),
            "\U0001f468\u200d\U0001f469 \u0645\u200c\u06cc");
}

// Review 10: these passed through raw and invisible. Tag characters can spell a hidden
// text ("hi" here); outside a flag (England's, below) they are shown as notation.
TEST(Printable, MoreInvisibleCharactersAreShownAsNotationButFlagsStay) {
  EXPECT_EQ(printable("E\u00adshy"), "E\\u00adshy");
  EXPECT_EQ(printable("F\U000e0001\U000e0068\U000e0069"), "F\\U000e0001\\U000e0068\\U000e0069");
  EXPECT_EQ(printable("a\u3164b\uffa0c\u115fd\u2062e\u180ef\u034fg\ufff9h"),
            "a\\u3164b\\uffa0c\\u115fd\\u2062e\\u180ef\\u034fg\\ufff9h");
  const std::string england =
      "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f";
  EXPECT_EQ(printable("go " + england + "!"), "go " + england + "!");
  // A black flag with tags but no cancel tag is no flag: its tags are shown.
  EXPECT_EQ(printable("\U0001f3f4\U000e0067x"), "\U0001f3f4\\U000e0067x");
  // Review 11: format controls of other scripts, invisible too.
  EXPECT_EQ(printable("a\u2065b\u17b4c\U0001d173d\U0001bca0e\U00013430f"),
            "a\\u2065b\\u17b4c\\U0001d173d\\U0001bca0e\\U00013430f");
  // The direction marks stay (right-to-left text needs them; they reorder nothing).
  EXPECT_EQ(printable("B\u200flrm C\u061calm"), "B\u200flrm C\u061calm");
}

// Review 11: a stack of 30 combining accents ("Zalgo") was shown as sent, drawn over the
// rows above and below. Past 8 on one character, marks are counted, not shown; what real
// scripts put on a character stays as it is.
TEST(Printable, AStackOfCombiningMarksIsCutToEightAndCounted) {
  std::string zalgo = "Z";
  for (int i = 0; i < 30; ++i) zalgo += "\u0301";
  std::string eight = "Z";
  for (int i = 0; i < 8; ++i) eight += "\u0301";
  EXPECT_EQ(printable(zalgo + "a"), eight + "[+22 marks]a");
  EXPECT_EQ(printable(zalgo + zalgo), eight + "[+22 marks]" + eight + "[+22 marks]");
  EXPECT_EQ(printable("\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301x"),
            "\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301[+1 mark]x");
  // Decomposed Vietnamese, pointed and cantillated Hebrew, Devanagari, an emoji sequence.
  for (const std::string real :
       {"vi\u0323\u0302t", "\u05d1\u05bc\u05b0\u0596\u05e8", "\u0915\u094d\u0937\u093f",
        "\U0001f44b\U0001f3fd \u2764\ufe0f \U0001f468\u200d\U0001f469\u200d\U0001f467"}) {
    EXPECT_EQ(printable(real), real);
  }
  // Invisible ones among the marks are still shown as notation, and end the count.
  EXPECT_EQ(printable("e\u0301\u034f\u0301"), "e\u0301\\u034f\u0301");
}

TEST(Excerpt, FirstLineQuotedAndCutAtACharacterBoundary) {
  EXPECT_EQ(excerpt("hello"), "\"hello\"");
  EXPECT_EQ(excerpt(""), "\"\"");
  EXPECT_EQ(excerpt("first\nsecond"), "\"first...\"");
  EXPECT_EQ(excerpt(std::string(50, 'a')), "\"" + std::string(50, 'a') + "\"");
  EXPECT_EQ(excerpt(std::string(51, 'a')), "\"" + std::string(50, 'a') + "...\"");
  // 49 ASCII bytes, then a 3-byte character that would end at byte 52: left out whole.
  EXPECT_EQ(excerpt(std::string(49, 'a') + "\u4f60b"), "\"" + std::string(49, 'a') + "...\"");
  // A 2-byte character that ends exactly at byte 50 is kept.
  EXPECT_EQ(excerpt(std::string(48, 'a') + "\u00e9b"), "\"" + std::string(48, 'a') + "\u00e9...\"");
  // Emoji (4 bytes) throughout: 12 of them are 48 bytes, a 13th would pass 50.
  std::string emoji;
  for (int i = 0; i < 20; ++i) emoji += "\U0001F600";
  EXPECT_EQ(excerpt(emoji), "\"" + emoji.substr(0, 48) + "...\"");
  // What it quotes is printable: an escape sequence is shown inert, and counted as sent.
  EXPECT_EQ(excerpt("\x1b[2Jx"), "\"^[[2Jx\"");
  EXPECT_EQ(excerpt("ab\xff"), "\"ab\\xff\"");
}

}  // namespace
}  // namespace relay::client
