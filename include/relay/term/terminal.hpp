// The interactive terminal around line_editor: raw-ish mode, bracketed paste, a reading loop
// and thread-safe printing that redraws the half-typed line below whatever was printed.
#pragma once

#include <termios.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/term/line_editor.hpp"

namespace relay::term {

/// Columns of the terminal on `fd`, or 0 if it is not a terminal or does not say.
std::size_t terminal_columns(int fd);

/// True if both fds are terminals and TERM is not "dumb" (an unset or empty TERM counts as
/// dumb: nothing says the terminal understands escape sequences).
bool interactive_terminal_available(int in_fd, int out_fd);

/// Signal fallback: while an interactive_terminal exists, SIGTERM, SIGHUP, SIGINT and SIGQUIT
/// that are still at their default action (SIG_DFL) when the terminal is constructed get a
/// handler that only restores the saved terminal modes (tcsetattr), turns bracketed paste off
/// (write) and re-raises with the default action back (SA_RESETHAND), so the process still dies
/// of that signal. A signal the client already handles (e.g. its asio signal_set, installed
/// before the terminal) is left alone: the client shuts down normally and the destructor
/// restores. A handler the client installs after us simply replaces ours, which is fine too;
/// the destructor puts SIG_DFL back only where our handler is still installed. An exit() that
/// skips the destructor restores through an atexit hook. Only one terminal at a time gets the
/// fallback (the client has one).
class interactive_terminal {
 public:
  /// What Ctrl-C does while the terminal is ours.
  enum class ctrl_c {
    signal,  ///< SIGINT, as usual
    /// A key, read in order with what was typed before it: it drops a half-typed line and
    /// on an empty line ends input as Ctrl-D does. (As a signal it would overtake the typed
    /// bytes, which the kernel also flushes, and find the line empty.)
    key,
    /// A key that drops a half-typed line as `key` does; on an empty line the process gets
    /// SIGINT as with `signal` (the relay's console: Ctrl-C stops the relay, but a half-typed
    /// command is only dropped, as a shell does).
    line_or_signal,
  };
  /// Puts in_fd in non-canonical no-echo mode (ISIG stays on: Ctrl-Z is still a signal, and
  /// Ctrl-C too when `c` is ctrl_c::signal; Ctrl-\ is not: SIGQUIT would end the process
  /// without a word), enables bracketed paste; the destructor restores both. Modes the shell
  /// changed while the process was stopped (Ctrl-Z, then `fg`) are put back within 100 ms. Throws
  /// std::system_error if the terminal modes cannot be read or set.
  interactive_terminal(int in_fd, int out_fd, std::string prompt, ctrl_c c = ctrl_c::signal);
  ~interactive_terminal();
  interactive_terminal(const interactive_terminal&) = delete;
  interactive_terminal& operator=(const interactive_terminal&) = delete;

