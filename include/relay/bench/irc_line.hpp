// Just enough IRC (RFC 1459/2812 message syntax) for the load tool to drive a plain IRC
// server: split a line into prefix, command and parameters, and find lines in a byte stream.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace relay::bench {

/// One parsed IRC line; views into the line it was parsed from.
struct irc_message {
  std::string_view prefix;   ///< without the leading ':'; empty if none
  std::string_view command;  ///< e.g. "PRIVMSG", "PING", "001"
  std::array<std::string_view, 15> params{};
  std::size_t n_params = 0;  ///< the trailing parameter (after " :") is the last one
  /// The nick of a "nick!user@host" prefix (the whole prefix if it has no '!').
  std::string_view nick() const noexcept { return prefix.substr(0, prefix.find('!')); }
};

/// Parses one line without its CR LF; nullopt if it has no command.
std::optional<irc_message> parse_irc_line(std::string_view line) noexcept;

/// Finds the end of the first line in `buf`: returns {line without CR/LF, bytes consumed}, or
/// consumed == 0 when no LF has arrived yet.
struct line_cut {
  std::string_view line;
  std::size_t consumed = 0;
};
line_cut next_irc_line(std::string_view buf) noexcept;

}  // namespace relay::bench
