// Fuzzes the relay console's line parser: an accepted line is clean, fits its command's row
// of the table, and the command re-joined with single spaces parses to the same command.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "relay/console/command.hpp"

using namespace relay;
using fuzz::check;

namespace {

bool blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string help = console::help_text();
  check(!help.empty() && help.back() == '\n');

  const std::string_view line = as_chars(byte_view(data, size));
  auto cmd = console::parse_command(line);
  if (!cmd) return 0;
  check(size <= console::max_line);
  const console::command_spec* spec = console::find_command(cmd->name);
  check(spec != nullptr && spec->name == cmd->name);
  check(help.find(spec->usage) != std::string::npos);

  const auto n = static_cast<int>(cmd->args.size());
  check(n >= spec->min_args);
  check(spec->max_args == console::rest_of_line || n <= spec->max_args);
  std::string joined = cmd->name;
  for (int i = 0; i < n; ++i) {
    const std::string& a = cmd->args[static_cast<std::size_t>(i)];
    check(!a.empty() && !blank(a.front()) && !blank(a.back()));
    const bool trailing = spec->max_args == console::rest_of_line && i == spec->min_args;
    if (!trailing) check(a.find_first_of(" \t") == std::string::npos);
    for (char c : a) check(static_cast<unsigned char>(c) >= 0x20 || c == '\t');
    joined += ' ';
    joined += a;
  }
  auto again = console::parse_command(joined);
  check(again.has_value() && *again == *cmd);
  return 0;
}
