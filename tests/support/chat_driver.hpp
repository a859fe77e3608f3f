// Driving the real `node` chat client through its pseudo-terminal as a person would: start it,
// answer the sign-in and sign-up dialogue, and assert on what it prints.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "support/pty_process.hpp"
#include "support/temp_dir.hpp"

namespace relay::test {

/// Success once `p` prints `text` (after its previous match); otherwise a failure carrying
/// p's transcript.
::testing::AssertionResult saw(pty_process& p, std::string_view text);
/// Like saw(p, text) for a pattern; `what` names it in the failure message.
::testing::AssertionResult saw(pty_process& p, const std::regex& re, std::string_view what);
/// Like saw(p, re, what), but hands back the first capture group of `re`; records a failure
/// and returns empty if `re` never appears.
std::string saw_capture(pty_process& p, const std::regex& re, std::string_view what);
/// Success if `p` ends (within the default timeout) with exit code `code`.
::testing::AssertionResult exited_with(pty_process& p, int code);
/// How many times `needle` occurs in `haystack` (not overlapping).
std::size_t occurrences(const std::string& haystack, std::string_view needle);
/// Success if `secret` appears nowhere in p's transcript so far.
::testing::AssertionResult never_printed(const pty_process& p, std::string_view secret);

/// The first capture group of the first match of `re` in `text`, or empty.
std::string capture(const std::string& text, const std::regex& re);

/// Starts the `node` client of the relay on 127.0.0.1:`port` under a pty, labelled `home`,
/// with its data directory at dir.path() / home (--home) and `extra` appended to its command
/// line. It runs in `dir`, with HOME and XDG_DATA_HOME inside `dir` so that it stays away from
/// the real home even if --home were ignored, with TERM=xterm (so the line editor is used)
/// and NO_COLOR=1 (plain text to match), on a terminal `columns` wide. Throws
/// std::runtime_error if it cannot start.
std::unique_ptr<pty_process> start_client(const temp_dir& dir, std::uint16_t port,
                                          const std::string& home,
                                          const std::vector<std::string>& extra = {},
                                          unsigned short columns = 160);

/// Waits for the "password: " prompt and for echo to be off, then types `password`.
::testing::AssertionResult type_password(pty_process& c, const std::string& password);
/// Waits for the user-name prompt, first answering "yes" if the client asks whether to trust
/// a relay it has not met (the first use of a data directory).
::testing::AssertionResult reach_name_prompt(pty_process& c);
/// reach_name_prompt(), then answers the user-name and password prompts; the password only once
/// echo is off.
::testing::AssertionResult type_credentials(pty_process& c, const std::string& name,
                                            const std::string& password);
/// type_credentials(), then waits for the refusal and the offer to create the account
/// ("Create a new account named 'NAME'? [y/N] "), which is left unanswered.
::testing::AssertionResult reach_sign_up_offer(pty_process& c, const std::string& name,
                                               const std::string& password);
/// Accepts the offer to create an account ("y") and types `confirmation` at the
/// confirmation prompt once echo is off; what follows is left unread.
::testing::AssertionResult accept_sign_up_offer(pty_process& c, const std::string& confirmation);

/// Signs up through the whole "Create a new account" dialogue; the new account's short key
/// fingerprint, or empty after recording a failure (at the first step that fails, so a hung
/// client costs one wait).
std::string sign_up(pty_process& c, const std::string& name, const std::string& password);
/// Signs in to an existing account; its short key fingerprint, or empty after recording a
/// failure.
std::string sign_in(pty_process& c, const std::string& name, const std::string& password);

/// Types /password in the chat, then `current`, `fresh` and `again` at its three hidden
/// prompts, each once its prompt is shown; what follows is left unread.
::testing::AssertionResult type_password_change(pty_process& c, const std::string& current,
                                                const std::string& fresh, const std::string& again);

/// A user: the name also names the client's data directory (see start_client()).
struct account {
  std::string name;
  std::string password;
};

/// Two clients with the short key fingerprints of their new accounts.
struct signed_up_pair {
  std::unique_ptr<pty_process> first, second;
  /// Empty after a recorded failure; second_key also when `first` could not sign up.
  std::string first_key, second_key;
};

/// Starts the clients of `first` and `second` (in that order, both before any sign-up), then
/// signs up `first` and, only if that worked, `second`; returns once each has the other online.
signed_up_pair sign_up_pair(const temp_dir& dir, std::uint16_t port, const account& first,
                            const account& second);

}  // namespace relay::test
