// The relay console's command table and line parser: text in, a command or a typed error out.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "relay/util/result.hpp"

namespace relay::console {

/// max_args value: after min_args words, the rest of the line (if any) is one last argument,
/// taken verbatim with its internal spaces, like IRC's trailing parameter.
inline constexpr int rest_of_line = -1;

/// The longest line parse_command accepts, in bytes.
inline constexpr std::size_t max_line = 1024;

/// One row of the command table (ngircd-style).
struct command_spec {
  std::string_view name;   ///< lowercase
  int min_args;            ///< required arguments
  int max_args;            ///< at most this many, or rest_of_line
  std::string_view usage;  ///< e.g. "kick USER [reason]"
  std::string_view help;   ///< one line
  /// Changes the relay's state (accounts, bans, who is online): the audit log then records
  /// what the command did, not only that it succeeded.
  bool changes_state = false;
};

/// The command table: name, argument counts, usage, one-line help.
std::span<const command_spec> commands();

/// The table row for `name` (any case), or nullptr: lets the shell print a usage line.
const command_spec* find_command(std::string_view name);

/// A parsed line: the lowercase command name and its arguments.
struct command {
  std::string name;
  std::vector<std::string> args;

  friend bool operator==(const command&, const command&) = default;
};

/// Why a line was refused (category "console").
enum class command_errc {
  empty = 1,         ///< nothing but spaces and tabs
  unknown_command,   ///< not in commands()
  too_few_args,      ///< fewer than the command's min_args
  too_many_args,     ///< more than the command's max_args
  too_long,          ///< over max_line bytes
  bad_character,     ///< a control character (escape sequences), or bytes that are not UTF-8
  bad_duration,      ///< ban: a duration that is not e.g. 30s, 10m, 2h, 7d, 1w (see duration.hpp)
  reason_too_long,   ///< ban: a reason over max_ban_reason bytes (see ban.hpp)
  line_break,        ///< a line break inside the line: several lines pasted as one
  split_duration,    ///< ban: a duration in two words ("1h 30m"), not a duration and a reason
  hidden_character,  ///< an invisible or direction-changing character (util::is_hidden_format)
};
const std::error_category& console_category() noexcept;
std::error_code make_error_code(command_errc e) noexcept;

/// Parses one line, without its line terminator. Splits on runs of spaces/tabs; the last
/// argument of a rest_of_line command (e.g. the reason of kick) takes the rest of the line
/// verbatim, less trailing spaces and tabs. Rejects lines over max_line bytes, any control
/// character (bytes below 0x20 except tab, 0x7f, and the C1 controls U+0080..U+009F) and
/// malformed UTF-8, so nothing typed here can smuggle a terminal escape sequence anywhere,
/// and the invisible direction and joiner controls (util::is_hidden_format), so that no
/// reason reads other than it is where it is shown raw (the console's answers, `bans`).
/// Command names are case-insensitive.
result<command> parse_command(std::string_view line);

/// Whether `word` is "confirm", in any case (the second word of `delete USER confirm`).
bool is_confirm_word(std::string_view word);

/// Every command with its usage and help, one per line, help texts aligned in one column;
/// with `only`, that command's line alone (empty if there is no such command).
std::string help_text(std::string_view only = {});

}  // namespace relay::console

template <>
struct std::is_error_code_enum<relay::console::command_errc> : std::true_type {};
