// One strict UTF-8 decoder for every place that shows or checks text from outside (the log,
// the console, the chat display, the line editor): they must agree on what is valid.
#pragma once

#include <cstddef>
#include <string_view>

namespace relay::util {

/// A code point and the bytes it took.
struct utf8_char {
  char32_t cp = 0;
  std::size_t length = 0;  ///< 1..4; 0 when the bytes at the position are not valid UTF-8
};

/// The character at s[i] (i < s.size()). Invalid (length 0): a byte that starts nothing (a
/// stray continuation, 0xc0, 0xc1, 0xf5..0xff), a sequence cut short by the end of `s` or by
/// a byte that is not a continuation, an overlong form, a UTF-16 surrogate, or a code point
/// past U+10FFFF. Control characters are valid here; callers decide what to show.
utf8_char utf8_at(std::string_view s, std::size_t i) noexcept;

/// C1 controls (U+0080..U+009F): U+009B is a one-character CSI to terminals that honour it.
constexpr bool is_c1_control(char32_t cp) noexcept { return cp >= 0x80 && cp <= 0x9f; }

/// Characters that show nothing (or a blank) and are not needed to write any language, so
/// two texts that differ would look the same: the zero-width space, word joiner and BOM,
/// invisible mathematical operators, the soft hyphen, Hangul fillers, the Mongolian vowel
/// separator, the combining grapheme joiner, interlinear annotation marks, tag characters
/// (which can carry a hidden ASCII text), and the format controls of Khmer (inherent
/// vowels), musical notation, shorthand and Egyptian hieroglyphs. ZWJ and ZWNJ (emoji, many
/// scripts) and the direction marks LRM, RLM and ALM (right-to-left text) are not: they
/// reorder nothing. The chat shows these as notation (client/display.cpp).
constexpr bool is_invisible(char32_t cp) noexcept {
  return cp == 0x200b || cp == 0x2060 || cp == 0xfeff || (cp >= 0x2061 && cp <= 0x2065) ||
         cp == 0x00ad || cp == 0x115f || cp == 0x1160 || cp == 0x3164 || cp == 0xffa0 ||
         cp == 0x180e || cp == 0x034f || (cp >= 0xfff9 && cp <= 0xfffb) ||
         (cp >= 0xe0000 && cp <= 0xe007f) || cp == 0x17b4 || cp == 0x17b5 ||
         (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0x1bca0 && cp <= 0x1bca3) ||
         (cp >= 0x13430 && cp <= 0x1343f);
}

/// What the relay's log and console never show raw: the invisible characters above, and
/// also the joiners and direction marks (U+061C, U+200C..U+200F), the bidi embeddings,
/// overrides and isolates (U+202A..U+202E, U+2066..U+2069), and the line and paragraph
/// separators (U+2028, U+2029). Names and reasons need none of them, and they reorder the
/// text around them on terminals that do bidi, break its lines, or show nothing, so that text
/// can read other than it is.
constexpr bool is_hidden_format(char32_t cp) noexcept {
  return is_invisible(cp) || cp == 0x061c || (cp >= 0x200c && cp <= 0x200f) ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029;
}

}  // namespace relay::util
