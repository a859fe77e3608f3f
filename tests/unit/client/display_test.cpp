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

}  // namespace
}  // namespace relay::client
