// The `ban` command's arguments and the text a banned user is shown: pure, no clock, no I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "relay/util/result.hpp"

namespace relay::console {

/// The longest ban reason, in bytes: the notice built from it must fit a str8 frame field.
inline constexpr std::size_t max_ban_reason = 200;

/// The longest text ban_notice returns (a str8 field on the wire).
inline constexpr std::size_t max_notice = 255;

/// `ban USER [DURATION] [reason]`, taken apart.
struct ban_args {
  std::string user;
  std::optional<std::chrono::seconds> duration;  ///< nullopt: permanent
  std::string reason;                            ///< may be empty

  friend bool operator==(const ban_args&, const ban_args&) = default;
};

/// Splits the arguments parse_command gives for `ban` ({USER} or {USER, REST}). REST's first
/// word is the duration when it starts with a digit, and must then be a valid one
/// (command_errc::bad_duration): a mistyped "10min" never becomes a permanent ban with the
/// reason "10min". What follows, or all of REST when it starts otherwise, is the reason
/// (command_errc::reason_too_long past max_ban_reason bytes). Too few arguments is
/// command_errc::too_few_args.
result<ban_args> parse_ban_args(std::span<const std::string> args);

/// What a banned user reads, in the closing frame that disconnects them and in the error that
/// answers their sign-ins: "you are banned until 2025-06-01 12:00:00Z (1h59m left): spamming"
/// or "you are banned permanently: spamming" (no ": ..." without a reason). `until` and `now`
/// are unix seconds. Cut to max_notice bytes on a UTF-8 character boundary.
std::string ban_notice(std::optional<std::int64_t> until, std::string_view reason,
                       std::int64_t now);

/// ban_notice for an address block: "your address is blocked by the relay's operator until
/// ... (1h59m left): flooding", or "... permanently".
std::string block_notice(std::optional<std::int64_t> until, std::string_view reason,
                         std::int64_t now);
/// `subject` ("you are banned ") followed by the time and the reason, as ban_notice says.
std::string notice_for(std::string subject, std::optional<std::int64_t> until,
                       std::string_view reason, std::int64_t now);

/// The end of a ban of `duration` made at `now` (unix seconds), or nullopt for a permanent one.
std::optional<std::int64_t> ban_until(std::optional<std::chrono::seconds> duration,
                                      std::int64_t now);

}  // namespace relay::console
