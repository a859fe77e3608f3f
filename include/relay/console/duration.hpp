// Durations and times as the operator types and reads them: "2h", "1h30m", "2025-06-01 12:00:00Z".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/util/result.hpp"

namespace relay::console {

/// The longest duration parse_duration accepts: 520 weeks (ten years).
inline constexpr std::chrono::seconds max_duration{520LL * 7 * 86400};

/// Parses one or more whole numbers, each followed by a unit (s, m, h, d or w), added up:
/// "30s", "10m", "2h", "7d", "1w", "1h30m". No blanks, no signs, no fractions; the total must
/// be positive and at most max_duration. Anything else is command_errc::bad_duration.
result<std::chrono::seconds> parse_duration(std::string_view text);

/// Days, hours, minutes and seconds, leaving out zero parts: "2h", "1h30m", "8d5s"; zero (and
/// anything negative) is "0s". parse_duration reads every result back.
std::string format_duration(std::chrono::seconds d);

/// A time left, in its two largest units, rounded up: a 2d ban set a second ago has "2d"
/// left, not "1d23h59m59s"; "1h31m" for 1h30m30s; under a minute, the seconds.
std::string format_time_left(std::chrono::seconds d);

/// Unix seconds as UTC, "2025-06-01 12:00:00Z".
std::string format_utc(std::int64_t unix_seconds);

}  // namespace relay::console
