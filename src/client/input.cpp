// Line parser for the chat prompt.
#include "relay/client/input.hpp"

#include "relay/client/display.hpp"
#include "relay/proto/names.hpp"

namespace relay::client {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

/// Names are lower case (protocol.md 2.2), and the name prompt lowers what it is given:
/// `Bob:hi` and `/verify Bob` mean bob too.
std::string lower_name(std::string_view name) {
  std::string out(name);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

/// `text` is sent as it is: indentation (a pasted block of code) is kept.
input make_send(std::string_view to_typed, std::string_view text) {
  const std::string lowered = typed_name(to_typed);
  const std::string_view to = lowered;
  if (!proto::valid_name(to)) {
    // Shown as typed but inert, and a pasted line break as ^J: never a line of its own.
    return input_error{"invalid recipient '" + printable(to.substr(0, 40)) + "': user names are " +
                       std::string(proto::name_rules)};
  }
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return input_error{"empty message: nothing sent"};
  }
  return send_line{std::string(to), std::string(text)};
}

}  // namespace

std::string typed_name(std::string_view typed) { return lower_name(trim(typed)); }

input parse_input(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  const std::string_view typed = trim(line);
  if (typed.empty()) return empty_line{};
  // Commands in any case, as irssi takes them: /WHO is /who. Only the command word.
  std::string command_lowered;
  if (typed.front() == '/') {
    const auto end = typed.find_first_of(" \t");
    command_lowered = lower_name(typed.substr(0, end));
    if (end != std::string_view::npos) command_lowered += typed.substr(end);
  }
  const std::string_view t = command_lowered.empty() ? typed : std::string_view(command_lowered);
  if (t == "q!" || t == "/quit" || t == "/q") return quit_line{};
  if (t == "/help" || t == "/?") return help_line{};
  if (t == "/who") return who_line{};
  if (t == "/password") return password_line{};
  if (t == "/delete-account") return delete_account_line{};
  // A password typed after the command would be shown and kept in history: never taken.
  if (t.rfind("/password", 0) == 0 && (t[9] == ' ' || t[9] == '\t')) {
    return input_error{"usage: /password (alone: the passwords are asked for without being shown)"};
  }
  if (t.rfind("/delete-account", 0) == 0 && (t[15] == ' ' || t[15] == '\t')) {
    return input_error{
        "usage: /delete-account (alone: the password is asked for without being shown)"};
  }
  for (std::string_view cmd : {"/quit", "/q", "/help", "/who"}) {
    if (t.size() > cmd.size() && t.rfind(cmd, 0) == 0 &&
        (t[cmd.size()] == ' ' || t[cmd.size()] == '\t')) {
      return input_error{"usage: " + std::string(cmd) + " (it takes nothing after it)"};
    }
  }
  if (t.rfind("/msg", 0) == 0 && (t.size() == 4 || t[4] == ' ' || t[4] == '\t')) {
    std::string_view rest = trim(t.substr(4));
    const auto sp = rest.find_first_of(" \t");
    if (sp == std::string_view::npos) return input_error{"usage: /msg NAME MESSAGE"};
    return make_send(rest.substr(0, sp), rest.substr(sp + 1));
  }
  for (std::string_view cmd : {"/accept", "/verify"}) {
    if (t.rfind(cmd, 0) != 0 || (t.size() > cmd.size() && t[cmd.size()] != ' ')) continue;
    std::string_view rest = trim(t.substr(cmd.size()));
    const auto sp = rest.find(' ');
    const std::string who_lowered = lower_name(rest.substr(0, sp));
    const std::string_view who = who_lowered;
    std::string_view more = sp == std::string_view::npos ? "" : trim(rest.substr(sp + 1));
    if (!proto::valid_name(who)) {
      return input_error{cmd == "/accept" ? "usage: /accept NAME"
                                          : "usage: /verify NAME [confirm]"};
    }
    if (cmd == "/accept") {
      if (!more.empty()) return input_error{"usage: /accept NAME"};
      return accept_line{std::string(who)};
    }
    const std::string word = lower_name(more);  // any case, as the commands themselves
    if (!word.empty() && word != "confirm") return input_error{"usage: /verify NAME [confirm]"};
    return verify_line{std::string(who), word == "confirm"};
  }
  if (t.front() == '/') {
    return input_error{"unknown command " + printable(t.substr(0, t.find(' ')).substr(0, 40)) +
                       " (type /help)"};
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    // Named: a script's stderr must say which of its lines did not go (review 13).
    return input_error{"not sent: " + excerpt(trim(line)) +
                       " (to send a message type NAME:MESSAGE, or /help)"};
  }
  // A link pasted alone ("https://...") names no one: "https is not online" would mislead.
  if (line.substr(colon + 1).rfind("//", 0) == 0) {
    return input_error{"that is a link, not NAME:MESSAGE: to send it type NAME:" +
                       printable(trim(line).substr(0, 60))};
  }
  // One space (or tab) after the colon is the separator of "bob: hi"; any more are the
  // message's own, as after /msg's NAME.
  std::string_view text = line.substr(colon + 1);
  if (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  return make_send(line.substr(0, colon), text);
}

std::string input_help(bool with_editor) {
  std::string text =
      "commands:\n"
      "  NAME:MESSAGE          send MESSAGE to NAME (split at the first colon)\n"
      "  /msg NAME MESSAGE     the same\n"
      "  /who                  you and who is online: key fingerprints, trust\n"
      "  /verify NAME          the safety number to compare with NAME out of band\n"
      "  /verify NAME confirm  mark NAME verified after comparing\n"
      "  /accept NAME          trust NAME's new key after a key-change warning\n";
  if (with_editor) {
    text +=
        "  /password             change your password (asked for, not shown)\n"
        "  /delete-account       delete your account on this relay, for good\n";
  }
  text += "  /help                 this help\n";
  text += with_editor ? "  /quit or q!           leave (Ctrl-D too)\n"
                      : "  /quit or q!           leave (the end of input too)\n";
  // Piped input has no keys to press, and no hidden prompt to type a password at.
  // One paragraph each, wrapped to the terminal (review 13: broken for 80 columns, it left
  // ragged rows on a narrow one).
  text += with_editor ? "keys: Tab completes names, Up/Down recall earlier lines, Ctrl-C drops a "
                        "half-typed line (on an empty one it leaves); a pasted block of several "
                        "lines is sent as ONE message to the name before the first colon\n"
                      : "each line is one message; /password and /delete-account need the "
                        "client at a terminal\n";
  return text;
}

}  // namespace relay::client
