// `ban` arguments and the banned user's notice.
#include "relay/console/ban.hpp"

#include <algorithm>

#include "relay/console/command.hpp"
#include "relay/console/duration.hpp"

namespace relay::console {

namespace {

constexpr std::string_view blanks = " \t";

}  // namespace

result<ban_args> parse_ban_args(std::span<const std::string> args) {
  if (args.empty() || args[0].empty()) return command_errc::too_few_args;
  ban_args out{args[0], std::nullopt, {}};
  if (args.size() < 2) return out;
  std::string_view rest = args[1];
  rest.remove_prefix(std::min(rest.find_first_not_of(blanks), rest.size()));
  // A signed word ("-1h") is a mistyped duration, not the start of a reason: taken as a
  // reason it would make the ban permanent.
  const bool signed_number =
      rest.size() >= 2 && (rest[0] == '-' || rest[0] == '+') && rest[1] >= '0' && rest[1] <= '9';
  if (signed_number) return command_errc::bad_duration;
  if (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') {
    const auto word = rest.substr(0, rest.find_first_of(blanks));
    auto d = parse_duration(word);
    if (!d) return failure(d.error());
    out.duration = *d;
    rest.remove_prefix(word.size());
    rest.remove_prefix(std::min(rest.find_first_not_of(blanks), rest.size()));
    // "ban bob 1h 30m": a second duration meant as part of the first, not a reason "30m"
    // that cuts the ban short. A reason that truly starts with one can follow a word.
    if (parse_duration(rest.substr(0, rest.find_first_of(blanks)))) {
      return command_errc::split_duration;
    }
  }
  if (rest.size() > max_ban_reason) return command_errc::reason_too_long;
  out.reason = rest;
  return out;
}

std::string ban_notice(std::optional<std::int64_t> until, std::string_view reason,
                       std::int64_t now) {
  return notice_for("you are banned ", until, reason, now);
}

std::string block_notice(std::optional<std::int64_t> until, std::string_view reason,
                         std::int64_t now) {
  return notice_for("your address is blocked by the relay's operator ", until, reason, now);
}

std::string notice_for(std::string out, std::optional<std::int64_t> until, std::string_view reason,
                       std::int64_t now) {
  if (until) {
    out += "until " + format_utc(*until) + " (" +
           format_time_left(std::chrono::seconds(*until - now)) + " left)";
  } else {
    out += "permanently";
  }
  if (!reason.empty()) {
    out += ": ";
    out += reason;
  }
  if (out.size() > max_notice) {
    std::size_t n = max_notice;
    // Back up over continuation bytes so no character is cut in half.
    while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xc0) == 0x80) --n;
    out.resize(n);
  }
  return out;
}

std::optional<std::int64_t> ban_until(std::optional<std::chrono::seconds> duration,
                                      std::int64_t now) {
  if (!duration) return std::nullopt;
  return now + static_cast<std::int64_t>(duration->count());
}

}  // namespace relay::console
