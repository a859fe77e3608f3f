// The console command table and a pure line parser over it.
#include "relay/console/command.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include "relay/util/utf8.hpp"

namespace relay::console {

namespace {

// One line per command; parse_command and help_text read nothing else. Descriptions stay
// within 50 columns, so that `help` fits an 80-column terminal.
// No command takes a password or a key, and none shows more than names, key fingerprints,
// addresses, times and counters; so the audit log, which records every command, holds no secret.
constexpr std::array<command_spec, 14> table{{
    {"help", 0, 1, "help [COMMAND]", "list these commands, or say what one does"},
    {"db", 0, 1, "db [TEXT]", "accounts, or those with TEXT in their name"},
    {"active", 0, 1, "active [TEXT]", "who is online, or those with TEXT in their name"},
    {"key", 0, 0, "key", "the relay's public-key fingerprint"},
    {"stats", 0, 0, "stats", "uptime, connections, sign-ins, messages, rate"},
    {"kick", 1, rest_of_line, "kick USER [reason]", "disconnect USER, showing them the reason",
     true},
    {"ban", 1, rest_of_line, "ban USER [DURATION] [reason]",
     "keep USER out for DURATION (2h, 7d) or for good", true},
    {"unban", 1, 1, "unban USER", "lift USER's ban", true},
    {"bans", 0, 0, "bans", "bans in force: name, until, reason"},
    {"block", 1, rest_of_line, "block ADDR [DURATION] [reason]",
     "refuse connections from ADDR (IPv6: its /64)", true},
    {"unblock", 1, 1, "unblock ADDR", "lift the block on ADDR", true},
    {"blocks", 0, 0, "blocks", "address blocks in force: address, until, reason"},
    {"delete", 1, 2, "delete USER [confirm]", "remove USER's account (alone: shows what goes)",
     true},
    {"quit", 0, 0, "quit", "stop the relay cleanly"},
}};

class console_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "console"; }
  std::string message(int ev) const override {
    switch (static_cast<command_errc>(ev)) {
      case command_errc::empty:
        return "empty line";
      case command_errc::unknown_command:
        return "unknown command (try 'help')";
      case command_errc::too_few_args:
        return "too few arguments";
      case command_errc::too_many_args:
        return "too many arguments";
      case command_errc::too_long:
        return "line too long (over 1024 bytes)";
      case command_errc::bad_character:
        return "control character or invalid UTF-8 in line";
      case command_errc::bad_duration:
        return "bad duration: a positive whole number and a unit, e.g. 30s, 10m, 2h, 7d, 1w, "
               "or units largest first, each once, e.g. 1h30m (at most 520w)";
      case command_errc::reason_too_long:
        return "reason too long (over 200 bytes)";
      case command_errc::split_duration:
        return "a duration in two words: write it as one (1h30m, not 1h 30m); a reason that "
               "starts with a duration can follow another word";
      case command_errc::line_break:
        return "a line break in the line (several lines pasted?): nothing was run; one "
               "command at a time";
      case command_errc::hidden_character:
        return "an invisible or direction-changing character in the line (such as U+200B, "
               "U+202E, U+2028, U+00AD or a tag character): nothing was run; it would hide or "
               "reorder text where it is shown";
    }
    return "unknown console error";
  }
};

constexpr std::string_view blanks = " \t";

// Why `s` is refused, if it is: a control character other than tab, or malformed UTF-8
// (C1 controls count too: U+009B is a one-character CSI on terminals that honour it); else
// an invisible or direction-changing character (util::is_hidden_format).
std::optional<command_errc> first_bad_character(std::string_view s) {
  std::optional<command_errc> hidden;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if ((b < 0x20 && b != '\t') || b == 0x7f) return command_errc::bad_character;
      ++i;
      continue;
    }
    const auto [cp, n] = util::utf8_at(s, i);
    if (n == 0 || util::is_c1_control(cp)) return command_errc::bad_character;
    if (!hidden && util::is_hidden_format(cp)) hidden = command_errc::hidden_character;
    i += n;
  }
  return hidden;
}

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](char x, char y) { return lower(x) == lower(y); });
}

void skip_blanks(std::string_view& s) {
  s.remove_prefix(std::min(s.find_first_not_of(blanks), s.size()));
}

std::string_view take_word(std::string_view& s) {
  const auto word = s.substr(0, s.find_first_of(blanks));
  s.remove_prefix(word.size());
  return word;
}

}  // namespace

std::span<const command_spec> commands() { return table; }

const command_spec* find_command(std::string_view name) {
  const auto* it = std::find_if(table.begin(), table.end(),
                                [&](const command_spec& c) { return iequals(c.name, name); });
  return it != table.end() ? it : nullptr;
}

const std::error_category& console_category() noexcept {
  static const console_category_impl category;
  return category;
}

std::error_code make_error_code(command_errc e) noexcept {
  return {static_cast<int>(e), console_category()};
}

result<command> parse_command(std::string_view line) {
  // Length first, so nothing else ever looks at an oversized line.
  if (line.size() > max_line) return command_errc::too_long;
  // A paste of several commands (a line break before more text): none runs, as a paste may
  // carry more than was meant.
  if (const auto text = line.substr(0, line.find_last_not_of("\r\n") + 1);
      text.find('\n') != std::string_view::npos) {
    return command_errc::line_break;
  }
  if (const auto bad = first_bad_character(line)) return *bad;

  std::string_view rest = line.substr(0, line.find_last_not_of(blanks) + 1);
  skip_blanks(rest);
  if (rest.empty()) return command_errc::empty;
  const command_spec* spec = find_command(take_word(rest));
  if (spec == nullptr) return command_errc::unknown_command;

  command cmd{std::string(spec->name), {}};
  const bool trailing = spec->max_args == rest_of_line;
  for (skip_blanks(rest); !rest.empty(); skip_blanks(rest)) {
    if (trailing && cmd.args.size() == static_cast<std::size_t>(spec->min_args)) {
      // A reason: shown to the user and in `bans`' columns, where a tab would break the
      // line up; it reads as the space it stands for.
      std::string reason(rest);
      std::replace(reason.begin(), reason.end(), '\t', ' ');
      cmd.args.push_back(std::move(reason));
      break;
    }
    cmd.args.emplace_back(take_word(rest));
    if (!trailing && cmd.args.size() > static_cast<std::size_t>(spec->max_args)) {
      return command_errc::too_many_args;
    }
  }
  if (cmd.args.size() < static_cast<std::size_t>(spec->min_args)) {
    return command_errc::too_few_args;
  }
  // User names are lowercase everywhere else (the client lowers what is typed): `kick BOB`
  // must find bob, not answer that BOB is not online; `db BO` lists bob.
  const std::string_view first_arg = spec->usage.substr(spec->name.size());
  if ((first_arg.starts_with(" USER") || first_arg.starts_with(" [TEXT]")) && !cmd.args.empty()) {
    for (char& c : cmd.args[0]) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return cmd;
}

bool is_confirm_word(std::string_view word) { return iequals(word, "confirm"); }

std::string help_text(std::string_view only) {
  std::size_t width = 0;
  for (const auto& c : table) width = std::max(width, c.usage.size());
  std::string out;
  const command_spec* one = only.empty() ? nullptr : find_command(only);
  if (!only.empty() && one == nullptr) return {};
  for (const auto& c : table) {
    if (one != nullptr && &c != one) continue;
    out += c.usage;
    out.append(width - c.usage.size() + 2, ' ');
    out += c.help;
    out += '\n';
  }
  return out;
}

}  // namespace relay::console
