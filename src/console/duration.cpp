// Operator durations: a tiny grammar (number unit)+ with an overflow-proof cap.
#include "relay/console/duration.hpp"

#include <ctime>

#include "relay/console/command.hpp"

namespace relay::console {

namespace {

std::int64_t unit_seconds(char u) {
  switch (u) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return 86400;
    case 'w':
      return 7 * 86400;
    default:
      return 0;
  }
}

}  // namespace

result<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty() || text.size() > 32) return command_errc::bad_duration;
  std::int64_t total = 0;
  std::int64_t previous_unit = max_duration.count() + 1;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      n = n * 10 + (text[i] - '0');
      // Past the cap already: stop before the arithmetic could ever overflow.
      if (n > max_duration.count()) return command_errc::bad_duration;
    }
    if (i == start || i == text.size()) return command_errc::bad_duration;  // no number/unit
    const char u = text[i++];
    const std::int64_t unit =
        unit_seconds(u >= 'A' && u <= 'Z' ? static_cast<char>(u - 'A' + 'a') : u);
    if (unit == 0 || n > max_duration.count() / unit) return command_errc::bad_duration;
    // Largest unit first, each once ("1h30m", not "30m1h" or "1h1h1h"): anything else is
    // more likely a typo than what was meant.
    if (unit >= previous_unit) return command_errc::bad_duration;
    previous_unit = unit;
    total += n * unit;
    if (total > max_duration.count()) return command_errc::bad_duration;
  }
  if (total <= 0) return command_errc::bad_duration;
  return std::chrono::seconds(total);
}

std::string format_duration(std::chrono::seconds d) {
  auto s = d.count() < 0 ? std::int64_t{0} : static_cast<std::int64_t>(d.count());
  if (s == 0) return "0s";
  std::string out;
  for (const auto& [unit, name] :
       {std::pair<std::int64_t, char>{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}) {
    if (s >= unit) {
      out += std::to_string(s / unit);
      out += name;
      s %= unit;
    }
  }
  return out;
}

std::string format_time_left(std::chrono::seconds d) {
  const auto s = d.count() < 0 ? std::int64_t{0} : static_cast<std::int64_t>(d.count());
  // The unit below the largest one in s: what the shown value is rounded up to.
  std::int64_t step = 1;
  for (const std::int64_t unit : {std::int64_t{86400}, std::int64_t{3600}, std::int64_t{60}}) {
    if (s >= unit) {
      step = unit == 86400 ? 3600 : unit == 3600 ? 60 : 1;
      break;
    }
  }
  return format_duration(std::chrono::seconds((s + step - 1) / step * step));
}

std::string format_utc(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm) == 0) return "?";
  return buf;
}

}  // namespace relay::console
