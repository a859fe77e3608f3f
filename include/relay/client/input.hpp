// What the person typed, parsed without I/O: `bob:hello` (split at the first colon),
// `/msg bob hello`, `/quit` or `q!`, `/help`, `/who`, `/password`, `/delete-account`.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace relay::client {

struct empty_line {};
struct send_line {
  std::string to;
  std::string text;
};
struct quit_line {};
struct help_line {};
struct who_line {};
/// /accept NAME: trust NAME's new key.
struct accept_line {
  std::string name;
};
/// /verify NAME [confirm]: show the safety number; with confirm, mark NAME verified.
struct verify_line {
  std::string name;
  bool confirm = false;
};
/// /password: change the account's password (the passwords are read hidden, not typed here).
struct password_line {};
/// /delete-account: delete the account on the relay (the password is read hidden).
struct delete_account_line {};
struct input_error {
  std::string message;
};

using input = std::variant<empty_line, send_line, quit_line, help_line, who_line, accept_line,
                           verify_line, password_line, delete_account_line, input_error>;

/// Parses one line. The recipient must be a valid user name; the text must not be empty.
/// Whitespace right after the colon is dropped; the rest of the text is kept verbatim
/// (it may contain colons).
input parse_input(std::string_view line);

/// A user name as typed, as the protocol spells it: blanks around it dropped and ASCII
/// letters lowered (protocol.md 2.2), so "  Bob " is bob. Not checked: see proto::valid_name.
std::string typed_name(std::string_view typed);

/// The client's /help text. `with_editor`: typed at the line editor, whose keys it names and
/// which can ask for passwords; else lines are piped in, and only what works there is listed.
std::string input_help(bool with_editor);

}  // namespace relay::client
