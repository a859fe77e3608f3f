// `node`: the terminal client. Prompts for name and password (or takes them from --user and
// --password-file or RELAYCHAT_PASSWORD), signs in (or, on request,
// signs up), then chats: `bob:hello` sends, incoming messages and joins are printed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace relay::client {

struct client_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 20001;
  std::string home;                      ///< data directory; empty: XDG default
  std::optional<std::string> relay_key;  ///< --relay-key: the only fingerprint to accept
  std::optional<std::string> user;       ///< --user: skip the name prompt
  /// --password-file: its first line is the password (refused if group/other may access it).
  /// Otherwise RELAYCHAT_PASSWORD, otherwise a prompt. Never a command-line argument.
  std::optional<std::string> password_file;
  bool sign_up = false;  ///< --sign-up: create an unknown account without asking
  bool json = false;     ///< --json: one JSON object per event on stdout
  /// --relay-timeout: a relay silent this long (asked with a ping at half of it) is left and
  /// connected to again, as one that closed the connection.
  std::chrono::seconds relay_timeout{60};
};

/// Process exit codes (documented in README and --help).
enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,          ///< usage errors, local I/O errors, kicked, banned, replaced
  exit_bad_credentials = 2,  ///< sign-in or sign-up refused
  exit_unreachable = 3,      ///< relay cannot be reached or did not complete the handshake
  exit_key_mismatch = 4,     ///< the relay's key not accepted: pin, --relay-key or the user
  exit_not_all_sent = 5,     ///< without a terminal: left normally, but some line was refused
                             ///< or some message not sent or not confirmed (each was named)
};

/// Runs the client on stdin/stdout: the line editor when both are a terminal, otherwise
/// piping mode (NAME:MESSAGE lines in, one message per line out); returns an exit code.
int run_client(const client_config& cfg);

}  // namespace relay::client
