// Console answer layout: where a wrapped row continues.
#include "relay/console/layout.hpp"

namespace relay::console {

std::size_t answer_hang(std::string_view answer) noexcept {
  constexpr std::size_t plain = 2;
  const std::string_view header = answer.substr(0, answer.find('\n'));
  std::size_t last_column = 0;
  bool columns = false;
  for (std::size_t i = 0; i < header.size(); ++i) {
    const char c = header[i];
    if (c == ' ') {
      if (i + 1 < header.size() && header[i + 1] == ' ') columns = true;
      continue;
    }
    if (!((c >= 'A' && c <= 'Z') || c == '-')) return plain;  // not a header
    if (i >= 2 && header[i - 1] == ' ' && header[i - 2] == ' ') last_column = i;
  }
  return columns && last_column > 0 ? last_column : plain;
}

std::size_t log_hang(std::string_view lines) noexcept {
  constexpr std::size_t plain = 2;
  const auto time_end = lines.find(' ');
  if (time_end == std::string_view::npos || time_end == 0) return plain;
  const auto level_end = lines.find(' ', time_end + 1);
  if (level_end == std::string_view::npos || level_end > lines.find('\n')) return plain;
  return level_end + 1;
}

}  // namespace relay::console
