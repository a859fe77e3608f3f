// How many terminal columns a code point takes, as terminals count them (wcwidth of the
// C.UTF-8 locale, whatever locale the user runs under): 2 for East Asian wide characters and
// most emoji, 0 for combining marks and other zero-width code points, 1 for the rest.
#pragma once

#include <cstddef>
#include <string_view>

namespace relay::term {

/// The code point of the valid UTF-8 sequence of `n` bytes at s[i].
char32_t decode_utf8(std::string_view s, std::size_t i, std::size_t n) noexcept;

/// 0, 1 or 2. Code points a terminal does not print (controls, unassigned) count 1: the
/// editor never writes those raw. Without the C.UTF-8 locale, every code point counts 1.
int columns(char32_t cp) noexcept;

/// Zero columns and joins the character before it (combining marks, ZWJ, variation
/// selectors): the cursor moves over such a cluster in one step.
bool joins_previous(char32_t cp) noexcept;

/// Bidirectional embedding, override and isolate controls (U+202A..U+202E, U+2066..U+2069):
/// they reorder the text that follows on terminals that do bidi, so text can show other than
/// it is ("Trojan Source"). Shown as visible notation, never raw.
bool is_bidi_control(char32_t cp) noexcept;

/// Bytes of the escape sequence starting at s[i], which is ESC: a CSI (`ESC [`, parameters,
/// a final byte in 0x40..0x7e) whole, or to the end of `s` when it is cut short; a lone ESC
/// is 1. Such sequences (our own styles) take no column.
std::size_t escape_length(std::string_view s, std::size_t i) noexcept;

}  // namespace relay::term
