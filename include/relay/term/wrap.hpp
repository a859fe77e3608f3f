// Word wrap with a hanging indent, as irssi and weechat do: the rows of a long message after
// the first start under its text, not at column 0 under the time. Pure: no I/O, no terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace relay::term {

/// The fewest columns a continuation row keeps for text: a hang that would leave fewer (or
/// less than half the row) is not used, and continuation rows start at short_hang instead.
inline constexpr std::size_t min_hang_text = 20;
/// Never column 0 when a hang was asked for: a row there could pass for a line of its own
/// ("12:00 carol: ..." inside bob's message), the thing the hang is there to prevent.
inline constexpr std::size_t short_hang = 2;

/// The hang wrap() uses for `hang` on rows of `width` columns: `hang` if it leaves the text
/// at least min_hang_text columns and at least half the row, else min(hang, short_hang)
/// (0 only on rows too narrow to hold text beside it: under 2 * short_hang columns).
constexpr std::size_t effective_hang(std::size_t width, std::size_t hang) noexcept {
  if (hang <= width / 2 && width - hang >= min_hang_text) return hang;
  const std::size_t small = hang < short_hang ? hang : short_hang;
  return width >= 2 * short_hang ? small : 0;
}

/// `text` (logical lines separated by '\n', already safe to print) laid out in rows of at
/// most `width` columns, joined with '\n'. A logical line that fits is returned byte for byte,
/// leading spaces included. A longer one breaks after the last space that fits, dropping the
/// spaces at the break; a word longer than a whole row is broken hard at the column limit.
/// Every row after the first of a logical line starts with effective_hang(width, hang) spaces.
/// width == 0 (unknown) returns `text` unchanged.
///
/// Columns are counted as the terminal does (text_width.hpp): 2 for wide characters, 0 for
/// combining marks, which stay with their base character, as do characters joined by a ZWJ
/// (unless the joined cluster alone is wider than a row). Escape sequences `ESC [ ... final`
/// take no columns and are never split. A style (SGR, `ESC [ ... m`) still open at a break is
/// closed with ESC[0m before the break and opened again after the indent, so the indent
/// spaces are never styled (an underline or reverse video would show on them) and the style
/// carries on in the text. A tab is a space you can break at that advances to the next
/// multiple of 8 columns of the row (the hang included), as terminals' default tab stops do.
///
/// Rows never exceed `width` (a row of exactly `width` columns is fine: the terminal defers
/// the wrap until the next character, and the '\r\n' that follows comes first), except a
/// single character wider than the whole row (a wide character when width is 1).
std::string wrap(std::string_view text, std::size_t width, std::size_t hang);

}  // namespace relay::term
