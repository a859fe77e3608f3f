// How the console's answers are laid out on a narrow terminal: a table row too wide for it
// continues under the table's last column instead of at column 0.
#pragma once

#include <cstddef>
#include <string_view>

namespace relay::console {

/// The hang (term::wrap) for an answer: when its first line is a table header (words of
/// capitals, columns two or more spaces apart, as `db`, `active` and `bans` print), the
/// column where the header's last column starts; otherwise 2, so that a continued line is
/// never taken for a line of its own.
std::size_t answer_hang(std::string_view answer) noexcept;

/// The hang for the relay's log lines on the console ("2026-12-03T12:00:00.000Z INFO text"):
/// under the text, after the time and the level; 2 for anything else.
std::size_t log_hang(std::string_view lines) noexcept;

}  // namespace relay::console
