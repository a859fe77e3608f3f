// `node`: the terminal client. Prompts for name and password, signs in (or, on request,
// signs up), then chats: `bob:hello` sends, incoming messages and joins are printed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace relay::client {

struct client_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 20001;
  std::string home;                      ///< data directory; empty: XDG default
  std::optional<std::string> relay_key;  ///< --relay-key: the only fingerprint to accept
};

/// Process exit codes (documented in README and --help).
enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,          ///< usage errors, local I/O errors, lost connection
  exit_bad_credentials = 2,  ///< sign-in or sign-up refused
  exit_unreachable = 3,      ///< relay cannot be reached or did not complete the handshake
  exit_key_mismatch = 4,     ///< the relay's key does not match the pinned key
};

/// Runs the client on the process's terminal (stdin/stdout); returns an exit code.
int run_client(const client_config& cfg);

}  // namespace relay::client
