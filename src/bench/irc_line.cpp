// IRC line parsing: ":prefix COMMAND p1 p2 :trailing".
#include "relay/bench/irc_line.hpp"

namespace relay::bench {

std::optional<irc_message> parse_irc_line(std::string_view line) noexcept {
  irc_message m;
  auto skip_spaces = [&] {
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  };
  auto word = [&] {
    const std::size_t sp = line.find(' ');
    std::string_view w = line.substr(0, sp);
    line.remove_prefix(sp == std::string_view::npos ? line.size() : sp);
    return w;
  };
  if (!line.empty() && line.front() == ':') {
    line.remove_prefix(1);
    m.prefix = word();
  }
  skip_spaces();
  m.command = word();
  if (m.command.empty()) return std::nullopt;
  while (true) {
    skip_spaces();
    if (line.empty()) break;
    if (line.front() == ':' || m.n_params + 1 == m.params.size()) {
      if (line.front() == ':') line.remove_prefix(1);
      m.params[m.n_params++] = line;
      break;
    }
    m.params[m.n_params++] = word();
  }
  return m;
}

line_cut next_irc_line(std::string_view buf) noexcept {
  const std::size_t lf = buf.find('\n');
  if (lf == std::string_view::npos) return {};
  std::string_view line = buf.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return {line, lf + 1};
}

}  // namespace relay::bench
