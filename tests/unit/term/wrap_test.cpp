#include "relay/term/wrap.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "relay/term/text_width.hpp"

namespace relay::term {
namespace {

std::vector<std::string> split(std::string_view s, char sep = '\n') {
  std::vector<std::string> parts;
  for (std::size_t from = 0;;) {
    const std::size_t at = s.find(sep, from);
    parts.emplace_back(s.substr(from, at == std::string_view::npos ? at : at - from));
    if (at == std::string_view::npos) return parts;
    from = at + 1;
  }
}

/// The text without its escape sequences (ESC [ ... final byte).
std::string visible(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7e)) ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// Columns a row takes on a terminal, counted here independently of wrap(): code point by
/// code point, no tabs.
std::size_t row_columns(std::string_view row) {
  const std::string v = visible(row);
  std::size_t cols = 0;
  for (std::size_t i = 0; i < v.size();) {
    const auto lead = static_cast<unsigned char>(v[i]);
    const std::size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    cols += static_cast<std::size_t>(columns(decode_utf8(v, i, n)));
    i += n;
  }
  return cols;
}

std::string without_whitespace(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c != ' ' && c != '\n') out += c;
  }
  return out;
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::string word;
  for (const char c : s) {
    if (c == ' ' || c == '\n') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

const std::string fox = "13:20 bob: the quick brown fox jumps over the lazy dog again and again";

TEST(Wrap, ALineThatFitsIsUnchanged) {
  EXPECT_EQ(wrap("13:20 bob: hello there", 80, 11), "13:20 bob: hello there");
  EXPECT_EQ(wrap("      |  indented  twice ", 80, 6), "      |  indented  twice ");
  EXPECT_EQ(wrap("", 80, 6), "");
  EXPECT_EQ(wrap("a\n\nb\n", 80, 6), "a\n\nb\n");
}

TEST(Wrap, BreaksAfterTheLastSpaceThatFitsContinuationRowsHang) {
  EXPECT_EQ(wrap(fox, 40, 11),
            "13:20 bob: the quick brown fox jumps\n"
            "           over the lazy dog again and\n"
            "           again");
  EXPECT_EQ(wrap(fox, 40, 0),
            "13:20 bob: the quick brown fox jumps\n"
            "over the lazy dog again and again");
}

TEST(Wrap, SpacesAtABreakAreDroppedOthersKeptAsTyped) {
  EXPECT_EQ(wrap("one  two   three     fourfourfour five", 20, 0),
            "one  two   three\nfourfourfour five");
  EXPECT_EQ(wrap("aaaaaaaaaaaaaaaaaa   bbbb", 20, 0), "aaaaaaaaaaaaaaaaaa\nbbbb");
  // Spaces after the last word that do not fit go too; a blank row is never made of them.
  EXPECT_EQ(wrap("aaaaaaaaaaaaaaaaaaaa     ", 20, 0), "aaaaaaaaaaaaaaaaaaaa");
}

TEST(Wrap, AWordLongerThanARowIsBrokenHardAtTheLimit) {
  const std::string url = "https://example.com/a/very/long/path/that/does/not/fit/anywhere";
  const std::string out = wrap("see " + url, 30, 4);
  EXPECT_EQ(out,
            "see https://example.com/a/very\n"
            "    /long/path/that/does/not/f\n"
            "    it/anywhere");
  for (const auto& row : split(out)) EXPECT_LE(row_columns(row), 30u) << row;
  // A word that fits on a row of its own moves there instead.
  EXPECT_EQ(wrap("see https://example.com/a/b", 24, 0), "see\nhttps://example.com/a/b");
}

TEST(Wrap, EachLogicalLineIsWrappedOnItsOwn) {
  const std::string text =
      "13:20 bob: first line that is long enough to wrap\n"
      "short\n"
      "        | second line that is also long enough";
  EXPECT_EQ(wrap(text, 32, 11),
            "13:20 bob: first line that is\n"
            "           long enough to wrap\n"
            "short\n"
            "        | second line that is\n"
            "           also long enough");
}

TEST(Wrap, EscapeSequencesTakeNoColumnsAndAreNeverSplit) {
  const std::string styled =
      "\x1b[2m13:20\x1b[0m \x1b[36mbob\x1b[0m: the quick brown fox jumps over the lazy dog "
      "again and again";
  const std::string out = wrap(styled, 40, 11);
  EXPECT_EQ(out,
            "\x1b[2m13:20\x1b[0m \x1b[36mbob\x1b[0m: the quick brown fox jumps\n"
            "           over the lazy dog again and\n"
            "           again");
  EXPECT_EQ(visible(out), wrap(fox, 40, 11));
  // A styled word at the limit: the sequences stay whole around it.
  EXPECT_EQ(wrap("aaaa bbbb \x1b[1mcccc\x1b[0m dddd", 14, 0), "aaaa bbbb \x1b[1mcccc\x1b[0m\ndddd");
  EXPECT_EQ(wrap("aaaa bbbb \x1b[1mcccc\x1b[0m dddd", 9, 0), "aaaa bbbb\n\x1b[1mcccc\x1b[0m dddd");
}

TEST(Wrap, AStyleOpenAtABreakIsClosedBeforeTheIndentAndReopenedAfter) {
  EXPECT_EQ(wrap("\x1b[33m! first second third fourth fifth\x1b[0m", 24, 2),
            "\x1b[33m! first second third\x1b[0m\n  \x1b[33mfourth fifth\x1b[0m");
  // Every sequence since the last reset is replayed, in order; a reset ends the replay.
  EXPECT_EQ(wrap("\x1b[1m\x1b[4maaaa \x1b[0mbbbb cccc", 10, 0),
            "\x1b[1m\x1b[4maaaa \x1b[0mbbbb\ncccc");
  EXPECT_EQ(wrap("\x1b[1m\x1b[4maaaa bbbb cccc\x1b[0m", 10, 0),
            "\x1b[1m\x1b[4maaaa bbbb\x1b[0m\n\x1b[1m\x1b[4mcccc\x1b[0m");
}

TEST(Wrap, WideCharactersAreNeverSplitAcrossTheLimit) {
  // Nine columns hold four two-column characters; the fifth would take the row to ten.
  const std::string out = wrap("你好你好你好你好你好", 9, 0);
  EXPECT_EQ(out, "你好你好\n你好你好\n你好");
  for (const auto& row : split(out)) EXPECT_EQ(row_columns(row), row.size() == 12 ? 8u : 4u);
  EXPECT_EQ(wrap("a你好你好你好", 9, 0), "a你好你好\n你好");  // exactly nine, then the rest
  EXPECT_EQ(wrap("ab 你好你好你好", 9, 0), "ab 你好你\n好你好");
}

TEST(Wrap, ACombiningMarkStaysWithItsBase) {
  // The acute accent takes no column: the row "abcdé" is five columns, mark included.
  EXPECT_EQ(wrap("abcde\u0301f", 5, 0), "abcde\u0301\nf");
  const std::string out = wrap("e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", 5, 0);
  EXPECT_EQ(out, "e\u0301e\u0301e\u0301e\u0301e\u0301\ne\u0301e\u0301");
}

TEST(Wrap, CharactersJoinedByAZwjMoveToTheNextRowTogether) {
  const std::string family = "\U0001F468\u200d\U0001F469\u200d\U0001F467";  // six columns
  EXPECT_EQ(wrap("abc" + family, 8, 0), "abc\n" + family);
  // Wider than a whole row: split between its characters, as little as it can be.
  EXPECT_EQ(wrap(family, 4, 0), "\U0001F468\u200d\U0001F469\u200d\n\U0001F467");
}

TEST(Wrap, ALineOfExactlyTheWidthIsUnchanged) {
  const std::string forty(40, 'x');
  EXPECT_EQ(wrap(forty, 40, 11), forty);
  EXPECT_EQ(wrap("13:20 bob: abcdefghijklmnopqrstuvwxyz12", 39, 11),
            "13:20 bob: abcdefghijklmnopqrstuvwxyz12");
  EXPECT_EQ(wrap("abcdefg你", 9, 0), "abcdefg你");
  // One column more and the last word moves.
  EXPECT_EQ(wrap(forty.substr(0, 35) + " abcd", 40, 11), forty.substr(0, 35) + " abcd");
  EXPECT_EQ(wrap(forty.substr(0, 35) + " abcde", 40, 11),
            forty.substr(0, 35) + "\n           abcde");
}

TEST(Wrap, WidthZeroMeansUnknownAndChangesNothing) {
  EXPECT_EQ(wrap(fox, 0, 11), fox);
  EXPECT_EQ(wrap("a\n" + fox + "\n", 0, 0), "a\n" + fox + "\n");
}

TEST(Wrap, AHangThatWouldLeaveANarrowRibbonBecomesAShortOne) {
  EXPECT_EQ(effective_hang(80, 11), 11u);
  EXPECT_EQ(effective_hang(80, 40), 40u);  // half the row: still used
  EXPECT_EQ(effective_hang(80, 41), 2u);
  EXPECT_EQ(effective_hang(40, 20), 20u);  // twenty columns left: still used
  EXPECT_EQ(effective_hang(38, 19), 2u);   // nineteen left
  EXPECT_EQ(effective_hang(30, 11), 2u);
  EXPECT_EQ(effective_hang(10, 3), 2u);
  EXPECT_EQ(effective_hang(10, 1000), 2u);
  EXPECT_EQ(effective_hang(30, 1), 1u);  // never more than asked
  EXPECT_EQ(effective_hang(30, 0), 0u);
  EXPECT_EQ(effective_hang(3, 11), 0u);  // no room beside an indent at all
  EXPECT_EQ(wrap(fox, 30, 11),
            "13:20 bob: the quick brown fox\n"
            "  jumps over the lazy dog\n"
            "  again and again");
  const std::string long_name = "13:20 " + std::string(40, 'n') + ": " + "some words to wrap here";
  EXPECT_EQ(wrap(long_name, 60, 48),
            "13:20 " + std::string(40, 'n') + ": some words\n  to wrap here");
}

TEST(Wrap, ANarrowRowCannotStartWithWhatLooksLikeAnotherLine) {
  // Another sender's line inside bob's message, at 30 columns: indented, never at column 0.
  const std::string spoof =
      "13:20 bob: see_you_tomorrow_ok 13:21 carol: please send me your password";
  const std::string rows = wrap(spoof, 30, 11);
  std::size_t at = 0;
  while ((at = rows.find('\n', at)) != std::string::npos) EXPECT_EQ(rows[++at], ' ') << rows;
  EXPECT_NE(rows.find("\n  13:21 carol:"), std::string::npos) << rows;
}

TEST(Wrap, ATabAdvancesToTheNextMultipleOfEightAndIsABreak) {
  EXPECT_EQ(wrap("abc\tdefgh", 13, 0), "abc\tdefgh");  // 8 + 5 columns
  EXPECT_EQ(wrap("abc\tdefgh", 12, 0), "abc\ndefgh");
  // On a continuation row the tab stops count from column 0, hang included.
  EXPECT_EQ(wrap("aaaaaaaaaaaaaaaaaaaaaaa bb\tcccccccc d", 30, 3),
            "aaaaaaaaaaaaaaaaaaaaaaa bb\n   cccccccc d");
  EXPECT_EQ(wrap("aaaaaaaaaaaaaaaaaaaaaaaaa bbbbbb\tcccccccccccccc", 30, 3),
            "aaaaaaaaaaaaaaaaaaaaaaaaa\n   bbbbbb\tcccccccccccccc");  // 3 + 6 -> 16, + 14
  EXPECT_EQ(wrap("aaaaaaaaaaaaaaaaaaaaaaaaa bbbbbb\tccccccccccccccc", 30, 3),
            "aaaaaaaaaaaaaaaaaaaaaaaaa\n   bbbbbb\n   ccccccccccccccc");
  EXPECT_EQ(wrap("aaaaaaaaaaaaaaaaaaaaa b\tc ddddddd", 30, 3),
            "aaaaaaaaaaaaaaaaaaaaa b\tc\n   ddddddd");  // a tab that fits stays
}

TEST(Wrap, LeadingSpacesOfALogicalLineAreKept) {
  EXPECT_EQ(wrap("      | the continuation of a long message", 30, 8),
            "      | the continuation of a\n        long message");
}

// Many widths, hangs and texts: no row is wider than the width, continuation rows start with
// exactly the hang, nothing is lost or reordered, and words shorter than a row stay whole.
TEST(Wrap, RowsNeverExceedTheWidthAndKeepEveryWord) {
  std::mt19937 rng(20240611);
  const std::vector<std::string> syllables = {"a",  "ko", "ran", "de", "lu",      "xi",
                                              "你", "好", "é",   "th", "e\u0301", "mmm"};
  const auto make_line = [&](std::size_t longest_word_cols) {
    std::string line = rng() % 4 == 0 ? "      " : "";  // a notice's continuation indent
    const std::size_t n = 1 + rng() % 30;
    for (std::size_t w = 0; w < n; ++w) {
      if (w > 0) line += rng() % 5 == 0 ? "  " : " ";
      std::string word;
      const std::size_t target = 1 + rng() % longest_word_cols;
      while (word.empty() || row_columns(word) + 3 <= target) {
        word += syllables[rng() % syllables.size()];
      }
      if (rng() % 6 == 0) word = "\x1b[1;36m" + word + "\x1b[0m";
      line += word;
    }
    return line;
  };
  std::size_t checked_rows = 0;
  for (std::size_t width = 10; width <= 100; ++width) {
    for (const std::size_t hang : {std::size_t{0}, std::size_t{4}, std::size_t{6}, std::size_t{11},
                                   std::size_t{30}, std::size_t{60}}) {
      const std::size_t eh = effective_hang(width, hang);
      for (const bool short_words : {true, false}) {
        // Short: every word fits on a row of its own, after the hang or a notice's indent.
        const std::size_t longest = short_words ? width - std::max<std::size_t>(eh, 6) : 3 * width;
        std::vector<std::string> lines(1 + rng() % 3);
        std::string text;
        std::string expected;
        for (auto& line : lines) {
          line = make_line(longest);
          text += (text.empty() ? "" : "\n") + line;
          expected += (expected.empty() ? "" : "\n") + wrap(line, width, hang);
        }
        const std::string out = wrap(text, width, hang);
        SCOPED_TRACE("width " + std::to_string(width) + " hang " + std::to_string(hang) +
                     "\ntext: " + text + "\nout:\n" + out);
        EXPECT_EQ(out, expected) << "each logical line is wrapped on its own";
        for (const auto& line : lines) {
          const auto rows = split(wrap(line, width, hang));
          for (std::size_t r = 0; r < rows.size(); ++r, ++checked_rows) {
            const std::string v = visible(rows[r]);
            EXPECT_LE(row_columns(rows[r]), width) << v;
            if (r == 0) {
              EXPECT_EQ(v, visible(line).substr(0, v.size())) << "the line's start, as typed";
            } else {
              EXPECT_EQ(rows[r].substr(0, eh), std::string(eh, ' ')) << v;
              ASSERT_GT(v.size(), eh) << "a row of nothing but the hang";
              EXPECT_NE(v[eh], ' ') << v;
            }
            if (r + 1 < rows.size()) {
              EXPECT_NE(v.back(), ' ') << "spaces at a break are dropped: " << v;
            }
          }
          EXPECT_EQ(without_whitespace(visible(wrap(line, width, hang))),
                    without_whitespace(visible(line)));
          if (short_words) {
            EXPECT_EQ(words(visible(wrap(line, width, hang))), words(visible(line)));
          }
        }
      }
    }
  }
  EXPECT_GT(checked_rows, 2000u);
}

// Rows narrower than a wide character: it takes a row of its own, nothing is lost.
TEST(Wrap, TinyWidthsKeepEverythingAndAWideCharacterAlone) {
  const std::string text = "      ab 你好 \x1b[1mcd\x1b[0m e\u0301f  \U0001F468\u200d\U0001F469 g";
  for (std::size_t width = 1; width < 10; ++width) {
    const std::string out = wrap(text, width, 4);
    SCOPED_TRACE("width " + std::to_string(width) + "\n" + out);
    for (const auto& row : split(out)) {
      EXPECT_LE(row_columns(row), std::max<std::size_t>(width, 2)) << row;
      EXPECT_FALSE(visible(row).empty()) << "no blank rows";
    }
    EXPECT_EQ(without_whitespace(visible(out)), without_whitespace(visible(text)));
  }
  EXPECT_EQ(wrap("你好", 1, 0), "你\n好");
}

}  // namespace
}  // namespace relay::term
