// The interactive terminal: termios modes and bracketed paste on/off, a poll() reading loop
// feeding line_editor, and printing that keeps the half-typed line intact below the output.
#include "relay/term/terminal.hpp"

#include <poll.h>
#include <string.h>  // explicit_bzero
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <utility>

#include "relay/term/wrap.hpp"
#include "relay/util/foreground.hpp"

namespace relay::term {
namespace {

constexpr std::string_view paste_on = "\x1b[?2004h";
constexpr std::string_view paste_off = "\x1b[?2004l";
constexpr std::size_t default_width = 80;
constexpr int fallback_signals[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT};

// The signal fallback needs the saved modes where an async-signal handler can reach them; one
// terminal at a time owns them (the client has one).
termios g_saved_modes{};
int g_in_fd = -1;
int g_out_fd = -1;
volatile std::sig_atomic_t g_active = 0;

/// Only async-signal-safe calls: tcsetattr, write, raise.
void restore_saved_modes() {
  if (g_active == 0) return;
  g_active = 0;
  (void)::write(g_out_fd, paste_off.data(), paste_off.size());
  ::tcsetattr(g_in_fd, TCSANOW, &g_saved_modes);
}

void fallback_handler(int sig) {
  const int saved_errno = errno;
  restore_saved_modes();
  // SA_RESETHAND put the default action back: the re-raised signal ends the process as it
  // would have without us, once this handler returns.
  ::raise(sig);
  errno = saved_errno;
}

void restore_at_exit() { restore_saved_modes(); }

bool uses_default_action(int sig) {
  struct sigaction current {};
  return ::sigaction(sig, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
         current.sa_handler == SIG_DFL;
}

bool uses_our_handler(int sig) {
  struct sigaction current {};
  return ::sigaction(sig, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
         current.sa_handler == fallback_handler;
}

/// Appends `text` with each '\n' as "\r\n": correct whether or not the tty translates (ONLCR).
void append_crlf(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

bool interactive_terminal_available(int in_fd, int out_fd) {
  if (::isatty(in_fd) == 0 || ::isatty(out_fd) == 0) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && *term != '\0' && std::strcmp(term, "dumb") != 0;
}

interactive_terminal::interactive_terminal(int in_fd, int out_fd, std::string prompt, ctrl_c c)
    : in_fd_(in_fd), out_fd_(out_fd), prompt_(std::move(prompt)), ctrl_c_(c) {
  if (::tcgetattr(in_fd_, &saved_) != 0) {
    throw std::system_error(errno, std::generic_category(), "tcgetattr");
  }
  termios raw = saved_;
  // Keys arrive one by one and unechoed; ISIG stays so Ctrl-Z and Ctrl-\ are still signals.
  // IEXTEN off so Ctrl-V/Ctrl-O reach us; IXON off so Ctrl-S does not freeze output; no CR/NL
  // translation, or a pasted "\r\n" would arrive as two line breaks.
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ECHONL | IEXTEN);
  raw.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL | INLCR | IGNCR);
  if (c != ctrl_c::signal) raw.c_cc[VINTR] = _POSIX_VDISABLE;
  // Ctrl-\ would end us at once (SIGQUIT: no goodbye, what waits unnamed, maybe a core).
  raw.c_cc[VQUIT] = _POSIX_VDISABLE;
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (::tcsetattr(in_fd_, TCSADRAIN, &raw) != 0) {
    throw std::system_error(errno, std::generic_category(), "tcsetattr");
  }
  raw_ = raw;

  // Fallback restore for signals still at their default action (see the header). The client's
  // own handlers, installed before or after us, take precedence and end in our destructor.
  if (g_active == 0) {
    g_saved_modes = saved_;
    g_in_fd = in_fd_;
    g_out_fd = out_fd_;
    g_active = 1;
    fallback_installed_ = true;
    static const bool registered = std::atexit(restore_at_exit) == 0;
    (void)registered;
    for (const int sig : fallback_signals) {
      if (!uses_default_action(sig)) continue;
      struct sigaction action {};
      action.sa_handler = fallback_handler;
      sigemptyset(&action.sa_mask);
      action.sa_flags = SA_RESETHAND;
      ::sigaction(sig, &action, nullptr);
    }
  }

  std::lock_guard lock(mutex_);
  write_all(std::string(paste_on) + redraw_bytes_locked());
}

interactive_terminal::~interactive_terminal() {
  {
    std::lock_guard lock(mutex_);
    std::string bytes = "\r\x1b[K";  // the prompt row goes; whatever was printed stays
    bytes += paste_off;
    write_all(bytes);
    ::tcsetattr(in_fd_, TCSADRAIN, &saved_);
  }
  if (fallback_installed_) {
    g_active = 0;
    for (const int sig : fallback_signals) {
      if (uses_our_handler(sig)) ::signal(sig, SIG_DFL);
    }
  }
}

std::optional<std::string> interactive_terminal::next_line(const std::atomic<bool>* stop) {
  return read_line(stop, false);
}

std::optional<std::string> interactive_terminal::next_hidden_line(std::string_view prompt,
                                                                  const std::atomic<bool>* stop) {
  {
    std::lock_guard lock(mutex_);
    hidden_prompt_ = prompt;
    editor_.begin_hidden();
    write_all(redraw_bytes_locked());
  }
  // However it ends (stop, end of input, an exception): the ordinary line is back on screen,
  // and nothing typed stays in our memory but the remainder that was not read yet.
  struct restore {
    interactive_terminal& t;
    ~restore() {
      {
        std::lock_guard lock(t.mutex_);
        if (t.editor_.hidden()) {
          t.editor_.end_hidden();
          t.write_all(t.redraw_bytes_locked());
        }
      }
      ::explicit_bzero(t.input_.data(), t.input_at_);
      ::explicit_bzero(t.input_.data() + t.input_end_, t.input_.size() - t.input_end_);
    }
  } guard{*this};
  return read_line(stop, true);
}

std::optional<std::string> interactive_terminal::read_line(const std::atomic<bool>* stop,
                                                           bool hidden) {
  for (;;) {
    // Bytes read with an earlier line and not fed yet come first: the line before them
    // decided how they are to be read (a password after "/password").
    if (input_at_ == input_end_) {
      if (stop != nullptr && stop->load()) return std::nullopt;
      pollfd p{in_fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, 100);
      if (ready < 0 && errno != EINTR) return std::nullopt;
      // In the background (a shell put us there after an outside SIGSTOP and SIGCONT): reading
      // or setting modes would stop the whole process (SIGTTIN, SIGTTOU) until `fg`. What is
      // typed waits until we have the terminal again; our modes are put back then.
      if (util::terminal_taken_by_another_job(in_fd_)) {
        ::poll(nullptr, 0, 100);
        continue;
      }
      restore_modes_if_lost();
      if (ready <= 0) {
        // No SIGWINCH handler (the client owns signals): a resize is noticed within 100 ms.
        std::lock_guard lock(mutex_);
        if (width() != last_width_) write_all(redraw_bytes_locked());
        continue;
      }
      const ssize_t n = ::read(in_fd_, input_.data(), input_.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return std::nullopt;  // end of input, or the terminal hung up (EIO)
      input_at_ = 0;
      input_end_ = static_cast<std::size_t>(n);
    }
    const std::string_view bytes(input_.data() + input_at_, input_end_ - input_at_);
    if (!hidden && bytes.find('\t') != std::string_view::npos) {
      std::function<std::vector<std::string>()> source;
      {
        std::lock_guard lock(mutex_);
        source = candidate_source_;
      }
      if (source) {
        auto names = source();
        std::lock_guard lock(mutex_);
        editor_.set_candidates(std::move(names));
      }
    }

    std::lock_guard lock(mutex_);
    std::string out;
    bool interrupt = false;
    bool done = false;  // a line, or nullopt (Ctrl-D, or a hidden line cancelled)
    std::optional<std::string> result;
    std::size_t used = 0;
    // Up to the end of the first line only: what follows stays raw until the next call.
    auto events = editor_.feed(bytes, used);
    input_at_ += used;
    for (auto& ev : events) {
      const std::size_t w = width();
      if (hidden) {
        // Nothing typed is drawn: the prompt alone stays, with no stamp, as passwd(1) leaves
        // its prompts; ^C or ^D after it says the line was cancelled.
        switch (ev.what) {
          case line_editor::event::kind::line:
          case line_editor::event::kind::eof:
          case line_editor::event::kind::interrupt:
          case line_editor::event::kind::discard:
            out += "\r\x1b[K";
            out += hidden_prompt_;
            if (ev.what == line_editor::event::kind::line) {
              result = std::move(ev.text);
            } else {
              out += ev.what == line_editor::event::kind::eof ? "^D" : "^C";
            }
            out += "\r\n";
            done = true;
            break;
          case line_editor::event::kind::clear:
            out += "\x1b[H\x1b[2J";
            break;
          case line_editor::event::kind::bell:
            out += '\a';
            break;
          case line_editor::event::kind::list:  // (no completion in hidden mode)
            break;
        }
        continue;
      }
      if (ev.what == line_editor::event::kind::interrupt) {
        if (ctrl_c_ == ctrl_c::line_or_signal) {
          out += "^C\r\n";
          interrupt = true;  // raised once the screen is up to date
          continue;
        }
        ev.what = line_editor::event::kind::eof;  // Ctrl-C on an empty line leaves
      }
      switch (ev.what) {
        case line_editor::event::kind::line: {
          done = true;
          // The submitted line stays on screen as typed (like a terminal's own echo): whole,
          // not the scrolled view of a long one, wrapped under its text as printed messages
          // are, not at column 0.
          if (drop_empty_lines_ && ev.text.find_first_not_of(" \t") == std::string::npos) {
            result = std::move(ev.text);  // the prompt stays where it is
            break;
          }
          const std::string stamp = line_stamp_ ? line_stamp_() : std::string();
          const std::string lead = stamp + prompt_;
          out += "\r\x1b[K";
          if (line_break_marker_.empty()) {
            append_crlf(out,
                        wrap(lead + line_editor::shown(ev.text), w, line_editor::columns_of(lead)));
          } else {
            // As sent: line breaks at the end are not part of the message.
            std::string_view text = ev.text;
            while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
            const std::string indent(line_editor::columns_of(stamp), ' ');
            const std::size_t hang = indent.size() + line_editor::columns_of(line_break_marker_);
            std::size_t from = 0;
            for (bool first = true;; first = false) {
              const std::size_t to = std::min(text.find('\n', from), text.size());
              const std::string shown = line_editor::shown(text.substr(from, to - from));
              if (first) {
                append_crlf(out, wrap(lead + shown, w, line_editor::columns_of(lead)));
              } else {
                out += "\r\n";
                append_crlf(out, wrap(indent + line_break_marker_ + shown, w, hang));
              }
              if (to == text.size()) break;
              from = to + 1;
            }
          }
          out += "\r\n";
          result = std::move(ev.text);
          break;
        }
        case line_editor::event::kind::eof:
          if (!eof_key_note_.empty()) {  // Ctrl-D is not a way out here: say what is
            out += "\r\x1b[K" + eof_key_note_ + "\r\n";
            break;
          }
          out += line_editor::render_line(prompt_, {}, 0, w);
          out += "\r\n";
          done = true;  // whatever follows Ctrl-D is not read (unless we are called again)
          break;
        case line_editor::event::kind::list:
          // Broken between names, later rows two columns in, as printed lines wrap: the
          // terminal's own wrap split names and continued at column 0 (review 10).
          out += "\r\x1b[K";
          append_crlf(out, wrap(ev.text, w, 2));
          out += "\r\n";
          break;
        case line_editor::event::kind::clear:
          out += "\x1b[H\x1b[2J";  // home, erase the screen; the line is redrawn below
          break;
        case line_editor::event::kind::bell:
          out += '\a';
          break;
        case line_editor::event::kind::interrupt:  // made eof or handled above
          break;
        case line_editor::event::kind::discard:
          // Left on screen with ^C after it, as a shell does; a fresh empty line below.
          out += "\r\x1b[K";
          append_crlf(out, wrap(prompt_ + line_editor::shown(ev.text) + "^C", w,
                                line_editor::columns_of(prompt_)));
          out += "\r\n";
          if (!discard_note_.empty()) {  // wrapped under its text, as notices are
            const std::string stamp = line_stamp_ ? line_stamp_() : std::string();
            out += "\r\x1b[K";
            append_crlf(out, wrap(stamp + std::exchange(discard_note_, {}), w,
                                  line_editor::columns_of(stamp) + 2));
            out += "\r\n";
          }
          break;
      }
    }
    if (editor_.refused() != refused_seen_) {
      refused_seen_ = editor_.refused();
      out += '\a';  // the buffer is full
      // A long paste arrives in many reads, each refused: one note for them, not one each.
      const auto now = std::chrono::steady_clock::now();
      if (!refused_note_.empty() && now - refused_noted_at_ >= std::chrono::seconds(2)) {
        refused_noted_at_ = now;
        const std::string stamp = line_stamp_ ? line_stamp_() : std::string();
        out += "\r\x1b[K";
        append_crlf(out, wrap(stamp + refused_note_, width(), line_editor::columns_of(stamp) + 2));
        out += "\r\n";
      }
    }
    // A hidden line over: the ordinary prompt and line are drawn back in the same write.
    if (hidden && done) editor_.end_hidden();
    if (hidden || !done || result) out += redraw_bytes_locked();
    write_all(out);
    // As if the terminal had sent it: whoever handles SIGINT (the relay's signal set) acts.
    if (interrupt) ::kill(::getpid(), SIGINT);
    if (done) return result;
  }
}

void interactive_terminal::print(std::string_view text, std::optional<std::size_t> hang) {
  std::lock_guard lock(mutex_);  // the width read for wrapping and for the redraw alike
  std::string wrapped;
  if (hang) {
    wrapped = wrap(text, width(), *hang);
    text = wrapped;
  }
  std::string out = "\r\x1b[K";
  append_crlf(out, text);
  if (text.empty() || text.back() != '\n') out += "\r\n";
  out += redraw_bytes_locked();
  write_all(out);  // one write: the row is never seen half redrawn
}

void interactive_terminal::ignore_eof_key(std::string note) {
  std::lock_guard lock(mutex_);
  eof_key_note_ = std::move(note);
}

void interactive_terminal::set_discard_note(std::string note) {
  std::lock_guard lock(mutex_);
  discard_note_ = std::move(note);
}

void interactive_terminal::set_commands(std::vector<std::string> commands) {
  std::lock_guard lock(mutex_);
  editor_.set_commands(std::move(commands));
}

void interactive_terminal::set_bare_commands(bool bare) {
  std::lock_guard lock(mutex_);
  editor_.set_bare_commands(bare);
}

void interactive_terminal::set_candidate_source(std::function<std::vector<std::string>()> source) {
  std::lock_guard lock(mutex_);
  candidate_source_ = std::move(source);
}

void interactive_terminal::set_candidates(std::vector<std::string> names) {
  std::lock_guard lock(mutex_);
  editor_.set_candidates(std::move(names));
}

void interactive_terminal::set_prompt(std::string prompt) {
  std::lock_guard lock(mutex_);
  prompt_ = std::move(prompt);
  write_all(redraw_bytes_locked());
}

std::string interactive_terminal::redraw_bytes_locked() {
  last_width_ = width();
  return editor_.render(editor_.hidden() ? hidden_prompt_ : prompt_, last_width_);
}

std::size_t terminal_columns(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

std::size_t interactive_terminal::width() const {
  const std::size_t w = terminal_columns(out_fd_);
  return w > 0 ? w : default_width;
}

void interactive_terminal::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(out_fd_, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{out_fd_, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      return;  // the terminal is gone; nothing useful to do with the output
    }
  }
}

void interactive_terminal::limit_lines(std::size_t max_bytes, std::string note) {
  std::lock_guard lock(mutex_);
  editor_.set_max_bytes(max_bytes);
  refused_note_ = std::move(note);
}

void interactive_terminal::set_line_break_marker(std::string marker) {
  std::lock_guard lock(mutex_);
  line_break_marker_ = std::move(marker);
}

void interactive_terminal::restore_modes_if_lost() {
  // After Ctrl-Z and `fg` the shell has left the terminal in its own (cooked, echoing) modes:
  // keys would echo raw and wait for Enter. Put ours back and redraw, as irssi and vim do.
  termios now{};
  if (::tcgetattr(in_fd_, &now) != 0) return;
  constexpr auto ours = static_cast<tcflag_t>(ICANON | ECHO);
  std::lock_guard lock(mutex_);  // raw_ is changed under it (ignore_suspend_key)
  if ((now.c_lflag & ours) == (raw_.c_lflag & ours)) return;
  if (::tcsetattr(in_fd_, TCSADRAIN, &raw_) != 0) return;
  std::string note;
  if (editor_.hidden()) {
    // Half a password from before the stop, unseen, would be the head of what is typed now
    // (found by a review): dropped, and said, as the sign-in prompts do.
    editor_.end_hidden();
    editor_.begin_hidden();
    note = hidden_prompt_ + "(stopped: what was typed here is dropped; type it again)\r\n";
  }
  // The shell left us on a new line.
  write_all(std::string(paste_on) + note + redraw_bytes_locked());
}

std::string interactive_terminal::draft() {
  std::lock_guard lock(mutex_);
  return editor_.ordinary_buffer();
}

void interactive_terminal::ignore_suspend_key() {
  std::lock_guard lock(mutex_);
  raw_.c_cc[VSUSP] = _POSIX_VDISABLE;
  ::tcsetattr(in_fd_, TCSADRAIN, &raw_);
}

void interactive_terminal::drop_empty_lines() {
  std::lock_guard lock(mutex_);
  drop_empty_lines_ = true;
}

void interactive_terminal::set_line_stamp(std::function<std::string()> stamp) {
  std::lock_guard lock(mutex_);
  line_stamp_ = std::move(stamp);
}

}  // namespace relay::term