  /// Blocks reading in_fd (poll with <=100 ms timeout, checking *stop) until Enter gives a
  /// line (returned), Ctrl-D on an empty line or end of input (nullopt) or *stop is true (nullopt).
  /// Reads no further than that line: bytes that came with it (typed ahead, or pasted without
  /// bracketed paste) stay unread, neither shown nor in history, until the next call reads
  /// them as it reads (next_line, or next_hidden_line for a password after "/password").
  std::optional<std::string> next_line(const std::atomic<bool>* stop);
  /// next_line() for a password (same thread): while it is typed `prompt` alone is drawn in
  /// place of the usual prompt and line, with the cursor after it (nothing of the line, not
  /// even its length), also when print() redraws. Enter leaves the `prompt` row on screen,
  /// without a stamp, as passwd(1) does, and returns the line, which goes into no history.
  /// The editing keys work; Tab only rings the bell, Up/Down do nothing, a bracketed paste
  /// is taken without its line breaks; the limit_lines() cap holds. Ctrl-C (as a key) and
  /// Ctrl-D cancel whatever was typed, leaving `prompt^C` or `prompt^D` (nullopt; Ctrl-C
  /// never raises SIGINT here, whatever the ctrl_c mode); end of input and *stop give nullopt
  /// too. Afterwards the ordinary prompt and half-typed line are back as they were. The typed
  /// text is wiped (explicit_bzero) from the editor and the read buffer; the returned string
  /// is the caller's to wipe.
  std::optional<std::string> next_hidden_line(std::string_view prompt,
                                              const std::atomic<bool>* stop);
  /// Thread-safe: clears the input row, writes `text` (one or more lines, '\n'-separated, a
  /// final '\n' optional), then redraws prompt + the half-typed line with the cursor where it was.
  /// With a `hang`, the lines are first wrapped to the terminal's current width, continuation
  /// rows indented by `hang` columns (wrap.hpp); without, long lines are left for the terminal
  /// to wrap at column 0.
  void print(std::string_view text, std::optional<std::size_t> hang = std::nullopt);
  /// Thread-safe: from now on Ctrl-D (and Ctrl-C as a key) on an empty line do not end input;
  /// `note` is shown instead. End of input from the terminal itself (a hang-up) still does.
  void ignore_eof_key(std::string note);
  /// Thread-safe: shown once, below the first line dropped with Ctrl-C (ctrl_c::key), after
  /// the line stamp if there is one.
  void set_discard_note(std::string note);
  /// Thread-safe: a line holds at most `max_bytes`; typing or pasting past it rings the bell
  /// and shows `note` (after the line stamp), rather than letting a line grow that could
  /// only be refused once sent.
  void limit_lines(std::size_t max_bytes, std::string note);
  /// Thread-safe: a submitted line's line breaks (from a bracketed paste) are left on screen
  /// as rows of their own, each starting with `marker` under the line stamp, as a chat shows
  /// a multi-line message, instead of one row with ⏎ in it.
  void set_line_break_marker(std::string marker);
  /// Thread-safe: Ctrl-Z no longer stops the process (the relay: a stopped relay serves
  /// nobody, and a shell habit should not do that).
  void ignore_suspend_key();
  /// Thread-safe: Enter on an empty (or blank) line leaves nothing on screen, as in irssi;
  /// next_line() still returns it. A shell-like console keeps its empty prompts instead.
  void drop_empty_lines();
  /// Thread-safe: the commands Tab completes at the start of a line (line_editor::set_commands).
  void set_commands(std::vector<std::string> commands);
  /// Thread-safe: the names Tab completes.
  void set_candidates(std::vector<std::string> names);
  /// Thread-safe: console-style completion (line_editor::set_bare_commands).
  void set_bare_commands(bool bare);
  /// Thread-safe: `source` is asked for the names to complete whenever a Tab is read, on the
  /// reading thread and without the terminal's lock (it may wait a little for them), so the
  /// list is as fresh as the key press. Its answer replaces set_candidates()'.
  void set_candidate_source(std::function<std::vector<std::string>()> source);
  void set_prompt(std::string prompt);  // thread-safe, redraws
  /// Thread-safe: what is typed on the input line and not yet submitted (never a hidden
  /// line: while one is typed, the ordinary line put aside).
  std::string draft();
  /// Thread-safe: the terminal's columns now (80 if it does not say).
  std::size_t width() const;
  /// Thread-safe: each submitted line is left on screen with stamp() in front (the time, so
  /// one's own lines carry it as printed ones do). Called with the terminal's lock held.
  void set_line_stamp(std::function<std::string()> stamp);

 private:
  /// next_line(), or next_hidden_line() once the editor is in hidden mode.
  std::optional<std::string> read_line(const std::atomic<bool>* stop, bool hidden);
  std::string redraw_bytes_locked();  // prompt + line (or the hidden prompt), for the width
  void restore_modes_if_lost();       // takes the lock
  void write_all(std::string_view bytes);

  int in_fd_;
  int out_fd_;
  termios saved_{};
  termios raw_{};     // ours, to put back after a stop
  std::mutex mutex_;  // editor_, prompt_ and every write to out_fd_
  line_editor editor_;
  std::string prompt_;
  ctrl_c ctrl_c_;
  // The last read from in_fd (reading thread only): [input_at_, input_end_) is not fed to the
  // editor yet, as the line before it ended the call that read it.
  std::array<char, 4096> input_{};
  std::size_t input_at_ = 0;
  std::size_t input_end_ = 0;
  std::string hidden_prompt_;  // next_hidden_line()'s, drawn while the editor is hidden
  std::size_t refused_seen_ = 0;
  std::size_t last_width_ = 0;
  bool fallback_installed_ = false;
  std::string discard_note_;  // empty once shown
  std::function<std::string()> line_stamp_;
  std::function<std::vector<std::string>()> candidate_source_;
  bool drop_empty_lines_ = false;
  std::string line_break_marker_;  // set: line breaks in a submitted line start new rows
  std::string refused_note_;       // set: shown when input is refused for the size cap
  std::chrono::steady_clock::time_point refused_noted_at_{};  // the last time it was
  std::string eof_key_note_;  // set: Ctrl-D on an empty line shows it instead of ending input
};

}  // namespace relay::term
