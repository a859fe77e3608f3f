// What the client shows, as events, and their three renderings: styled for a terminal (times,
// sender colours, warnings that stand out), plain (no escape sequences: a pipe, a file or
// NO_COLOR) and JSON lines for programs. Formatting is pure; `ui` only decides where it goes.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "relay/crypto/keys.hpp"

namespace relay::term {
class interactive_terminal;
}

namespace relay::client {

/// A key as people compare it (8 groups of 4 hex digits) and as programs want it (64 digits).
struct key_text {
  std::string full;
  std::string short_form;
  static key_text of(const crypto::public_key& k);
};

/// A message from a peer. `text` is the decrypted text, untouched: rendering neutralises it.
struct message_event {
  std::string from;
  std::string to;
  std::string text;
  bool key_changed = false;  ///< the sender's key differs from the pin and was not accepted
  /// When the sender wrote it, by the sender's clock (written_time()); shown when it is a
  /// minute or more before the message arrived: it waited (held, or typed in an outage).
  std::optional<std::chrono::system_clock::time_point> written = std::nullopt;
};

/// A message's counter read as the time it was written (protocol.md 8.3: our clients use the
/// time in microseconds), when it is one: from 2020 on. Other clients may count from 1.
std::optional<std::chrono::system_clock::time_point> written_time(std::uint64_t counter);

enum class notice_level { info, warning, error };

/// The client's own status text; several lines may be joined with '\n'. Any network-supplied
/// part in it is neutralised when rendered, like everything else.
struct notice_event {
  notice_level level = notice_level::info;
  std::string text;
};

struct signed_in_event {
  std::string name;
  key_text key;
  bool account_created = false;
};

struct join_event {
  std::string name;
  key_text key;
  /// First sight of this name: the key was just pinned (said on the same line).
  bool new_contact = false;
  /// The key is a changed one not accepted yet (warned of before, or just after this line).
  bool not_accepted = false;
};

struct leave_event {
  std::string name;
};

/// One row of a roster listing; `trust` is empty in the sign-in snapshot.
struct online_entry {
  std::string name;
  key_text key;
  std::string trust;  ///< "verified", "unverified", "KEY CHANGED" or "you" (/who)
};

/// The names the "online:" line after sign-in shows at most; /who lists everyone.
inline constexpr std::size_t online_line_names = 50;

/// Who is online: after sign-in (`who` false) or on /who (`who` true, with trust).
struct roster_listing {
  std::vector<online_entry> online;
  bool who = false;
};

using ui_event = std::variant<message_event, notice_event, signed_in_event, join_event, leave_event,
                              roster_listing>;

enum class output_style {
  styled,  ///< ANSI colours and emphasis (a terminal, NO_COLOR unset)
  plain,   ///< no escape sequence at all
  json,    ///< one JSON object per event and line
};

struct render_options {
  output_style style = output_style::plain;
  bool timestamps = false;  ///< "HH:MM " before each line (styled and plain only)
  bool local_time = true;   ///< HH:MM in local time; false: UTC (tests)
};

/// The lines for `ev` happening at `when`, '\n'-separated, without a final newline. Text from
/// the network goes through printable(); a message's own line breaks become continuation lines
/// ("  | ...", indented under the sender) that no sender name or notice can look like.
std::string render(const ui_event& ev, std::chrono::system_clock::time_point when,
                   const render_options& opts);

/// The column at which render(ev)'s text starts (after the time, the sender's "name: ", a
/// notice's "* "): rows of a long line wrapped on the terminal start there, as in irssi.
std::size_t text_column(const ui_event& ev, const render_options& opts);

/// render(ev)'s `text` wrapped for a terminal of `width` columns: rows after the first start
/// under the text (text_column), and a message's continuation lines ("  | ...") under theirs.
std::string wrap_for_terminal(const ui_event& ev, const std::string& text, std::size_t width,
                              const render_options& opts);

/// A block of text laid out as a table (/help: "  /who    you and who is online") wrapped for
/// `width` columns: a long row continues under its last column, or two columns in where
/// that leaves too little room (term::effective_hang). width 0: unchanged.
std::string wrap_table(std::string_view text, std::size_t width);

/// What render() puts before an event's first line: "HH:MM " (styled dim), or "" without
/// timestamps. Also put before one's own submitted lines.
std::string time_stamp(std::chrono::system_clock::time_point when, const render_options& opts);

/// The SGR colour parameter ("32", ...) for a sender name: a stable hash over six colours,
/// none of them red (red is for warnings).
std::string_view name_colour(std::string_view name);

/// `when` in local time or UTC, through strftime's `format` (results under 32 bytes).
std::string time_text(std::chrono::system_clock::time_point when, bool local, const char* format);

/// What the owner of an account is told when it was used with another key since their last
/// sign-in (protocol.md 5.13): the key, when (`when`: seconds since the epoch, 0 unknown),
/// and what to do if it was not them.
std::string last_key_warning(const crypto::public_key& other, std::uint64_t when, bool local);

/// The first `shown` of `names` and how many more: "a, b, c and 7 more" (all of them, comma
/// separated, when there are no more). Network-supplied names are made printable.
std::string some_names(const std::vector<std::string>& names, std::size_t shown);

/// "2024-05-01T12:34:56.789Z".
std::string iso_time_utc(std::chrono::system_clock::time_point t);

/// True when the NO_COLOR convention asks for no colour: the variable is set and not empty.
bool no_color_requested();

/// Where events go. Without an interactive terminal, messages go to `messages` (stdout) and
/// everything else to `status` (stderr in piping mode), so stdout carries only messages; in
/// JSON mode everything goes to `messages`. With a terminal attached, everything goes through
/// its print(), which keeps the half-typed line intact. Thread-safe.
class ui {
 public:
  struct stream {
    std::FILE* file;
    render_options opts;
  };
  ui(stream messages, stream status);

  void show(const ui_event& ev);
  void info(std::string text) { show(notice_event{notice_level::info, std::move(text)}); }
  void warning(std::string text) { show(notice_event{notice_level::warning, std::move(text)}); }
  void error(std::string text) { show(notice_event{notice_level::error, std::move(text)}); }
  /// A prompt before the chat (no newline), on the status stream; never JSON.
  void prompt(std::string_view text);
  /// The status stream's file descriptor (where prompts go).
  int status_fd() const noexcept { return ::fileno(status_.file); }
  /// Raw multi-line text (the /help listing) on the status stream or terminal; JSON: a notice.
  void text_block(std::string_view text);

  /// While `t` is attached (non-null), everything is printed through it with `opts`.
  void attach(term::interactive_terminal* t, render_options opts);
  bool json() const noexcept { return messages_.opts.style == output_style::json; }

 private:
  void write(std::FILE* f, const std::string& s);

  std::mutex mutex_;
  stream messages_;
  stream status_;
  term::interactive_terminal* terminal_ = nullptr;
  render_options terminal_opts_{};
};

}  // namespace relay::client
