// The terminal client: prompts (or --user and a scripted password source), sign-in/sign-up,
// then the chat loop. Network work runs on one io_context thread; an input thread reads lines
// (the interactive line editor on a terminal, line_reader otherwise) and posts them to it.
#include "relay/client/app.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <thread>

#include "relay/client/chat.hpp"
#include "relay/client/contacts.hpp"
#include "relay/client/data_dir.hpp"
#include "relay/client/display.hpp"
#include "relay/client/input.hpp"
#include "relay/client/lag_check.hpp"
#include "relay/client/link.hpp"
#include "relay/client/notice_limiter.hpp"
#include "relay/client/outbox.hpp"
#include "relay/client/ui.hpp"
#include "relay/crypto/device_proof.hpp"
#include "relay/crypto/key_file.hpp"
#include "relay/crypto/safety_number.hpp"
#include "relay/crypto/secret.hpp"
#include "relay/crypto/sodium.hpp"
#include "relay/proto/names.hpp"
#include "relay/term/terminal.hpp"
#include "relay/util/line_reader.hpp"

namespace relay::client {
namespace {

using term::interactive_terminal;
using term::interactive_terminal_available;

/// Longest input line handed over whole; longer ones arrive in pieces of this size (and are
/// refused: messages are at most crypto::max_text bytes).
constexpr std::size_t max_input_line = 65536;

/// A password held in guarded memory-friendly form: wiped when it goes out of scope.
struct password_text {
  std::string value;
  ~password_text() { forget(); }
  /// Wiped and emptied.
  void forget() {
    crypto::wipe(value);
    value.clear();
  }
};

// Terminal settings to put back if a signal ends us while echo is off.
termios saved_terminal{};
volatile std::sig_atomic_t echo_is_off = 0;

// Where the prompts go (status: standard error, or the terminal the editor uses).
int ask_again_fd = STDERR_FILENO;

extern "C" void restore_terminal_and_die(int sig) {
  if (echo_is_off) {  // async-signal-safe calls only
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
    // The cursor is after "password: ", where Enter never came: the shell's prompt (or
    // its "Quit") goes on a line of its own.
    [[maybe_unused]] const auto n = ::write(ask_again_fd, "\r\n", 2);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

termios quiet_terminal{};  // echo off: what a password is typed under

// What a Ctrl-Z handler writes after `fg`: the question again (prepared before the handler is
// installed, as a signal handler may only write).
char ask_again_text[512];
std::size_t ask_again_length = 0;

void prepare_ask_again(const ui& u, const std::string& question) {
  const std::string again = "(what was typed before Ctrl-Z is discarded)\n" + question;
  ask_again_length = std::min(again.size(), sizeof ask_again_text);
  std::memcpy(ask_again_text, again.data(), ask_again_length);
  ask_again_fd = u.status_fd();
}

// Ctrl-Z at a password prompt, as ssh and sudo do it: echo back on while stopped, and off
// again on `fg` (the shell would otherwise leave it on, and the rest of the password would
// show). What was typed before is discarded with the pending input, and the person is told.
extern "C" void stop_with_echo_restored(int) {
  const int saved_errno = errno;
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
  ::kill(::getpid(), SIGSTOP);  // here until `fg`
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet_terminal);
  [[maybe_unused]] const auto n = ::write(ask_again_fd, ask_again_text, ask_again_length);
  errno = saved_errno;
}

/// Ctrl-C, SIGTERM, SIGHUP and SIGQUIT put the terminal back before the process ends, and
/// Ctrl-Z puts it back while stopped, for as long as echo is off.
class echo_off_signals {
 public:
  void install() {
    if (installed_) return;
    struct sigaction act {};
    act.sa_handler = restore_terminal_and_die;
    sigemptyset(&act.sa_mask);
    for (std::size_t i = 0; i < ending.size(); ++i) ::sigaction(ending[i], &act, &old_[i]);
    struct sigaction stop {};
    stop.sa_handler = stop_with_echo_restored;
    sigemptyset(&stop.sa_mask);
    stop.sa_flags = SA_RESTART;  // the read goes on after `fg`
    ::sigaction(SIGTSTP, &stop, &old_tstp_);
    installed_ = true;
  }
  void remove() {
    if (!installed_) return;
    for (std::size_t i = 0; i < ending.size(); ++i) ::sigaction(ending[i], &old_[i], nullptr);
    ::sigaction(SIGTSTP, &old_tstp_, nullptr);
    installed_ = false;
  }

 private:
  static constexpr std::array<int, 4> ending{SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  std::array<struct sigaction, 4> old_{};
  struct sigaction old_tstp_ {};
  bool installed_ = false;
};

// From a typed password until the chat starts (or the next question), echo stays off: keys
// typed while the key is unlocked and the relay checks the password are most often the
// password once more, at a prompt that never came, and must not show in clear. They are
// dropped unseen by end_quiet, or discarded with the terminal put back on any way out, so
// they never reach the shell either.
echo_off_signals quiet_signals;
bool quiet_now = false;

/// Turns echo off (Enter too) on a terminal until end_quiet or put_terminal_back.
void start_quiet() {
  if (!quiet_now) {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_terminal) != 0) return;
    quiet_signals.install();
  }
  ask_again_length = 0;  // a Ctrl-Z now has no question to ask again
  quiet_terminal = saved_terminal;
  quiet_terminal.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL);
  echo_is_off = 1;
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet_terminal);  // what is typed stays, to be counted
  quiet_now = true;
}

/// Puts the terminal back as it was before start_quiet, discarding what was typed since.
void put_terminal_back() {
  if (!quiet_now) return;
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
  echo_is_off = 0;
  quiet_signals.remove();
  quiet_now = false;
}

/// Reads, wipes and drops what was typed and not yet read at the terminal, whose settings
/// are `now`; how many bytes. Counted with ICANON off for a moment: in canonical mode only
/// finished lines count.
int drop_pending_input(const termios& now) {
  termios counting = now;
  counting.c_lflag &= ~static_cast<tcflag_t>(ICANON);
  counting.c_cc[VMIN] = 0;  // reads below never wait
  counting.c_cc[VTIME] = 0;
  int typed = 0;
  if (::tcsetattr(STDIN_FILENO, TCSANOW, &counting) == 0) {
    if (::ioctl(STDIN_FILENO, FIONREAD, &typed) != 0) typed = 0;
    std::array<char, 256> buf;  // read, not only flushed, to wipe it: it may be a password
    while (::read(STDIN_FILENO, buf.data(), buf.size()) > 0) crypto::wipe(buf.data(), buf.size());
    ::tcsetattr(STDIN_FILENO, TCSANOW, &now);
  }
  return typed;
}

/// "(what was typed <when> was not kept: N bytes)", if anything was.
void say_dropped(ui& u, int typed, const char* when) {
  if (typed <= 0) return;
  u.info(std::string("(what was typed ") + when + " was not kept: " + std::to_string(typed) +
         (typed == 1 ? " byte)" : " bytes)"));
}

/// Ends the quiet before the chat starts or a question is asked: keys typed meanwhile are
/// read, wiped and dropped (they would otherwise be the first chat line, sent with Enter and
/// kept in history, or the answer to a question asked after them), and the person is told.
void end_quiet(ui& u) {
  if (!quiet_now) return;
  const int typed = drop_pending_input(quiet_terminal);
  put_terminal_back();
  say_dropped(u, typed, "while signing in");
}

/// Asks `prompt` and reads a line with terminal echo off (when stdin is a terminal). Ctrl-C,
/// SIGTERM or SIGHUP meanwhile still restore echo before the process ends. On a terminal,
/// echo stays off afterwards (start_quiet) until end_quiet.
std::optional<std::string> read_secret(ui& u, line_reader& in, const std::string& prompt) {
  end_quiet(u);
  const bool tty = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_terminal) == 0;
  if (tty) {
    // Typed before the prompt showed (a password typed at once after the name): echoed
    // already, and never taken as the password, so said.
    say_dropped(u, drop_pending_input(saved_terminal), "before the password prompt");
    prepare_ask_again(u, prompt);
    quiet_signals.install();
    quiet_terminal = saved_terminal;
    quiet_terminal.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet_terminal.c_lflag |= ECHONL;
    echo_is_off = 1;
    quiet_now = true;  // so any way out puts the terminal back
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet_terminal);
  }
  u.prompt(prompt);  // once echo is off: a password typed as soon as it shows stays hidden
  auto line = in.next();
  if (tty) start_quiet();
  return line;
}

// Ctrl-Z at a question answered in plain sight (trust the relay? user name? create the
// account?): on `fg` the question is asked again, as ssh's readpassphrase does, since the
// shell's own lines have pushed it out of view. What was typed before is discarded, as at the
// password prompt. The text is prepared before the handler is installed (async-signal-safe).

extern "C" void stop_then_ask_again(int) {
  const int saved_errno = errno;
  ::kill(::getpid(), SIGSTOP);  // here until `fg`
  ::tcflush(STDIN_FILENO, TCIFLUSH);
  [[maybe_unused]] const auto n = ::write(ask_again_fd, ask_again_text, ask_again_length);
  errno = saved_errno;
}

/// Asks `question` on the status stream and reads the answer; on a terminal, Ctrl-Z meanwhile
/// stops and asks again on `fg`.
std::optional<std::string> ask(ui& u, line_reader& in, const std::string& question) {
  end_quiet(u);
  if (!::isatty(STDIN_FILENO)) {
    u.prompt(question);
    return in.next();
  }
  prepare_ask_again(u, question);
  struct sigaction stop {
  }, old_tstp{};
  stop.sa_handler = stop_then_ask_again;
  sigemptyset(&stop.sa_mask);
  stop.sa_flags = SA_RESTART;  // the read goes on after `fg`
  ::sigaction(SIGTSTP, &stop, &old_tstp);
  u.prompt(question);  // after the handler: a Ctrl-Z once the question shows is ours
  auto line = in.next();
  ::sigaction(SIGTSTP, &old_tstp, nullptr);
  return line;
}

/// Takes RELAYCHAT_PASSWORD out of the environment (wiping the original bytes, which
/// /proc/PID/environ would otherwise still show), so child processes never inherit it.
std::optional<std::string> take_password_from_environment() {
  char* v = std::getenv("RELAYCHAT_PASSWORD");
  if (v == nullptr) return std::nullopt;
  std::string value(v);
  crypto::wipe(v, std::strlen(v));
  ::unsetenv("RELAYCHAT_PASSWORD");
  return value;
}

/// The first line of a password file (without "\n" or "\r\n"). Like ssh with private keys, a
/// file that group or others may access is refused: the password may already have leaked.
std::optional<std::string> read_password_file(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read the password file " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = "the password file " + path + " is not a regular file";
    return std::nullopt;
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    error = "permissions " + std::string(mode) + " for the password file " + path +
            " are too open: group and others must have no access (chmod 600 " + path + ")";
    return std::nullopt;
  }
  std::string content;
  char buf[512];
  ssize_t n = 0;
  while (content.size() <= proto::max_password + 2 && (n = ::read(fd, buf, sizeof buf)) > 0) {
    content.append(buf, static_cast<std::size_t>(n));
  }
  crypto::wipe(buf, sizeof buf);
  ::close(fd);
  std::string line = content.substr(0, content.find('\n'));
  crypto::wipe(content.data(), content.size());
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    error = "the password file " + path + " is empty (its first line is the password)";
    return std::nullopt;
  }
  return line;
}

struct sign_in_outcome {
  std::error_code link_error;            // set when the connection itself failed
  std::optional<proto::error> refused;   // set when the relay said no
  std::optional<proto::closing> closed;  // the relay closed on us
  std::string name;                      // set on welcome
};

/// A relay's host:port as a person reads it: an IPv6 address in brackets ("[::1]:20001"),
/// as the relay prints it. (Pins and directories keep the form without brackets.)
std::string shown_relay(const std::string& relay_id) {
  const auto colon = relay_id.rfind(':');
  if (colon == std::string::npos || relay_id.find(':') == colon) return relay_id;
  return "[" + relay_id.substr(0, colon) + "]" + relay_id.substr(colon);
}

/// The relay-key check for link::open: --relay-key, else the pin (pinning on first use). On a
/// mismatch it says so, sets `key_mismatch` and refuses, so nothing of ours is sent.
std::function<bool(const crypto::public_key&)> relay_key_check(ui& out_ui, const client_config& cfg,
                                                               const data_dir& dir,
                                                               const std::string& relay_id,
                                                               bool& key_mismatch) {
  return [&out_ui, &cfg, &dir, &relay_id, &key_mismatch](const crypto::public_key& k) {
    const std::string fp = crypto::fingerprint(k);
    if (cfg.relay_key) {
      const std::string want = crypto::typed_fingerprint(*cfg.relay_key);
      if (want != fp) {
        key_mismatch = true;
        out_ui.error("error: the relay's key fingerprint is " + fp + ", but --relay-key expects " +
                     want + ". Not signing in.");
        return false;
      }
      return true;
    }
    std::optional<crypto::public_key> pinned;
    try {
      pinned = dir.pinned_relay(relay_id);
    } catch (const std::exception& e) {
      out_ui.error(std::string("error: ") + e.what());
      key_mismatch = true;
      return false;
    }
    if (!pinned) {
      try {  // a data directory that cannot be written: said, and nothing of ours is sent
        dir.pin_relay(relay_id, k);
      } catch (const std::exception& e) {
        out_ui.error(std::string("error: cannot pin the relay's key: ") + e.what());
        key_mismatch = true;
        return false;
      }
      out_ui.info("* pinned the key of relay " + shown_relay(relay_id) + " (first use):\n  " + fp);
      return true;
    }
    if (*pinned != k) {
      key_mismatch = true;
      // In the form of a contact's key warning ("!" down the left, prose wrapped to the
      // terminal): ssh's banner of @ signs was cut to pieces on a narrow one (review 13).
      out_ui.warning(
          "!!! WARNING: THE RELAY'S IDENTIFICATION HAS CHANGED! !!!\n"
          "!   Someone could be impersonating relay " +
          shown_relay(relay_id) +
          ", or its operator replaced its key.\n"
          "!   pinned key:\n!     " +
          crypto::fingerprint(*pinned) + "\n!   key presented:\n!     " + fp +
          "\n!   Nothing was sent: no password, no key. If the change is legitimate "
          "(ask the operator for the fingerprint shown by the relay's `key` "
          "command), remove the line for " +
          relay_id + " from\n!     " + dir.known_relays_path().string() +
          "\n!   and connect again.");
      return false;
    }
    return true;
  };
}

/// Connects (unless `l` is open already) with the relay-key check, sends the credentials and
/// awaits the answer. A sign-in made with `device`'s identity key carries the proof that this
/// device holds it: an account under attack still lets it in (protocol.md 5.2.1).
/// The least time a sign-in's answer is waited for, whatever --relay-timeout says: a relay
/// hashing many sign-ins at once may take a few seconds (it closes at its --auth-timeout).
constexpr std::chrono::seconds sign_in_answer_floor{5};

awaitable<sign_in_outcome> attempt(ui& out_ui, link& l, const client_config& cfg,
                                   const data_dir& dir, const std::string& relay_id,
                                   bool& key_mismatch, proto::frame credentials,
                                   const crypto::key_pair* device = nullptr) {
  sign_in_outcome out;
  if (!l.is_open()) {
    auto opened = co_await l.open(cfg.host, cfg.port,
                                  relay_key_check(out_ui, cfg, dir, relay_id, key_mismatch));
    if (!opened) {
      out.link_error = opened.error();
      co_return out;
    }
  }
  if (auto* in = std::get_if<proto::sign_in>(&credentials); in && device) {
    in->device_proof = crypto::device_proof(*device, l.relay_key(), l.handshake_hash());
  }
  l.send(credentials);
  proto::for_each_password(credentials, [](std::string& s) { crypto::wipe(s); });
  // A relay that finished the handshake but never answers would leave the person looking at
  // a blank line: after --relay-timeout the link is closed and the answer reported missing.
  const auto answer_wait = std::max(cfg.relay_timeout, sign_in_answer_floor);
  const char* what_was_asked =
      std::holds_alternative<proto::sign_up>(credentials) ? "sign-up" : "sign-in";
  net::steady_timer answer_deadline(co_await net::this_coro::executor, answer_wait);
  bool no_answer = false;
  const std::string asked = std::visit(
      [](const auto& v) -> std::string {
        if constexpr (requires { v.name; }) return v.name;
        return {};
      },
      credentials);
  answer_deadline.async_wait(
      [&l, &no_answer, answer_wait, what_was_asked](boost::system::error_code ec) {
        if (ec) return;
        no_answer = true;
        // Where it stopped, as for a handshake not answered (review 16).
        l.fail_protocol("it finished the secure handshake but did not answer the " +
                        std::string(what_was_asked) + " in " + std::to_string(answer_wait.count()) +
                        " s: a wedged or overloaded relay");
      });
  while (true) {
    auto f = co_await l.receive();
    if (!f) {
      out.link_error = no_answer ? make_error_code(link_errc::timeout) : f.error();
      co_return out;
    }
    if (auto* w = std::get_if<proto::welcome>(&*f)) {
      // The relay welcomes the name we gave (protocol.md 5.7): another is a relay to leave.
      if (w->name != asked) {
        l.fail_protocol("it welcomed this client as \"" + printable(w->name) + "\", not \"" +
                        asked + "\"");
        out.link_error = link_errc::protocol;
        co_return out;
      }
      out.name = w->name;
      co_return out;
    }
    if (auto* e = std::get_if<proto::error>(&*f)) {
      out.refused = *e;
      co_return out;
    }
    if (auto* c = std::get_if<proto::closing>(&*f)) {
      out.closed = *c;
      co_return out;
    }
    // Anything else before welcome (e.g. ping) is ignored.
  }
}

template <class T>
T run_until_done(net::io_context& io, awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  // Stop as soon as the task is done: the link's write loop keeps the context busy.
  net::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) result = std::move(v);
    io.stop();
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

/// How long lines typed during an outage wait for a recipient who is not back yet when we
/// are: the relay's other users reconnect after pauses of up to 30 s (jittered) too.
constexpr std::chrono::seconds outage_grace{120};

/// The token of the client's own liveness pings (lag_check); /quit's pings count from 1.
constexpr std::uint64_t lag_token = std::uint64_t{1} << 63;
/// Pings that confirm sends (tokens from here up): TCP keeps order, so their pong says the
/// relay has handled every message sent before them.
constexpr std::uint64_t ack_token_base = std::uint64_t{1} << 62;
/// New contacts of a roster snapshot, joins and leaves shown each on its own line; more are
/// summed up in one, naming them all up to joins_named (joins and leaves), else the first
/// one_by_one.
constexpr std::size_t one_by_one = 5;
constexpr std::size_t joins_named = 8;
/// Roster rounds closer than this to the one before are said together once they pause, and
/// at least this often while they do not.
constexpr std::chrono::milliseconds roster_settle{300};
// An /accept this soon after a contact's key changed, when it had changed before in this
// run, is refused: the warning read may have been the earlier one's.
constexpr std::chrono::seconds accept_settle{3};
constexpr std::chrono::seconds roster_settle_at_most{3};
/// Messages from one sender that cannot be read, shown one by one per window; more are
/// counted and summed up when it ends.
constexpr std::size_t rejections_shown = 3;
constexpr std::chrono::minutes rejection_window{1};
/// After our bye is written, how long we wait for the relay to send what it had queued for
/// us and close (protocol.md 7.6).
constexpr std::chrono::seconds quit_linger{2};
/// How often the client makes a new session key (protocol.md 8.5).
constexpr std::chrono::hours session_renewal{1};

/// A contact whose announced key differs from the one pinned.
struct changed_key {
  std::string name;
  crypto::public_key pinned{}, announced{};
  bool verified = false;  ///< the pinned key was verified
};

/// The warning for one changed key: loud, both fingerprints, what it may mean, what to do.
std::string changed_key_text(const changed_key& k) {
  const std::string& name = k.name;
  // A long name would wrap the first line, leaving "!!!" alone on a row (review 11).
  const std::string head =
      name.size() <= 16 ? "!!! WARNING: " + name + "'s identity key has CHANGED !!!\n"
                        : "!!! WARNING: the identity key of\n!   " + name + " has CHANGED !!!\n";
  return head + "!   pinned key:    " + crypto::short_fingerprint(k.pinned) +
         (k.verified ? "  (verified)" : "") + "\n" +
         "!   announced key: " + crypto::short_fingerprint(k.announced) + "\n" + "!   " + name +
         " may have a new device, or someone (the relay?)\n" + "!   is impersonating " + name +
         ". Messages to " + name + " are held until you\n" +
         (k.verified
              ? "!   compare safety numbers again: /verify " + name
              : "!   /accept " + name + " (or compare safety numbers: /verify " + name + ")");
}

/// Now, in microseconds since the epoch: when a line was typed (chat::seal_to).
std::uint64_t micros_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

/// A line typed for someone that waits to go, with when it was typed: the message carries
/// that time, so a receiver can tell a message that waited from one written just now.
struct typed_text {
  std::string text;
  std::uint64_t written_us = 0;
};

/// N from a rate_limited text "...; retry in N s" (protocol.md 5.2), if it has one.
std::optional<int> retry_after_seconds(std::string_view text) {
  static constexpr std::string_view marker = "retry in ";
  const auto at = text.rfind(marker);
  if (at == std::string_view::npos) return std::nullopt;
  int n = 0;
  const char* first = text.data() + at + marker.size();
  const auto [end, ec] = std::from_chars(first, text.data() + text.size(), n);
  const std::string_view after = text.substr(static_cast<std::size_t>(end - text.data()));
  if (ec != std::errc() || end == first || n < 0 || !after.starts_with(" s")) return std::nullopt;
  return n;
}

/// Says goodbye on `l` and closes it once the goodbye is written, so the relay logs a
/// goodbye rather than a dropped connection.
void close_politely(net::io_context& io, const std::shared_ptr<link>& l) {
  l->send(proto::bye{});
  run_until_done(io, [](std::shared_ptr<link> old) -> awaitable<bool> {
    co_await old->flush();
    old->close();
    co_return true;
  }(l));
}

/// While the relay answers `busy` "...; retry in a moment" (protocol.md 5.2 step 3: a crowd
/// signing in, or many at once from this address), sends the request again on a new
/// connection after about 1, 2, 4 and 8 s (jittered), then takes the answer as it is.
/// `again` makes the attempt; `outcome` and `l` are the last ones.
template <class Again>
void retry_while_busy(ui& u, net::io_context& io, std::shared_ptr<link>& l,
                      sign_in_outcome& outcome, Again&& again) {
  for (int tries = 0;
       tries < 4 && outcome.refused && outcome.refused->code == proto::reason::busy &&
       outcome.refused->text.ends_with("retry in a moment");
       ++tries) {
    const long pause = 1000L << tries;
    const long jitter = pause / 5;
    const auto wait = std::chrono::milliseconds(
        pause + static_cast<long>(randombytes_uniform(static_cast<std::uint32_t>(2 * jitter + 1))) -
        jitter);
    u.info("* the relay is busy (" + printable(outcome.refused->text) + "); trying again in " +
           std::to_string((wait.count() + 500) / 1000) + " s");
    close_politely(io, l);
    std::this_thread::sleep_for(wait);
    l = std::make_shared<link>(io);
    outcome = again();
  }
}

/// Says why the link to the relay failed; the exit code for it.
int report_link_failure(ui& u, std::error_code ec, const link& l, const std::string& relay_id) {
  const std::string because = ec == link_errc::unreachable && !l.unreachable_because().empty()
                                  ? ": " + l.unreachable_because()
                                  : "";
  const std::string fault = (ec == link_errc::protocol || ec == link_errc::handshake_failed ||
                             ec == link_errc::timeout) &&
                                    !l.protocol_fault().empty()
                                ? ": " + l.protocol_fault()
                                : "";
  u.error("error: " + ec.message() + " (" + shown_relay(relay_id) + ")" + because + fault);
  return ec == link_errc::closed || ec == link_errc::protocol ? exit_failure : exit_unreachable;
}

/// The first contact with a relay from a terminal, as ssh does it: a connection that stops
/// after handshake message 2 (nothing of ours is sent) learns the relay's key, and the person
/// decides whether to trust it before typing a name or password. Returns exit_ok once the key
/// is pinned, otherwise the exit code (the reason is already shown).
int confirm_new_relay(ui& u, line_reader& in, net::io_context& io, const client_config& cfg,
                      const data_dir& dir, const std::string& relay_id) {
  auto probe = std::make_shared<link>(io);
  std::optional<crypto::public_key> offered;
  auto opened =
      run_until_done(io, probe->open(cfg.host, cfg.port, [&](const crypto::public_key& k) {
        offered = k;
        return false;  // stop before message 3, whatever the answer will be
      }));
  probe->close();
  if (!offered) return report_link_failure(u, opened.error(), *probe, relay_id);
  const std::string fp = crypto::fingerprint(*offered);
  // As ssh says "This host key is known by the following other names": the same relay under
  // another spelling of its address (localhost, 127.0.0.1, a DNS name) is worth knowing.
  std::vector<std::string> known_as;
  try {
    for (const auto& pin : dir.relay_pins()) {
      if (pin.key == *offered && pin.relay != relay_id &&
          std::find(known_as.begin(), known_as.end(), pin.relay) == known_as.end())
        known_as.push_back(shown_relay(pin.relay));
    }
  } catch (const std::exception&) {
    // A damaged file: nothing known (the key check after this refuses it, saying why).
  }
  // Prose in one line each, wrapped to the terminal (a line broken for 80 columns left
  // one-word rows on a narrow one); the fingerprint on a row of its own.
  u.info("* relay " + shown_relay(relay_id) + " is new to this device. Its key fingerprint is\n  " +
         fp +
         (known_as.empty()
              ? "\n  Compare it with the one its operator gives you (the relay prints it when it "
                "starts, and on its `key` command)."
              : "\n  This key is already pinned here for relay " +
                    some_names(known_as, known_as.size()) +
                    ": the same relay under another address, if you expected that."));
  std::string question = "Trust this relay and pin its key? [yes/no/fingerprint] ";
  while (true) {
    auto answer = ask(u, in, question);
    if (!answer) u.prompt("\n");  // Ctrl-D: what follows starts on a line of its own
    std::string a = answer ? crypto::typed_fingerprint(*answer) : "no";
    if (a == "yes" || a == fp) break;
    if (a == "no" || a == "n") {
      u.error("not trusted: nothing was sent to relay " + shown_relay(relay_id) +
              " (or give its key with --relay-key)");
      return exit_key_mismatch;
    }
    if (crypto::is_fingerprint(a)) {
      u.error(
          "the fingerprint you typed is not this relay's: not trusting it.\n"
          "relay's:\n  " +
          fp + "\nyours:\n  " + a + "\nNothing was sent to relay " + shown_relay(relay_id) + ".");
      return exit_key_mismatch;
    }
    // Hex digits, but not 64 of them: a fingerprint copied in part (ssh asks for it whole).
    if (!a.empty() && a.size() < 64 &&
        a.find_first_not_of("0123456789abcdef") == std::string::npos) {
      u.error(fp.find(a) == std::string::npos
                  ? "that is not part of this relay's fingerprint (" + std::to_string(a.size()) +
                        " hex digits, and a fingerprint is 64): compare it again"
                  : "that is part of a fingerprint (" + std::to_string(a.size()) +
                        " of its 64 hex digits): type all of it, or yes after comparing it");
    }
    question = "Please type 'yes', 'no' or the fingerprint: ";
  }
  try {
    dir.pin_relay(relay_id, *offered);
  } catch (const std::exception& e) {
    u.error(std::string("error: ") + e.what());
    return exit_failure;
  }
  u.info("* pinned the key of relay " + shown_relay(relay_id) +
         "\n  (from now on only this key is accepted)");
  return exit_ok;
}

/// A new connection to the relay, signed in again, or why not.
struct relink_result {
  std::shared_ptr<link> l;       // set on success
  bool give_up = false;          // trying again cannot help: refused, or the relay's key changed
  int exit_code = exit_failure;  // when giving up
  std::string why;               // what went wrong, for the person (empty: already said)
  std::chrono::seconds retry_after{0};  // the relay asked to wait this long (rate_limited)
  bool refused_credentials = false;     // given up on invalid_credentials
};
using relink_fn = std::function<awaitable<relink_result>()>;

/// How the chat phase talks to the person or program at the other end.
struct chat_io {
  ui& out;
  line_reader& lines;
  bool use_editor = false;                 // stdin and stdout are a capable terminal
  render_options terminal_opts{};          // for output through the editor
  std::string prompt;                      // the editor's prompt
  std::chrono::seconds relay_timeout{60};  // --relay-timeout
  bool new_device = false;  // this device's key was made now: a last_key only repeats that
  /// The relay changed the password to `fresh`: this device's key is sealed with it, and
  /// signing in again uses it. Returns what went wrong ("" if nothing).
  std::function<std::string(const std::string& fresh)> password_changed{};
  /// The connection was lost before the relay answered a change to `fresh`: signing in
  /// again tries it after the old password.
  std::function<void(const std::string& fresh)> password_maybe_changed{};
  /// The relay deleted the account: this device's key for it goes. Says what was done.
  std::function<std::string()> account_deleted{};
};

/// What /password or /delete-account asks of the relay, read without being shown.
struct account_request {
  std::string password;              ///< the current one
  std::optional<std::string> fresh;  ///< set: change to it; unset: delete the account
  account_request() = default;
  account_request(account_request&&) = default;
  account_request& operator=(account_request&&) = default;
  ~account_request() {
    crypto::wipe(password);
    if (fresh) crypto::wipe(*fresh);
  }
};

/// Reads what /password (three passwords) or /delete-account (one) needs, hidden, on the
/// input thread: nothing typed is shown or kept in history. `say` reports a refusal (the
/// request is then nullopt); the rules are checked here, before anything is sent. `stop`
/// ends a prompt; once `ended`, what is typed at one is dropped and no more are asked.
std::optional<account_request> read_account_request(interactive_terminal& term, bool deleting,
                                                    const std::string& me,
                                                    const std::atomic<bool>* stop,
                                                    const std::atomic<bool>& ended,
                                                    const std::function<void(std::string)>& say) {
  account_request r;
  auto read = [&](const std::string& prompt, std::string& into) {
    auto got = term.next_hidden_line(prompt, stop);
    if (got && ended) crypto::wipe(*got);  // the chat is over
    if (!got || ended) return false;
    into = *got;
    crypto::wipe(*got);
    return true;
  };
  // What is asked is said in a line of its own, which wraps as chat lines do: the prompts
  // stay short enough for any row (a hidden line's prompt is cut to fit, never wrapped).
  if (deleting) {
    say("* to delete the account " + me + " for good, type its password (Ctrl-C keeps it)");
    if (!read("password: ", r.password)) {
      say("* nothing deleted");
      return std::nullopt;
    }
    if (r.password.empty()) {
      say("* no password typed: nothing deleted");
      return std::nullopt;
    }
    return r;
  }
  say("* to change the password of " + me + ", type the current one, then the new one twice " +
      "(Ctrl-C cancels)");
  if (!read("current password: ", r.password) || r.password.empty()) {
    say("* password not changed");
    return std::nullopt;
  }
  account_request fresh;  // its `password` field holds the new one, wiped as r is
  if (!read("new password: ", fresh.password)) {
    say("* password not changed");
    return std::nullopt;
  }
  if (!proto::acceptable_password(fresh.password)) {
    say("! passwords must be 8 to 255 bytes long: password not changed");
    return std::nullopt;
  }
  account_request again;
  if (!read("new password again: ", again.password)) {
    say("* password not changed");
    return std::nullopt;
  }
  if (again.password != fresh.password) {
    say("! the two new passwords differ: password not changed");
    return std::nullopt;
  }
  if (fresh.password == r.password) {
    say("! the new password is the one typed as the current one: nothing sent");
    return std::nullopt;
  }
  r.fresh = fresh.password;
  return r;
}

/// The chat phase: prints what arrives, sends what is typed. Returns the exit code.
int chat_loop(net::io_context& io, std::shared_ptr<link> first, chat& c, chat_io& cio,
              contact_book& book, const std::function<void()>& save_book,
              const std::function<void()>& save_seen, const std::function<void()>& save_sent,
              const relink_fn& relink) {
  ui& u = cio.out;
  std::shared_ptr<link> lp = std::move(first);
  bool connected = true;   // false while reconnecting
  bool told_away = false;  // that lines typed now wait for the relay
  net::steady_timer retry_timer(io);
  std::atomic<bool> stop{false};
  // For the input thread: signed in and the roster read (a /password can go now); a password
  // prompt is open; a signal came, which ends even that.
  std::atomic<bool> chat_ready{false}, hidden_prompt_up{false}, hidden_abort{false};
  std::atomic<bool> relay_away{false};  // the connection is lost and being made again
  int code = exit_ok;
  // A line refused or a message not sent (or not confirmed), each already named: a script
  // learns of it from the exit code too (exit_not_all_sent).
  bool something_unsent = false;
  std::uint32_t next_id = 1;
  bool snapshot_done = false;
  // Contacts first seen in the roster snapshot being read, and whether the book changed in
  // the presence frame being read: a first sign-in to a relay with thousands online pins
  // them all, and a line (and a save of the file) for each took minutes.
  std::vector<std::pair<std::string, crypto::public_key>> snapshot_new_contacts;
  std::vector<changed_key> snapshot_changed_keys;  // likewise for keys that changed
  // Keys that changed in the live roster round being read: said at its end, together if
  // many (a review saw seven six-line warnings for one round).
  std::vector<changed_key> round_changed_keys;
  bool book_changed = false;
  // Lines that arrived before the roster snapshot: handled once it is complete, so a script
  // that sends at once does not hear "bob is not online" only because the snapshot was late.
  std::deque<typed_text> early;
  // Contacts whose announced key differs from the pin (with the key they were warned about),
  // and what is waiting for them.
  std::map<std::string, crypto::public_key> untrusted;
  // Key changes warned of this run, per contact: an /accept typed just after a change that
  // followed another may answer the earlier warning (reviews 10 and 11).
  struct key_warnings {
    int count = 0;
    std::chrono::steady_clock::time_point last{};
  };
  std::map<std::string, key_warnings> warned;
  std::map<std::string, std::vector<typed_text>> held;
  // The key whose safety number /verify NAME last showed: "/verify NAME confirm" verifies
  // that key only, never one that replaced it while the person was comparing.
  std::map<std::string, crypto::public_key> shown_numbers;
  // Lines typed while the relay was away, for someone not back yet when we are: the others
  // are reconnecting too, so they wait for them (a while), instead of being refused.
  std::map<std::string, std::vector<typed_text>> awaiting;
  std::uint64_t typed_at = 0;         // when the line on_line handles was typed (0: now)
  bool after_outage = false;          // the next roster snapshot follows a reconnect
  bool sending_outage_lines = false;  // on_line is handling lines typed during the outage
  net::steady_timer awaiting_timer(io);
  std::optional<interactive_terminal> term;

  auto online_entries = [&](bool with_trust) {
    roster_listing r;
    r.who = with_trust;
    // /who lists yourself first, as IRC's NAMES does: your own key, to read out when comparing.
    if (with_trust) r.online.push_back({c.me(), key_text::of(c.identity().pub()), "you"});
    for (const auto& [name, key] : c.online()) {
      online_entry e{name, key_text::of(key), {}};
      if (with_trust) {
        const contact* k = book.find(name);
        e.trust = untrusted.count(name) ? "KEY CHANGED"
                  : (k && k->verified)  ? "verified"
                                        : "unverified";
      }
      r.online.push_back(std::move(e));
    }
    return r;
  };
  auto update_candidates = [&] {
    if (!term) return;
    std::vector<std::string> names;
    for (const auto& [name, key] : c.online()) names.push_back(name);
    term->set_candidates(std::move(names));
  };
  // Sends go through the outbox, at a pace the relay takes (outbox.hpp): a script's burst
  // or a paste of many lines is sent whole and in order instead of losing its tail.
  outbox out_box({}, outbox::clock::now());
  net::steady_timer pace_timer(io);
  bool pace_armed = false;
  bool told_waiting = false;
  // After /quit (or end of input) with messages still waiting or not yet known to be taken:
  // they go first, then a ping, whose pong says the relay has handled them all (a refusal
  // would have come before it). A relay that does not answer within 5 s is left anyway.
  bool draining = false;
  // /quit was typed (or input ended): what is typed after it is not sent, or the drain's
  // pong would confirm it unseen, and a script's lines after its /quit are never read.
  bool leaving = false;
  // Piped input has ended (a script's lines, all read): what it left waiting is still sent
  // if the relay comes back within outage_grace, as the script cannot type it again.
  bool input_ended = false;
  bool drain_gave_up = false;         // the relay did not answer the drain's ping in time
  bool saying_goodbye = false;        // bye sent: only messages still coming in are taken
  net::steady_timer quit_timer(io);   // a relay that does not close after our bye is left
  std::uint64_t drain_ping = 0;       // the token of the last drain ping
  std::uint64_t drain_first = 0;      // this round's first: a pong to any of the round's answers
  bool drain_noted = false;           // this round said that the relay is slow to confirm
  net::steady_timer drain_timer(io);  // the round's deadline
  net::steady_timer drain_retry_timer(io);  // an unanswered drain ping is sent again
  // Messages handed to the relay and not yet confirmed by a pong to a ping sent after them.
  // A connection that ends first leaves their fate unknown (a relay that stopped, or died
  // with them unread): they are named, never lost without a word.
  struct in_flight {
    std::uint64_t seq;
    std::uint32_t id;
    std::string to;
    std::string text;
  };
  std::deque<in_flight> unacked;
  std::uint64_t sent_seq = 0;
  std::map<std::uint64_t, std::uint64_t> ack_pings;  // token -> sent_seq when it was sent
  std::uint64_t next_ack_token = ack_token_base;
  bool ack_armed = false;
  net::steady_timer ack_timer(io);
  // The relay answers pings only within its message rate (protocol.md 5.5): one it left
  // unanswered (a relay set stricter than our pace) is asked again, less often each time.
  net::steady_timer ack_retry_timer(io);
  constexpr auto first_ack_retry = std::chrono::seconds(1);
  std::chrono::steady_clock::duration ack_retry_after = first_ack_retry;
  std::function<void(std::chrono::steady_clock::duration)> arm_ack =
      [&](std::chrono::steady_clock::duration delay) {
        if (ack_armed) return;
        ack_armed = true;  // one ping for a burst of sends
        ack_timer.expires_after(delay);
        ack_timer.async_wait([&](boost::system::error_code ec) {
          ack_armed = false;
          if (ec || stop || !connected || unacked.empty()) return;
          const auto now = outbox::clock::now();
          if (!out_box.take_for_ping(now)) {  // it would find the relay's bucket empty
            arm_ack(out_box.until_token(now));
            return;
          }
          const std::uint64_t token = next_ack_token++;
          ack_pings[token] = sent_seq;
          lp->send(proto::ping{token});
          ack_retry_timer.expires_after(ack_retry_after);
          ack_retry_timer.async_wait([&, token](boost::system::error_code ec2) {
            if (ec2 || stop || !connected || !ack_pings.contains(token)) return;
            ack_retry_after = std::min<std::chrono::steady_clock::duration>(
                2 * ack_retry_after, std::chrono::seconds(30));
            arm_ack(std::chrono::steady_clock::duration::zero());
          });
        });
      };
  auto confirm_sends = [&](std::uint64_t token) {
    const auto it = ack_pings.find(token);
    if (it == ack_pings.end()) return;
    const std::uint64_t upto = it->second;
    ack_pings.erase(ack_pings.begin(), std::next(it));
    ack_retry_after = first_ack_retry;
    while (!unacked.empty() && unacked.front().seq <= upto) unacked.pop_front();
  };
  auto forget_send = [&](std::uint32_t id) {  // refused: the refusal said what became of it
    std::erase_if(unacked, [id](const in_flight& m) { return m.id == id; });
  };
  auto report_unconfirmed = [&] {
    if (!unacked.empty()) something_unsent = true;
    for (const auto& m : unacked) {
      u.warning("! " + m.to + " may not have got this (the connection ended before the relay " +
                "confirmed it): " + excerpt(m.text));
    }
    unacked.clear();
    ack_pings.clear();
  };
  std::function<void(const std::string&)> on_line;
  // One drain ping, when the pace lets the relay answer it; asked again each second without
  // a pong, as the relay leaves a ping past its rate unanswered (protocol.md 5.5).
  std::function<void()> drain_ping_now = [&] {
    if (!draining || stop || !connected) return;
    const auto now = outbox::clock::now();
    if (!out_box.take_for_ping(now)) {
      drain_retry_timer.expires_after(out_box.until_token(now));
      drain_retry_timer.async_wait([&](boost::system::error_code ec) {
        if (!ec) drain_ping_now();
      });
      return;
    }
    lp->send(proto::ping{++drain_ping});
    drain_retry_timer.expires_after(std::chrono::seconds(1));
    drain_retry_timer.async_wait([&](boost::system::error_code ec) {
      if (ec || !draining) return;
      // Normally answered in milliseconds; a relay that takes a second is worth a word, or
      // the person sees nothing happen after /quit.
      if (!std::exchange(drain_noted, true)) {
        u.info(
            "* waiting for the relay to confirm what you sent before leaving (/quit again or "
            "Ctrl-C leaves now)");
      }
      drain_ping_now();
    });
  };
  auto send_drain_ping = [&] {  // a round: its pings, until a pong or its deadline
    drain_first = drain_ping + 1;
    drain_noted = false;
    drain_ping_now();
    drain_timer.expires_after(std::chrono::seconds(5));
    drain_timer.async_wait([&, first = drain_first](boost::system::error_code ec) {
      if (ec || !draining || first != drain_first) return;
      draining = false;
      drain_gave_up = true;  // what is unconfirmed is named on leaving
      drain_retry_timer.cancel();
      on_line("/quit");
    });
  };
  // A message for someone not back yet after the relay was away waits for them (they
  // reconnect after a pause of their own), outage_grace at most, then is named as not sent.
  std::function<void(const std::string&, const typed_text&)> await_return;
  std::optional<std::chrono::steady_clock::time_point> reconnected_at;
  std::function<void()> pump = [&] {
    // Away from the relay, or before its roster is known again, they wait.
    if (!connected || !snapshot_done) return;
    const auto now = outbox::clock::now();
    while (!stop) {
      auto m = out_box.next(now);
      if (!m) break;
      if (m->key_notice) {
        // Nothing typed: one that cannot go (they left) is not worth a word.
        auto notice = c.seal_key_notice(m->to);
        if (!notice) continue;
        const std::uint32_t id = next_id++;
        lp->send(proto::send{id, m->to, std::move(*notice)});
        out_box.sent(id, std::move(*m));
        save_sent();
        continue;
      }
      auto sealed = c.seal_to(m->to, m->text, m->written_us);
      if (!sealed && sealed.error() == chat_errc::not_online && reconnected_at &&
          std::chrono::steady_clock::now() - *reconnected_at < outage_grace) {
        await_return(m->to, {m->text, m->written_us});
        for (const auto& rest : out_box.take_all_to(m->to)) {
          if (!rest.key_notice) await_return(rest.to, {rest.text, rest.written_us});
        }
        continue;
      }
      if (!sealed) {
        // The recipient left (or cannot be sealed to): neither can the rest queued for them.
        // Worded as the relay words a send it refuses ("bob is not online: ...").
        const std::string why =
            sealed.error() == chat_errc::not_online
                ? m->to + " is not online"
                : "not sent to " + m->to + " (" + sealed.error().message() + ")";
        u.error("! " + why + ": " + excerpt(m->text));
        for (const auto& rest : out_box.take_all_to(m->to)) {
          if (!rest.key_notice) u.error("! " + why + ": " + excerpt(rest.text));
        }
        something_unsent = true;
        continue;
      }
      const std::uint32_t id = next_id++;
      lp->send(proto::send{id, m->to, std::move(*sealed)});
      save_sent();
      unacked.push_back({++sent_seq, id, m->to, m->text});
      arm_ack(std::chrono::milliseconds(200));
      out_box.sent(id, std::move(*m));
    }
    if (stop) return;
    // Leaving, a key notice is not worth waiting for: the peer is about to lose our key.
    if (out_box.waiting() == 0 || (draining && out_box.waiting_messages() == 0)) {
      told_waiting = false;
      if (draining && awaiting.empty()) send_drain_ping();  // else once they are back or not
      return;
    }
    if (!told_waiting && out_box.waiting_messages() > 0) {
      told_waiting = true;
      // Once per backlog (lines of a paste come one by one: a count would be the first's).
      u.info("* more messages than the relay takes at once: they wait and go in order");
    }
    if (!pace_armed) {
      pace_armed = true;
      pace_timer.expires_after(out_box.wait(now).value_or(outbox::clock::duration::zero()));
      pace_timer.async_wait([&](boost::system::error_code ec) {
        pace_armed = false;
        if (!ec) pump();
      });
    }
  };
  auto transmit = [&](const std::string& to, const typed_text& t) {
    out_box.add(to, t.text, t.written_us);
    pump();
  };
  await_return = [&](const std::string& to, const typed_text& typed) {
    auto& waiting = awaiting[to];
    waiting.push_back(typed);
    if (waiting.size() == 1) {
      // "Back" only for someone seen here before: a name never seen (a typo?) is said so.
      const bool known = book.find(to) != nullptr;
      u.info("* " + to +
             (known ? " is not back yet" : " is not online (nobody of that name was seen here)") +
             ": what you wrote to " + to + " waits for them (" +
             std::to_string(outage_grace.count()) + " s at most)");
    }
    if (awaiting.size() == 1 && waiting.size() == 1) {
      awaiting_timer.expires_after(outage_grace);
      awaiting_timer.async_wait([&](boost::system::error_code ec) {
        if (ec) return;
        for (const auto& [name, texts] : awaiting) {
          for (const auto& t : texts) {
            u.warning("! " + name +
                      (book.find(name) ? " did not come back" : " did not come online") +
                      ": not sent: " + excerpt(t.text));
            something_unsent = true;
          }
        }
        awaiting.clear();
        if (draining) pump();  // leaving once the rest is confirmed
      });
    }
  };
  auto release_held = [&](const std::string& name) {
    auto it = held.find(name);
    if (it == held.end()) return;
    auto texts = std::move(it->second);
    held.erase(it);
    if (!c.is_online(name)) {
      held[name] = std::move(texts);  // keep them until name is back
      return;
    }
    u.info("* sending " + std::to_string(texts.size()) + " held message(s) to " + name);
    for (const auto& t : texts) transmit(name, t);
  };
  // Someone we had lines for is back: they go now, or are held if the key changed.
  auto release_awaiting = [&](const std::string& name) {
    auto it = awaiting.find(name);
    if (it == awaiting.end()) return;
    auto texts = std::move(it->second);
    awaiting.erase(it);
    if (awaiting.empty()) awaiting_timer.cancel();
    if (untrusted.count(name)) {
      auto& h = held[name];
      h.insert(h.end(), texts.begin(), texts.end());
      u.warning("! " + std::to_string(texts.size()) + " waiting message(s) to " + name +
                " are held: the key changed");
      return;
    }
    u.info("* " + name + " is back: sending " + std::to_string(texts.size()) +
           " waiting message(s)");
    for (const auto& t : texts) transmit(name, t);
  };
  auto new_contact_text = [](const std::string& name, const crypto::public_key& key) {
    return "* new contact " + name + ": key " + crypto::short_fingerprint(key) +
           "\n  (pinned; compare safety numbers with /verify " + name + ")";
  };
  // The new contacts of a roster snapshot: one by one when there are a few (a person may
  // compare each), in one line when the relay has many online.
  auto show_new_contacts =
      [&](const std::vector<std::pair<std::string, crypto::public_key>>& fresh) {
        if (fresh.size() <= one_by_one) {
          for (const auto& [name, key] : fresh) u.info(new_contact_text(name, key));
          return;
        }
        std::vector<std::string> names;
        for (const auto& f : fresh) names.push_back(f.first);
        std::sort(names.begin(), names.end());  // in the order of the online line below
        u.info("* " + std::to_string(fresh.size()) +
               " new contacts pinned: " + some_names(names, one_by_one) +
               "\n  (/who lists their keys; compare safety numbers with /verify NAME)");
      };
  // Joins and leaves. A round with many (a relay restarting, a busy hour) is said in a line
  // each way, as weechat's smart filter spares its users; rounds that follow each other
  // closely (the relay sends one per --roster-interval) are said together once they pause.
  // Programs (--json) get every one, at once. Key changes and lookalikes are said apart.
  struct roster_line {
    bool joined = false;
    std::string name;
    crypto::public_key key{};
    bool first_sight = false;
  };
  std::vector<roster_line> roster_pending;
  std::chrono::steady_clock::time_point last_round{}, pending_since{};
  net::steady_timer roster_timer(io);
  // A join on a changed key not accepted yet says so (review 14: after a reconnect it read as
  // any other join, though sends to them were held).
  auto not_accepted = [&](const std::string& name, const crypto::public_key& key) {
    const auto it = untrusted.find(name);
    return it != untrusted.end() && it->second == key;
  };
  auto show_roster_lines = [&](const std::vector<roster_line>& lines) {
    std::size_t joins = 0, leaves = 0;
    for (const auto& l : lines) ++(l.joined ? joins : leaves);
    if (u.json() || (joins <= one_by_one && leaves <= one_by_one)) {
      for (const auto& l : lines) {
        if (l.joined) {
          u.show(
              join_event{l.name, key_text::of(l.key), l.first_sight, not_accepted(l.name, l.key)});
        } else {
          u.show(leave_event{l.name});
        }
      }
      return;
    }
    // Many: said by what became of each name, so that one who left and came back within
    // the batch is not said to have left after "joined" (review 11: "* 7 joined" then
    // "* 7 left" while all seven were online).
    struct fate {
      std::string name;
      bool first_joined = false;
      bool last_joined = false;
      bool new_contact = false;
      crypto::public_key key{};
    };
    std::vector<fate> fates;
    std::map<std::string, std::size_t> index;
    for (const auto& l : lines) {
      const auto [it, fresh] = index.try_emplace(l.name, fates.size());
      if (fresh) fates.push_back({l.name, l.joined, l.joined, false, {}});
      fate& f = fates[it->second];
      f.last_joined = l.joined;
      if (l.joined) {
        f.key = l.key;
        f.new_contact = f.new_contact || l.first_sight;
      }
    }
    std::vector<const fate*> left, back, joined, came_and_went;
    for (const auto& f : fates) {
      (f.first_joined ? (f.last_joined ? joined : came_and_went) : (f.last_joined ? back : left))
          .push_back(&f);
    }
    // Every name when they fit in a few more than one by one, else the first five.
    const auto names = [](const std::vector<const fate*>& all) {
      std::vector<std::string> n;
      for (const fate* f : all) n.push_back(f->name);
      return some_names(n, n.size() <= joins_named ? n.size() : one_by_one);
    };
    const auto joined_line = [&](const fate& f) {
      u.show(join_event{f.name, key_text::of(f.key), f.new_contact, not_accepted(f.name, f.key)});
    };
    const auto left_line = [&](const fate& f) { u.show(leave_event{f.name}); };
    // A group in one line when there are many, else a line (or two) each, in batch order.
    const auto say = [&](const std::vector<const fate*>& group, const std::string& what,
                         const std::string& note, const auto& each) {
      if (group.size() > one_by_one) {
        u.info("* " + std::to_string(group.size()) + " " + what + ": " + names(group) + note);
      } else {
        for (const fate* f : group) each(*f);
      }
    };
    const auto fresh = static_cast<std::size_t>(
        std::count_if(joined.begin(), joined.end(), [](const fate* f) { return f->new_contact; }));
    say(left, "left", "", left_line);
    say(back, "left and joined again", "", [&](const fate& f) {
      left_line(f);
      joined_line(f);
    });
    say(joined, "joined",
        fresh == 0 ? std::string()
                   : "\n  (" + std::to_string(fresh) +
                         " of them new contacts, pinned: /who lists their keys; "
                         "compare safety numbers with /verify NAME)",
        joined_line);
    say(came_and_went, "joined and left again", "", [&](const fate& f) {
      joined_line(f);
      left_line(f);
    });
  };
  auto flush_roster = [&] {
    roster_timer.cancel();
    if (!roster_pending.empty()) show_roster_lines(std::exchange(roster_pending, {}));
  };
  // This presence round's joins and leaves so far, while it is read (else null).
  std::vector<roster_line>* round_so_far = nullptr;
  // Before a notice about someone's key: the joins and leaves that came before it, waiting to
  // be grouped or read in this round, are said first. Grouping must not reorder them: "* bob
  // joined" shown after the warning about bob's new key, and after bob left again (a review).
  auto roster_before_notice = [&] {
    flush_roster();
    if (round_so_far && !round_so_far->empty()) {
      last_round = std::chrono::steady_clock::now();
      show_roster_lines(std::exchange(*round_so_far, {}));
    }
  };
  auto roster_round = [&](std::vector<roster_line> lines) {
    const auto now = std::chrono::steady_clock::now();
    const bool follows = now - last_round < roster_settle || !roster_pending.empty();
    last_round = now;
    if (u.json() || !follows) {
      flush_roster();
      show_roster_lines(lines);
      return;
    }
    if (roster_pending.empty()) pending_since = now;
    roster_pending.insert(roster_pending.end(), std::make_move_iterator(lines.begin()),
                          std::make_move_iterator(lines.end()));
    // Said once the rounds pause, and at least every few seconds while they do not.
    roster_timer.expires_at(std::min(now + roster_settle, pending_since + roster_settle_at_most));
    roster_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) flush_roster();
    });
  };
  // Checks an announced key against the pin; prints what a person must know.
  // `quiet`: a snapshot entry. `joined_said_it`: the join line already said that this is a
  // new contact, and its key.
  auto check_key = [&](const std::string& name, const crypto::public_key& key, bool quiet,
                       bool joined_said_it = false) {
    const auto warn = [&](std::string text) {
      roster_before_notice();
      u.warning(std::move(text));
    };
    const auto tell = [&](std::string text) {
      roster_before_notice();
      u.info(std::move(text));
    };
    // Not a key anyone holds (a relay's fault or a hostile account): said, and not pinned,
    // so the day a real key comes it is a new contact, not a key change.
    if (!crypto::usable_public_key(key)) {
      warn("! " + name + " has an unusable key (a low-order point, not one anyone holds): " +
           "nothing can be sent to " + name + " or read from them; it is not pinned");
      return;
    }
    // What was pinned, copied: book.see() below may move the entry.
    const contact* before = book.find(name);
    const crypto::public_key pinned = before ? before->key : crypto::public_key{};
    const bool was_verified = before && before->verified;
    switch (book.see(name, key)) {
      case key_check::new_contact:
        book_changed = true;  // saved once the presence frame is read
        // A relay from before lookalike names were refused, or one that lies, may still
        // show a "b0b" beside a known "bob": said, as the names alone do not tell.
        if (const auto known = book.lookalike_of(name)) {
          warn("! new contact " + name + " looks like your contact " + *known +
               " but is another user, with another key (" + crypto::short_fingerprint(key) +
               "): check who it is with /verify " + name);
          return;
        }
        if (quiet) {  // in a roster snapshot: said together at its end
          snapshot_new_contacts.emplace_back(name, key);
          return;
        }
        if (!joined_said_it) tell(new_contact_text(name, key));
        return;
      case key_check::same:
        if (untrusted.erase(name) && !quiet) tell("* " + name + " is back on the pinned key");
        release_held(name);
        return;
      case key_check::changed:
      case key_check::changed_verified:
        // The same changed key again (a device signing in and out): warned once is enough,
        // and reminded only while something waits for it (not at every sign-in: a review).
        if (auto it = untrusted.find(name); it != untrusted.end() && it->second == key) {
          if (const auto h = held.find(name); h == held.end() || h->second.empty()) return;
          warn("! " + name + " is still on the changed key: messages to " + name + " are held (" +
               (was_verified ? "/verify " + name : "/accept " + name + " or /verify " + name) +
               ")");
          return;
        }
        // Counted even with a return to the pinned key in between (review 11).
        auto& w = warned[name];
        ++w.count;
        w.last = std::chrono::steady_clock::now();
        untrusted[name] = key;
        changed_key k{name, pinned, key, was_verified};
        // Said at the end of the snapshot or round, together if many; programs get each.
        if (!u.json()) {
          (quiet ? snapshot_changed_keys : round_changed_keys).push_back(std::move(k));
          return;
        }
        warn(changed_key_text(k));
        return;
    }
  };
  // The key changes of a roster snapshot: one by one when there are a few, else one warning
  // naming them (a relay that swapped every key would otherwise print six lines a contact).
  auto show_changed_keys = [&](const std::vector<changed_key>& changed) {
    if (changed.size() <= one_by_one) {
      for (const auto& k : changed) u.warning(changed_key_text(k));
      return;
    }
    std::vector<std::string> names, verified;
    for (const auto& k : changed) {
      names.push_back(k.name);
      if (k.verified) verified.push_back(k.name);
    }
    std::sort(names.begin(), names.end());
    std::sort(verified.begin(), verified.end());
    u.warning("!!! WARNING: the identity keys of " + std::to_string(changed.size()) +
              " contacts have CHANGED !!!\n!   " + some_names(names, joins_named) +
              "\n!   Each may have a new device, or someone (the relay?) is\n"
              "!   impersonating them. Messages to them are held until you\n"
              "!   /accept NAME (or compare safety numbers: /verify NAME);\n"
              "!   /who lists the keys." +
              (verified.empty() ? std::string()
                                : "\n!   Verified before, so /verify again: " +
                                      some_names(verified, joins_named)));
  };

  notice_limiter rejections(rejections_shown, rejection_window);
  net::steady_timer rejections_timer(io);
  auto say_held_back = [&](const std::vector<notice_limiter::held_back>& ended) {
    for (const auto& h : ended) {
      u.error("! " + std::to_string(h.count) + " more message" + (h.count == 1 ? "" : "s") +
              " said to be from " + printable(h.source) +
              " could not be read in the last minute (not shown one by one)");
    }
  };
  std::function<void()> arm_rejections_timer = [&] {
    const auto end = rejections.next_end();
    if (!end) return;
    rejections_timer.expires_at(*end);
    rejections_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      say_held_back(rejections.ended(notice_limiter::clock::now()));
      arm_rejections_timer();
    });
  };
  auto admit_rejection = [&](const std::string& from) {
    const auto now = notice_limiter::clock::now();
    say_held_back(rejections.ended(now));  // a window over is summed up before a new one
    const bool shown = rejections.admit(from, now);
    if (!shown) arm_rejections_timer();
    return shown;
  };
  // Leaving, by choice or not: what was typed and never went out is named, never lost quietly.
  auto report_unsent = [&] {
    flush_roster();
    pace_timer.cancel();
    drain_timer.cancel();
    drain_retry_timer.cancel();
    ack_timer.cancel();
    ack_retry_timer.cancel();
    report_unconfirmed();
    const auto not_sent = [&](const std::string& to, const std::string& text) {
      u.warning("! not sent to " + to + ": " + excerpt(text));
      something_unsent = true;
    };
    for (const auto& m : out_box.pending()) {
      if (!m.key_notice) not_sent(m.to, m.text);
    }
    for (const auto& line : early) {
      if (const auto in = parse_input(line.text); const auto* s = std::get_if<send_line>(&in)) {
        not_sent(s->to, s->text);
      }
    }
    for (const auto& [name, texts] : held) {  // named, as everything else that did not go
      for (const auto& t : texts) not_sent(name + " (held, key changed)", t.text);
    }
    for (const auto& [name, texts] : awaiting) {
      for (const auto& t : texts) not_sent(name, t.text);
    }
    awaiting_timer.cancel();
  };
  // A new session key every hour (protocol.md 8.5): a client left running for days does not
  // keep one key for all it exchanged; what was sealed to a key two renewals old is closed.
  net::steady_timer session_timer(io);
  std::function<void()> arm_session_renewal = [&] {
    session_timer.expires_after(session_renewal);
    session_timer.async_wait([&](boost::system::error_code ec) {
      if (ec || stop) return;
      c.renew_session();
      arm_session_renewal();
    });
  };
  arm_session_renewal();
  // The connection went away (or the relay is restarting): like irssi, connect again with
  // growing pauses (1 s doubling to 30 s, jittered so a relay's users do not all come back
  // in the same instant) until it works, the relay refuses us, or the person leaves. Lines
  // typed meanwhile wait for the new roster; nothing is dropped quietly. A connection lost
  // within a minute of its sign-in does not bring the pause back to 1 s: a relay that faults
  // at once would otherwise get a sign-in (an Argon2 hash) every second, for ever.
  auto pause_after_short_link = std::chrono::milliseconds(1000);
  auto linked_at = std::chrono::steady_clock::now();
  constexpr auto lasting_link = std::chrono::seconds(60);
  // A /password or /delete-account sent and not answered yet (the relay answers in order,
  // reading nothing else from us meanwhile), and the new password while a change is.
  enum class asked_for { nothing, password, deletion };
  asked_for asked = asked_for::nothing;
  std::string asked_fresh;
  bool deletion_unanswered = false;  // lost with the connection: signing in again tells
  // Wrong current passwords at /password or /delete-account on this connection: the relay
  // closes it at the third failed attempt (protocol.md 5.15), and the chat signs in again.
  int wrong_current_passwords = 0;
  auto forget_asked = [&] {
    crypto::wipe(asked_fresh);
    asked_fresh.clear();
    asked = asked_for::nothing;
  };
  auto request_account = [&](account_request r) {
    if (stop) return;
    const bool deleting = !r.fresh;
    const char* nothing_done =
        deleting ? "the account was not deleted" : "the password was not changed";
    if (!connected || !snapshot_done) {
      u.error(std::string("! not connected to the relay: ") + nothing_done +
              "; try again once it is back");
      return;
    }
    if (asked != asked_for::nothing) {
      u.error(std::string("! the relay has not answered the last /password or /delete-account "
                          "yet: ") +
              nothing_done);
      return;
    }
    proto::frame f = deleting ? proto::frame{proto::delete_account{r.password}}
                              : proto::frame{proto::change_password{r.password, *r.fresh}};
    lp->send(f);
    proto::for_each_password(f, [](std::string& s) { crypto::wipe(s); });
    asked = deleting ? asked_for::deletion : asked_for::password;
    if (!deleting) asked_fresh = *r.fresh;
    u.info(deleting ? "* asking the relay to delete your account"
                    : "* asking the relay to change your password");
  };
  auto reconnect = [&](const std::string& lost) -> awaitable<bool> {
    // Asked and not answered: whether it happened is unknown until the next sign-in.
    if (asked == asked_for::password) {
      cio.password_maybe_changed(asked_fresh);
      u.error(
          "! the connection was lost before the relay answered /password: the password may "
          "or may not\n  have changed (signing in again tries the new one after the old)");
    } else if (asked == asked_for::deletion) {
      u.error(
          "! the connection was lost before the relay answered /delete-account: the account "
          "may\n  have been deleted (then signing in again fails)");
      deletion_unanswered = true;
    }
    forget_asked();
    wrong_current_passwords = 0;
    flush_roster();  // who came and went before the connection did
    connected = false;
    relay_away = true;
    told_away = false;
    snapshot_done = false;
    chat_ready = false;
    lp->close();
    c.forget_roster();
    update_candidates();
    if (draining && !input_ended) {  // leaving anyway: the cause, then what is still waiting
      u.error("* " + lost);
      report_unsent();
      co_return false;
    }
    // The cause first, then what it leaves unconfirmed.
    if (draining) {  // end of piped input: the drain's round starts again once back
      drain_timer.cancel();
      drain_retry_timer.cancel();
      u.error("* " + lost + "; reconnecting to send what is left (" +
              std::to_string(outage_grace.count()) + " s at most)");
    } else {
      u.error("* " + lost + "; reconnecting (/quit leaves)");
    }
    report_unconfirmed();
    const auto lost_at = std::chrono::steady_clock::now();
    auto pause = std::chrono::steady_clock::now() - linked_at >= lasting_link
                     ? std::chrono::milliseconds(1000)
                     : pause_after_short_link;
    while (!stop) {
      const auto jitter = static_cast<long>(pause.count() / 5);
      const auto wait =
          pause + std::chrono::milliseconds(static_cast<long>(randombytes_uniform(
                                                static_cast<std::uint32_t>(2 * jitter + 1))) -
                                            jitter);
      retry_timer.expires_after(wait);
      boost::system::error_code ec;
      co_await retry_timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (stop) co_return false;
      if (draining && std::chrono::steady_clock::now() - lost_at > outage_grace) {
        u.error("* the relay did not come back within " + std::to_string(outage_grace.count()) +
                " s");
        report_unsent();
        co_return false;
      }
      auto r = co_await relink();
      if (stop) co_return false;
      if (r.l) {
        lp = std::move(r.l);
        connected = true;
        relay_away = false;
        after_outage = true;
        reconnected_at = std::chrono::steady_clock::now();
        // A new session key at every sign-in (protocol.md 8.5): peers that see the same key
        // after the relay announced a sign-in of ours know the announcement was false.
        c.renew_session();
        arm_session_renewal();  // renewals an hour apart: peers' copies stay usable that long
        u.info("* reconnected to the relay");
        pause_after_short_link = std::min(pause * 2, std::chrono::milliseconds(30000));
        linked_at = std::chrono::steady_clock::now();
        co_return true;
      }
      if (r.give_up && r.refused_credentials && deletion_unanswered) {
        // The /delete-account whose answer was lost went through: its password no longer
        // signs in.
        u.info("* your account " + c.me() +
               " was deleted from the relay (the /delete-account "
               "whose answer\n  was lost went through: its password no longer signs in)" +
               cio.account_deleted());
        report_unsent();
        co_return false;
      }
      if (r.give_up) {
        if (!r.why.empty()) u.error("* " + r.why);
        report_unsent();
        code = r.exit_code;
        co_return false;
      }
      pause = std::min(pause * 2, std::chrono::milliseconds(30000));
      // Not before the relay said (the jitter taking at most a fifth off): sooner is refused.
      pause = std::max(pause, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  (r.retry_after + std::chrono::milliseconds(300)) * 5 / 4));
      u.info("* " + r.why + "; trying again in " + std::to_string((pause.count() + 500) / 1000) +
             " s");
    }
    co_return false;
  };
  // A relay that stops answering (stopped, wedged, or a network that dropped us without a
  // word) is noticed, as irssi's lag check does, and connected to again.
  lag_check lag(cio.relay_timeout, lag_check::clock::now());
  bool stalled = false;  // the link was closed because the relay stopped answering
  net::steady_timer lag_timer(io);
  std::function<void()> arm_lag_check = [&] {
    lag_timer.expires_after(std::max<std::chrono::milliseconds>(std::chrono::milliseconds(100),
                                                                cio.relay_timeout / 10));
    lag_timer.async_wait([&](boost::system::error_code ec) {
      if (ec || stop) return;
      if (connected) {
        switch (lag.tick(lag_check::clock::now())) {
          case lag_check::action::ping:
            lp->send(proto::ping{lag_token});
            break;
          case lag_check::action::give_up:
            stalled = true;
            lp->close();  // the reader sees the end and reconnects
            break;
          case lag_check::action::none:
            break;
        }
      }
      arm_lag_check();
    });
  };
  arm_lag_check();
  // A message from the relay: checked, opened and shown (or why not said).
  auto take_delivery = [&](proto::deliver& d) {
    auto opened = c.open_from(d.from, d.ciphertext);
    if (opened && opened->not_signed_in_again) {
      u.warning("! the relay announced that " + d.from +
                " signed in again, but their client did not (the same session key): "
                "what you sent " +
                d.from +
                " since then, if anything, was sealed to their identity key only (no forward "
                "secrecy)");
    }
    // A few such lines per sender a minute, the rest summed up: anyone signed in can
    // send garbage the relay forwards unread.
    if (!opened && !admit_rejection(d.from)) return;
    if (!opened && opened.error() == chat_errc::stale_session) {
      // The outer box opened, so it is theirs: only its inner key is gone for good.
      u.error("! a message from " + printable(d.from) +
              " cannot be read: it was sealed to a session key this client does not hold "
              "(one of an earlier run's, or another device's); ask " +
              printable(d.from) + " to send it again");
      return;
    }
    if (!opened) {
      u.error("! rejected a message said to be from " + printable(d.from) + ": " +
              opened.error().message());
      return;
    }
    save_seen();
    // They sealed to our identity key (or our last key): a notice gives them the current
    // one. Not to a key not accepted yet (nothing goes there before /accept), nor when
    // leaving (they are about to lose our key anyway; after our bye the relay reads nothing).
    if (opened->owes_key_notice && !untrusted.count(d.from) && !draining && !saying_goodbye) {
      out_box.add_key_notice(d.from);
      pump();
    }
    if (!opened->key_notice) {
      u.show(message_event{d.from, c.me(), std::move(opened->text), untrusted.count(d.from) != 0,
                           written_time(opened->counter)});
    }
  };
  auto reader = [&]() -> awaitable<void> {
    while (!stop || saying_goodbye) {
      auto f = co_await lp->receive();
      if (saying_goodbye) {
        // After our bye the relay sends what it had queued for us, then closes: a message
        // it forwarded before it read the bye is shown, not lost with the socket.
        if (!f) break;
        if (auto* d = std::get_if<proto::deliver>(&*f)) take_delivery(*d);
        continue;
      }
      if (f) lag.heard(lag_check::clock::now());
      if (!f) {
        if (stop) break;
        const std::string lost =
            std::exchange(stalled, false)
                ? "the relay has not answered for " +
                      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                         lag.silent(lag_check::clock::now()))
                                         .count()) +
                      " s"
                : "connection to the relay lost: " + f.error().message() +
                      (f.error() == link_errc::protocol && !lp->protocol_fault().empty()
                           ? ": " + lp->protocol_fault()
                           : "");
        const bool back = co_await reconnect(lost);
        lag.heard(lag_check::clock::now());  // a new connection: its own clock
        if (back) continue;
        break;
      }
      // Joins and leaves waiting to be said come before anything else the relay sent after
      // them: a message from someone just joined follows their join line.
      if (!std::holds_alternative<proto::presence>(*f)) flush_roster();
      if (auto* p = std::get_if<proto::presence>(&*f)) {
        const auto events = c.apply(*p);
        std::vector<roster_line> lines;  // this round's joins and leaves, to show
        round_so_far = &lines;
        std::vector<std::string> back;  // joined, with messages waiting for them
        for (const auto& ev : events) {
          switch (ev.what) {
            case roster_event::kind::joined: {
              // First sight (and no lookalike to warn of): the join line says it all. An
              // unusable key is never pinned, so never a new contact (check_key says why).
              const bool first_sight = crypto::usable_public_key(ev.key) && !book.find(ev.name) &&
                                       !book.lookalike_of(ev.name);
              if (!p->snapshot) lines.push_back({true, ev.name, ev.key, first_sight});
              check_key(ev.name, ev.key, p->snapshot, !p->snapshot && first_sight);
              back.push_back(ev.name);
              break;
            }
            case roster_event::kind::left:
              lines.push_back({false, ev.name, {}, false});
              break;
            case roster_event::kind::key_changed:
              roster_before_notice();
              u.info("* " + ev.name + " signed in again, with key " +
                     crypto::short_fingerprint(ev.key));
              check_key(ev.name, ev.key, false);
              break;
          }
        }
        if (!round_changed_keys.empty()) {
          roster_before_notice();  // this round's joins and leaves first
          show_changed_keys(std::exchange(round_changed_keys, {}));
        }
        round_so_far = nullptr;
        if (!lines.empty()) roster_round(std::move(lines));
        // "carol is back: sending ..." after "carol joined", not before it.
        std::erase_if(back, [&](const std::string& n) { return !awaiting.count(n); });
        if (!back.empty()) flush_roster();
        for (const auto& name : back) release_awaiting(name);
        if (std::exchange(book_changed, false)) save_book();
        update_candidates();
        if (p->snapshot && p->last && !snapshot_done) {
          snapshot_done = true;
          chat_ready = connected;
          // Who is online first, then what is new about them: a key warning comes after the
          // roster lines it is about, as in the chat (review 14 saw it before the list).
          u.show(online_entries(false));
          show_new_contacts(std::exchange(snapshot_new_contacts, {}));
          show_changed_keys(std::exchange(snapshot_changed_keys, {}));
          sending_outage_lines = std::exchange(after_outage, false);
          while (!early.empty() && !stop) {
            const typed_text line = std::move(early.front());
            early.pop_front();
            typed_at = line.written_us;
            on_line(line.text);
          }
          typed_at = 0;
          sending_outage_lines = false;
          pump();  // what waited while the connection was away
        }
      } else if (auto* d = std::get_if<proto::deliver>(&*f)) {
        take_delivery(*d);
      } else if (auto* ac = std::get_if<proto::account_changed>(&*f)) {
        const bool deleted = ac->what == proto::account_changed::change::deleted;
        if (deleted ? asked != asked_for::deletion : asked != asked_for::password) {
          u.error(
              "! the relay says the account changed, which this client did not ask for: "
              "ignored");
          continue;
        }
        if (!deleted) {
          const std::string problem = cio.password_changed(asked_fresh);
          forget_asked();
          if (problem.empty()) {
            // One paragraph, wrapped to the terminal (review 16: broken for 80 columns, it
            // left a word alone on a row of a narrow one).
            u.info(
                "* password changed: this device's key is sealed with the new one. On another "
                "device, sign in with the new password; its key still opens with the old one, "
                "which it asks for once, then seals with the new.");
          } else {
            u.warning("! password changed on the relay, but " + problem);
          }
          continue;
        }
        forget_asked();
        u.info("* your account " + c.me() + " was deleted from the relay" + cio.account_deleted());
        report_unsent();
        break;
      } else if (auto* e = std::get_if<proto::error>(&*f)) {
        // The answer to /password or /delete-account: the relay sends no other error with
        // ref 0 to a signed-in client, and answers in order.
        if (e->ref == 0 && asked != asked_for::nothing) {
          forget_asked();
          const bool wrong = e->code == proto::reason::invalid_credentials;
          u.error("! " + printable(e->text) +
                  (wrong && ++wrong_current_passwords == 2
                       ? "\n  (a third wrong password closes this connection to the relay; the "
                         "chat then signs in again)"
                       : ""));
          continue;
        }
        // Sent too fast for this relay (set stricter than its defaults): sent again, slower.
        // A refused send is named with its text, as every message that did not go is.
        if (const auto* sent = e->ref != 0 ? out_box.find_sent(e->ref) : nullptr;
            sent && sent->key_notice) {
          // A key notice refused: paced again if too fast, else (they left) let go quietly.
          if (e->code == proto::reason::rate_limited) {
            out_box.refused(e->ref, outbox::clock::now());
            pump();
          }
          continue;
        }
        std::string which;
        if (e->ref != 0) {
          const auto it = std::find_if(unacked.begin(), unacked.end(),
                                       [&](const in_flight& m) { return m.id == e->ref; });
          if (it != unacked.end()) {
            which = ": " + excerpt(it->text);
          } else if (!out_box.find_sent(e->ref)) {
            which =
                " (said of send " + std::to_string(e->ref) + ", which this client does not know)";
          }
          forget_send(e->ref);
        }
        if (e->code == proto::reason::rate_limited &&
            out_box.refused(e->ref, outbox::clock::now())) {
          pump();
          continue;
        }
        if (e->ref != 0) something_unsent = true;
        u.error("! " + printable(e->text) + which);
      } else if (auto* cl = std::get_if<proto::closing>(&*f)) {
        // A kick's text is the operator's reason alone ("being rude"): say who did it.
        std::string why = printable(cl->text);
        if (cl->code == proto::reason::kicked && why.rfind("kicked", 0) != 0) {
          why = "kicked by the operator: " + why;
        }
        // A relay going down for a restart, or a connection idle too long (a laptop that
        // slept), is worth coming back to; a kick, a ban or a sign-in elsewhere is not.
        // So is a connection closed for the wrong passwords typed at /password: the chat
        // goes on (the password this client signed in with is still the account's).
        if (cl->code == proto::reason::shutting_down || cl->code == proto::reason::timeout ||
            (cl->code == proto::reason::too_many_attempts && wrong_current_passwords > 0)) {
          if (co_await reconnect("the relay closed the connection: " + why)) continue;
          break;
        }
        u.error("* the relay closed the connection: " + why);
        report_unsent();
        code = exit_failure;
        break;
      } else if (auto* lk = std::get_if<proto::last_key>(&*f)) {
        // Since this device last signed in, the account was used with another key: another
        // device of the owner's, or someone with the password. Only the owner can tell.
        crypto::public_key other;
        std::copy(lk->identity.begin(), lk->identity.end(), other.begin());
        if (!std::exchange(cio.new_device, false))
          u.warning(last_key_warning(other, lk->when, cio.terminal_opts.local_time));
      } else if (auto* pg = std::get_if<proto::ping>(&*f)) {
        lp->send(proto::pong{pg->token});
      } else if (auto* po = std::get_if<proto::pong>(&*f)) {
        confirm_sends(po->token);
        if (draining && po->token >= drain_first && po->token <= drain_ping &&
            out_box.waiting_messages() == 0 && awaiting.empty()) {
          unacked.clear();  // everything was sent before the drain ping
          ack_pings.clear();
          draining = false;
          on_line("/quit");
        }
      }
    }
    stop = true;
    lp->close();
    io.stop();
  };

  on_line = [&](const std::string& line) {
    auto in = parse_input(line);
    if (std::holds_alternative<empty_line>(in)) return;
    if (auto* err = std::get_if<input_error>(&in)) {
      u.error("! " + err->message);
      something_unsent = true;
    } else if (std::holds_alternative<help_line>(in)) {
      u.text_block(input_help(cio.use_editor));
    } else if (std::holds_alternative<who_line>(in)) {
      u.show(online_entries(true));
    } else if (std::holds_alternative<password_line>(in) ||
               std::holds_alternative<delete_account_line>(in)) {
      // With the editor the input thread takes these (read_account_request).
      u.error(
          "! " +
          std::string(std::holds_alternative<password_line>(in) ? "/password" : "/delete-account") +
          " needs the line editor on a terminal, which asks for passwords without showing "
          "them: nothing changed");
      something_unsent = true;  // a refused line, as any other (exit code 5 for a script)
    } else if (auto* a = std::get_if<accept_line>(&in)) {
      const contact* k = book.find(a->name);
      auto it = c.online().find(a->name);
      if (a->name == c.me()) {
        u.info("* that is you: /accept takes a contact's new key");
      } else if (!untrusted.count(a->name) || it == c.online().end()) {
        const auto waiting = held.count(a->name) ? held[a->name].size() : 0;
        u.error("! nothing to accept: " + a->name + "'s key has not changed" +
                (it == c.online().end() ? " (or " + a->name + " is not online)" : "") +
                (waiting > 0 ? "\n  " + std::to_string(waiting) + " message(s) to " + a->name +
                                   " stay held until " + a->name + " is back and you accept"
                             : ""));
      } else if (k && k->verified) {
        u.error("! " + a->name + " was verified: compare safety numbers again with /verify " +
                a->name);
      } else if (const auto w = warned.find(a->name);
                 w != warned.end() && w->second.count > 1 &&
                 std::chrono::steady_clock::now() - w->second.last < accept_settle) {
        // The key may have changed between reading a warning and pressing Enter: the one
        // accepted must be the one whose warning was read.
        u.error("! " + a->name + "'s key changed again just now, to " +
                crypto::short_fingerprint(it->second) +
                ": nothing accepted. Read the warning above, then /accept " + a->name +
                " again to accept that key");
      } else {
        book.accept(a->name, it->second);
        save_book();
        untrusted.erase(a->name);
        u.info("* accepted " + a->name + "'s new key " + crypto::short_fingerprint(it->second));
        release_held(a->name);
      }
    } else if (auto* v = std::get_if<verify_line>(&in)) {
      // Online: the key the relay announces. Offline: the key pinned for them here, so
      // numbers can be compared when the two are not online together (a phone call).
      auto it = c.online().find(v->name);
      const contact* pinned = it == c.online().end() ? book.find(v->name) : nullptr;
      const crypto::public_key* key = it != c.online().end() ? &it->second
                                      : pinned               ? &pinned->key
                                                             : nullptr;
      // Which key the number is for, where it is not the one plainly meant (review 10).
      const contact* was_pinned = book.find(v->name);
      const bool changed = key != nullptr && !pinned && untrusted.count(v->name) != 0 &&
                           was_pinned != nullptr && was_pinned->key != *key;
      // Offline with a newer key announced and not accepted: the number is not for that one,
      // which is what the contact sees now (review 16).
      const auto newer = untrusted.find(v->name);
      const std::string newer_note =
          pinned && newer != untrusted.end() && newer->second != pinned->key
              ? "\n  (not for the newer key announced for them, not accepted,\n    " +
                    crypto::short_fingerprint(newer->second) + ")"
              : "";
      const std::string offline_note =
          pinned ? "\n* " + v->name + " is offline: this is for the key pinned for them,\n    " +
                       crypto::short_fingerprint(pinned->key) + newer_note
          : changed ? "\n* this is for " + v->name + "'s new key, not yet accepted,\n    " +
                          crypto::short_fingerprint(*key) +
                          " (pinned: " + crypto::short_fingerprint(was_pinned->key) + ")"
                    : "";
      const auto shown = shown_numbers.find(v->name);
      if (v->name == c.me()) {
        u.info("* that is you (key " + crypto::short_fingerprint(c.identity().pub()) +
               "): /verify NAME compares safety numbers with someone else");
      } else if (key == nullptr) {
        u.error("! " + v->name + " is not online and has no key pinned here: their key is unknown");
      } else if (v->confirm && shown == shown_numbers.end()) {
        // Confirming is saying "the number I compared matches": there must have been one.
        u.error("! first compare the safety number with " + v->name + ": /verify " + v->name +
                " shows it");
      } else if (v->confirm && shown->second != *key) {
        // The key changed while the person was comparing: what they compared is not this key.
        // Or they left, and the key left to verify is the one pinned: said as such, since
        // their last key may be neither.
        shown_numbers.erase(shown);
        u.error(pinned ? "! " + v->name +
                             " went offline since the safety number was shown, and it was not "
                             "for the key pinned for them (" +
                             crypto::short_fingerprint(*key) +
                             "): nothing verified; compare again: /verify " + v->name
                       : "! " + v->name + "'s key changed since the safety number was shown (now " +
                             crypto::short_fingerprint(*key) +
                             "): nothing verified; compare again: /verify " + v->name);
      } else if (!v->confirm) {
        shown_numbers[v->name] = *key;
        // Two rows of six groups: with the time in front, 80 columns never wrap a digit.
        const std::string number = crypto::safety_number(c.me(), c.identity().pub(), v->name, *key);
        const std::size_t half = number.size() / 2;  // 12 groups of 5 and 11 spaces
        u.info("* safety number with " + v->name + ":\n    " + number.substr(0, half) + "\n    " +
               number.substr(half + 1) + offline_note + "\n* compare it with what " + v->name +
               " sees (in person or by phone).\n* If it matches, type /verify " + v->name +
               " confirm");
      } else {
        shown_numbers.erase(shown);
        const crypto::public_key verified = *key;
        // Offline, the pinned key is the one verified: a newer one announced meanwhile and not
        // accepted stays so, and is named, lest the warning read last seem answered (review 14).
        std::optional<crypto::public_key> other;
        if (const auto u_it = untrusted.find(v->name);
            u_it != untrusted.end() && u_it->second != verified) {
          other = u_it->second;
        }
        book.verify(v->name, verified);
        save_book();
        untrusted.erase(v->name);
        u.info("* " + v->name + " is now verified (key " + crypto::short_fingerprint(verified) +
               ")");
        if (other) {
          u.warning("! this is the key pinned for " + v->name + ", not the other key announced " +
                    "for them lately,\n    " + crypto::short_fingerprint(*other) +
                    ", which stays not accepted: if " + v->name +
                    " uses it again, you are warned again");
        }
        release_held(v->name);
      }
    } else if (std::holds_alternative<quit_line>(in)) {
      leaving = true;
      if (!connected) {  // nothing to say goodbye to
        report_unsent();
        stop = true;
        retry_timer.cancel();
        lp->close();
        io.stop();
        return;
      }
      // At the end of piped input, messages waiting for someone not back yet (the relay
      // was away) are waited for too: a script cannot type them again.
      const bool await_returns = input_ended && !awaiting.empty();
      if (!draining && (out_box.waiting_messages() > 0 || await_returns ||
                        (!unacked.empty() && !drain_gave_up))) {
        draining = true;
        if (out_box.waiting_messages() > 0) {
          u.info("* sending " + std::to_string(out_box.waiting_messages()) +
                 " waiting message(s) before leaving" +
                 (input_ended ? "" : " (/quit again or Ctrl-C leaves now)"));
        } else if (awaiting.empty()) {
          send_drain_ping();
        }  // else once they are back, or given up on (await_return)
        return;
      }
      report_unsent();
      stop = true;
      saying_goodbye = true;
      lp->send(proto::bye{});
      // The reader reads on until the relay closes (what it queued before our bye is shown),
      // then ends the run; a relay that does not close is left after quit_linger.
      net::co_spawn(
          io,
          [&]() -> awaitable<void> {
            co_await lp->flush();
            quit_timer.expires_after(quit_linger);
            boost::system::error_code ec;
            co_await quit_timer.async_wait(net::redirect_error(net::use_awaitable, ec));
            lp->close();
            io.stop();
          },
          net::detached);
    } else if (auto* s = std::get_if<send_line>(&in)) {
      if (leaving) {
        u.error("! not sent: leaving after /quit (/quit again or Ctrl-C leaves now): " +
                excerpt(s->text));
        something_unsent = true;
        return;
      }
      // The limit first: a too-long message is refused the same way whoever it is for.
      if (s->text.size() > crypto::max_text) {
        u.error("! not sent: messages are at most " + std::to_string(crypto::max_text) +
                " bytes (this one has " + std::to_string(s->text.size()) +
                "): " + excerpt(s->text));
        something_unsent = true;
        return;
      }
      const typed_text typed{s->text, typed_at != 0 ? typed_at : micros_now()};
      if (s->to != c.me() && !c.is_online(s->to)) {
        if (!sending_outage_lines) {
          flush_roster();  // "* carol left" before "carol is not online"
          u.error("! " + s->to + " is not online: nothing sent");
          something_unsent = true;
          return;
        }
        await_return(s->to, typed);
        return;
      }
      if (untrusted.count(s->to)) {
        held[s->to].push_back(typed);
        const contact* k = book.find(s->to);
        u.warning(
            "! held for " + s->to + " (key changed): " +
            (k && k->verified ? "/verify " + s->to : "/accept " + s->to + " or /verify " + s->to) +
            " to send");
        return;
      }
      transmit(s->to, typed);
    }
  };
  // Input goes through here: queued until the roster snapshot is complete.
  auto take_line = [&](std::string text) {
    if (stop) return;
    // While reconnecting, leaving is not put off until the relay is back.
    const auto in = parse_input(text);
    // What needs no relay is answered at once, also while it is away or the roster is on
    // its way: a mistyped line's error long after, under other lines, names no line.
    if (std::holds_alternative<input_error>(in) || std::holds_alternative<help_line>(in) ||
        std::holds_alternative<empty_line>(in)) {
      on_line(text);
      return;
    }
    if (!connected && std::holds_alternative<send_line>(in) && !std::exchange(told_away, true)) {
      u.info("* not connected: what you type now is sent once the relay is back");
    }
    if (!snapshot_done && (connected || !std::holds_alternative<quit_line>(in))) {
      early.push_back({std::move(text), micros_now()});
      return;
    }
    on_line(text);
  };

  net::co_spawn(io, reader, net::detached);
  // Ctrl-C (without the editor), SIGTERM and SIGHUP leave like /quit: goodbye sent, exit code
  // 0. Installed before the editor, which then leaves these signals to us. With the editor,
  // Ctrl-C is a key: on a half-typed line it only drops that line, as in a shell (one key
  // should not end a conversation mid-sentence), and on an empty line it leaves.
  net::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  int ended_by = 0;  // the signal that made us leave, if one did
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec,
                                                                      int sig) {
    if (ec || stop) return;
    if (ended_by == 0) ended_by = sig;
    hidden_abort = true;  // a password prompt open now does not hold the exit up
    on_line("/quit");     // a second one while messages are still going out leaves now
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  if (cio.use_editor) {
    try {
      term.emplace(STDIN_FILENO, STDOUT_FILENO, cio.prompt, interactive_terminal::ctrl_c::key);
      const render_options& o = cio.terminal_opts;
      term->set_discard_note(
          o.style == output_style::styled
              ? "\x1b[2m* line dropped (Up brings it back); Ctrl-C on an empty line leaves\x1b[0m"
              : "* line dropped (Up brings it back); Ctrl-C on an empty line leaves");
      term->drop_empty_lines();
      // One's own multi-line paste is left as the receiver sees it: a row per line.
      term->set_line_break_marker(o.style == output_style::styled ? "\x1b[2m  | \x1b[0m" : "  | ");
      // Room for the longest "/msg name " before the text; what is typed past that could
      // only be refused once sent, after being echoed whole (hundreds of rows for a paste).
      // A paste that does not fit is dropped whole (half a paste sent is worse): said so.
      const std::string too_long = "! too long (at most " + std::to_string(crypto::max_text) +
                                   " bytes): the keys or whole paste past it were not added";
      term->limit_lines(crypto::max_text + 64, o.style == output_style::styled
                                                   ? "\x1b[31m" + too_long + "\x1b[0m"
                                                   : too_long);
      term->set_commands(
          {"/accept", "/delete-account", "/help", "/msg", "/password", "/quit", "/verify", "/who"});
      term->set_line_stamp([opts = cio.terminal_opts] {
        return time_stamp(std::chrono::system_clock::now(), opts);
      });
      u.attach(&*term, cio.terminal_opts);
      update_candidates();
    } catch (const std::exception& e) {
      u.warning(std::string("warning: no line editor (") + e.what() + "); reading plain lines");
    }
  }
  std::thread input([&] {
    if (term) {
      auto say = [&](std::string text) {
        net::post(io, [&, text = std::move(text)] {
          if (text.starts_with("!")) {
            u.error(text);
          } else {
            u.info(text);
          }
        });
      };
      while (auto line = term->next_line(&stop)) {
        // Read here, where the keys are: the passwords never reach a shown line.
        const auto parsed = parse_input(*line);
        if (std::holds_alternative<password_line>(parsed) ||
            std::holds_alternative<delete_account_line>(parsed)) {
          const bool deleting = std::holds_alternative<delete_account_line>(parsed);
          if (stop) break;
          // Typed right after the sign-in, the roster may still be on its way (the relay
          // reads nothing else from us meanwhile anyway): it is waited for, a few seconds.
          for (int waited = 0; !chat_ready && !relay_away && !stop && waited < 100; ++waited) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
          if (stop) break;
          if (!chat_ready) {  // said before three passwords are typed for nothing
            say(std::string("! not connected to the relay: ") +
                (deleting ? "nothing deleted" : "password not changed") +
                "; try again once it is back");
            continue;
          }
          // The prompt stays up, whatever ends the chat meanwhile, until Enter or Ctrl-C:
          // keys typed at a prompt that vanished would go to the shell, a password on
          // screen and in its history (found by a review). A signal still ends it.
          hidden_prompt_up = true;
          auto r = read_account_request(*term, deleting, c.me(), &hidden_abort, stop, say);
          hidden_prompt_up = false;
          if (stop) break;
          if (r) {
            net::post(io, [&, r = std::make_shared<account_request>(std::move(*r))] {
              request_account(std::move(*r));
            });
          }
          continue;
        }
        net::post(io, [&, text = std::move(*line)] { take_line(text); });
      }
    } else {
      while (auto line = cio.lines.next(&stop)) {
        // A script's /quit ends its input, as `exit` ends a shell script: nothing after it
        // is read, and what came before is confirmed before leaving, as at the end.
        if (std::holds_alternative<quit_line>(parse_input(*line))) break;
        // A line over max_input_line comes as its head alone (the reader drops the rest),
        // which the size check in on_line refuses: never sent in part.
        net::post(io, [&, text = std::move(*line)] { take_line(text); });
      }
    }
    net::post(io, [&] {     // end of input or Ctrl-D, after what came before
      input_ended = !term;  // a person at a terminal who leaves means now
      take_line("/quit");
    });
  });
  io.restart();
  io.run();
  chat_ready = false;
  stop = true;
  if (term && hidden_prompt_up) {
    term->print(
        "* the chat has ended: press Enter (or Ctrl-C) to leave; nothing typed at this "
        "prompt is used");
  }
  input.join();
  // Leaving before a window of rejected messages ends: what it held back is still said.
  say_held_back(rejections.take_all());
  // Ended by the relay (a kick, a ban, a sign-in elsewhere) while a line was being typed:
  // it is named, as every message that did not go is.
  if (term) {
    if (const std::string d = term->draft(); d.find_first_not_of(" \t") != std::string::npos) {
      u.warning("! not sent (you were still typing it): " + excerpt(d));
    }
  }
  const bool term_was_used = term.has_value();
  u.attach(nullptr, {});
  term.reset();
  // A script reads the exit code; a person has read each line that said what did not go.
  if (code == exit_ok && something_unsent && !term_was_used) code = exit_not_all_sent;
  // A script interrupted (Ctrl-C at the shell, SIGTERM) left cleanly, but did not finish:
  // its exit code says so, as a shell's does (130 for Ctrl-C), never 0 (review 11).
  if (code == exit_ok && ended_by != 0 && !term_was_used) code = 128 + ended_by;
  return code;
}

}  // namespace

int run_client(const client_config& cfg) {
  crypto::init();
  // Read and cleared first, whatever else happens: it must not outlive this point.
  password_text env_password;
  auto from_env = take_password_from_environment();
  const bool have_env_password = from_env.has_value();
  if (from_env) {
    env_password.value = *from_env;
    crypto::wipe(from_env->data(), from_env->size());
    from_env.reset();
  }

  const bool stdin_tty = ::isatty(STDIN_FILENO) != 0;
  const bool stdout_tty = ::isatty(STDOUT_FILENO) != 0;
  const bool use_editor = !cfg.json && interactive_terminal_available(STDIN_FILENO, STDOUT_FILENO);
  const char* term_name = std::getenv("TERM");
  const bool colour = !no_color_requested() && term_name != nullptr && *term_name != '\0' &&
                      std::string_view(term_name) != "dumb";
  auto options_for = [&](bool tty) {
    render_options o;
    o.style = cfg.json          ? output_style::json
              : (tty && colour) ? output_style::styled
                                : output_style::plain;
    o.timestamps = tty;
    return o;
  };
  // With the editor everything is on the terminal; otherwise stdout carries only messages
  // (or JSON events) and prompts and status lines go to stderr.
  const ui::stream messages{stdout, options_for(stdout_tty)};
  const ui::stream status =
      use_editor ? messages : ui::stream{stderr, options_for(::isatty(STDERR_FILENO) != 0)};
  ui u(messages, status);

  const std::string relay_id = cfg.host + ":" + std::to_string(cfg.port);
  const data_dir dir(default_home(cfg.home));
  line_reader in(STDIN_FILENO, max_input_line);
  // Whatever way run_client ends, echo is back on and keys typed unseen are not left for
  // the shell to run.
  struct terminal_back_on_exit {
    ~terminal_back_on_exit() { put_terminal_back(); }
  } terminal_back;

  net::io_context io(1);
  if (!cfg.relay_key && stdin_tty) {
    std::optional<crypto::public_key> pinned;
    try {
      pinned = dir.pinned_relay(relay_id);
    } catch (const std::exception& e) {
      u.error(std::string("error: ") + e.what());
      return exit_key_mismatch;
    }
    if (!pinned) {
      if (const int code = confirm_new_relay(u, in, io, cfg, dir, relay_id); code != exit_ok)
        return code;
    }
  }
  // Without a terminal, standard input carries the messages: its first line is never taken
  // as a name or a password (`printf 'bob:hi\n' | node` would send "bob:hi" to the relay as
  // a password, and count it as a failed sign-in against the address).
  if (!stdin_tty && !(cfg.user && (cfg.password_file || have_env_password))) {
    u.error(std::string("error: no ") + (cfg.user ? "password" : "user name") +
            ": standard input is not a terminal, and its lines are messages; give " +
            (cfg.user ? "--password-file PATH or set RELAYCHAT_PASSWORD" : "--user NAME"));
    return exit_failure;
  }
  // A password file that will be refused is said before the relay is asked anything, and
  // before a first-use pin is made (review 14 saw "pinned ... (first use)", then the file
  // refused for its permissions). Read again, for use, at the sign-in.
  if (cfg.password_file) {
    std::string error;
    auto pw = read_password_file(*cfg.password_file, error);
    if (!pw) {
      u.error("error: " + error);
      return exit_failure;
    }
    crypto::wipe(*pw);
  }
  // Before asking anything of a person, as ssh does: connect and check the relay's key, so a
  // relay that is down or not the one pinned is said first. The connection then waits for
  // the sign-in; a relay that stopped waiting (its sign-in deadline) gets a fresh one. The
  // key it proves also finds the user's files under another spelling of its address.
  bool key_mismatch = false;
  auto l = std::make_shared<link>(io);
  {
    auto opened = run_until_done(
        io, l->open(cfg.host, cfg.port, relay_key_check(u, cfg, dir, relay_id, key_mismatch)));
    if (!opened)
      return key_mismatch ? exit_key_mismatch
                          : report_link_failure(u, opened.error(), *l, relay_id);
  }

  // The same relay reached by another spelling of its address (localhost and 127.0.0.1, a
  // DNS name): its key, which only it can prove, says so. A user's key and contacts kept
  // under an earlier spelling are used, rather than a new key that would warn every contact.
  std::vector<std::string> same_relay;  // spellings pinned to this key before, in file order
  try {
    for (const auto& pin : dir.relay_pins()) {
      if (pin.key == l->relay_key() && pin.relay != relay_id &&
          std::find(same_relay.begin(), same_relay.end(), pin.relay) == same_relay.end())
        same_relay.push_back(pin.relay);
    }
  } catch (const std::exception&) {
    // A damaged file was refused by the key check already (unless --relay-key): no aliases.
  }
  // Where `user`'s files are: this spelling's directory if it has their key, else the first
  // other spelling of the same relay that does, else this one (a new device).
  auto data_dir_for = [&](const std::string& user) {
    if (std::filesystem::exists(dir.identity_path(relay_id, user))) return relay_id;
    for (const auto& other : same_relay) {
      if (std::filesystem::exists(dir.identity_path(other, user))) return other;
    }
    return relay_id;
  };
  std::string data_id = relay_id;

  std::string name;
  // name's files in data_id, read before each sign-in is sent (see there).
  std::string contacts_text, seen_text, sent_text;
  password_text password;
  // At the terminal, a password that did not unlock this device's key before one that did:
  // perhaps the account's new password, changed on another device.
  password_text did_not_unlock[2];  // the first such, and the last (if another)
  // True once this device's key opened with the password typed: it was the account's.
  bool key_opened = false;
  bool typed_at_terminal = false;  // a typo is possible: sign-up asks to confirm
  std::optional<crypto::key_pair> identity;
  bool new_identity = false;
  bool signed_up = false;
  proto::key_bytes pub{};
  auto report_link_error = [&](std::error_code ec) {
    return key_mismatch ? exit_key_mismatch : report_link_failure(u, ec, *l, relay_id);
  };
  // At a terminal, a refused sign-in the person does not turn into a new account starts
  // again from the name (a typo in either), three rounds in all, as ssh asks three times.
  for (int round = 1;; ++round) {
    if (cfg.user) {
      name = *cfg.user;
    } else {
      // Offered, and Enter alone takes it: the name of the round before (a mistyped
      // password), else the one last signed in with from here.
      std::string offered = round > 1 ? name : dir.read_last_user(relay_id);
      for (std::size_t i = 0; offered.empty() && round == 1 && i < same_relay.size(); ++i)
        offered = dir.read_last_user(same_relay[i]);
      for (;;) {
        auto raw_name =
            ask(u, in, offered.empty() ? "user name: " : "user name [" + offered + "]: ");
        if (!raw_name) {
          if (stdin_tty) u.prompt("\n");
          u.error(stdin_tty ? "no user name: nothing done"
                            : "error: no user name (without a terminal, give --user NAME)");
          return exit_failure;
        }
        name = typed_name(*raw_name);
        if (name.empty()) name = offered;
        if (proto::valid_name(name)) break;
        if (!name.empty() || !stdin_tty)
          u.error("error: invalid user name: names are " + std::string(proto::name_rules));
        if (!stdin_tty) return exit_failure;  // at a terminal: asked again
      }
    }
    name = typed_name(name);
    if (!proto::valid_name(name)) {  // --user
      u.error("error: invalid user name: names are " + std::string(proto::name_rules));
      return exit_failure;
    }
    crypto::wipe(password.value);  // an earlier round's
    password.value.clear();
    if (cfg.password_file) {
      std::string error;
      auto pw = read_password_file(*cfg.password_file, error);
      if (!pw) {
        u.error("error: " + error);
        return exit_failure;
      }
      password.value = std::move(*pw);
    } else if (have_env_password) {
      password.value = env_password.value;
    } else {
      // At a terminal (the only way here): Enter alone, or a password longer than any can
      // be, is asked again here, not sent to the relay as a failed sign-in.
      for (int tries = 1;; ++tries) {
        auto pw = read_secret(u, in, "password: ");
        if (!pw) {
          if (stdin_tty) u.prompt("\n");
          u.error("no password: nothing done");
          return exit_failure;
        }
        if (!pw->empty() && pw->size() <= proto::max_password) {
          password.value = std::move(*pw);
          break;
        }
        u.error(pw->empty() ? "no password typed" : "passwords are at most 255 bytes");
        crypto::wipe(*pw);
        if (tries == 3) return exit_bad_credentials;
        u.info("type it again (Ctrl-D leaves)");
      }
      typed_at_terminal = stdin_tty;
    }
    if (password.value.size() > proto::max_password) {
      u.error("error: passwords are at most 255 bytes");
      return exit_bad_credentials;
    }
    start_quiet();  // a password from a file or the environment: keys typed now unseen too

    // The identity key: unlocked from this data directory, or new (a new device).
    identity.reset();
    new_identity = false;
    key_opened = false;
    try {
      data_id = data_dir_for(name);
      if (data_id != relay_id)
        u.info("* " + shown_relay(relay_id) + " has the key of relay " + shown_relay(data_id) +
               ": the same relay; " + name + "'s key and contacts from there are used");
      if (auto file = dir.read_identity(data_id, name)) {
        // A file no password can open is not a wrong password: said as what it is, and
        // nothing suggests making a new key (which would warn every contact).
        if (const std::string problem = crypto::key_file_problem(*file); !problem.empty()) {
          u.error("error: cannot use " + name + "'s key file\n  " +
                  dir.identity_path(data_id, name).string() + ":\n  " + problem +
                  ".\n  Nothing was sent to the relay. Restore the file from a backup if you "
                  "have one.");
          return exit_failure;
        }
        auto kp = crypto::open_key_file(*file, password.value);
        // A typo at the terminal gets two more tries, as ssh and sudo give. Or the password
        // was changed on another device (/password), and this key is still sealed with the
        // old one: the old one opens it, and the one typed before is tried at the relay too.
        for (int tries = 1; !kp && typed_at_terminal && tries < 3; ++tries) {
          // A typo first: the other case is the rare one (review 14: the first typo read as
          // a password changed elsewhere).
          u.error("wrong password: it does not unlock " + name +
                  "'s key on this device; type it again" +
                  (tries == 1 ? ".\n  (Changed it on another device? Then type the OLD one here: "
                                "it opens the key,\n  which is then sealed with the new one.)"
                              : ""));
          auto pw = read_secret(u, in, "password: ");
          if (!pw) {
            u.prompt("\n");
            u.error("no password: nothing done");
            return exit_failure;
          }
          // The first one typed (often the new password, typed first from habit) is kept,
          // and the last before this: a typo between them takes no candidate away.
          password_text& kept =
              did_not_unlock[0].value.empty() ? did_not_unlock[0] : did_not_unlock[1];
          kept.forget();
          std::swap(kept.value, password.value);
          password.value = std::move(*pw);
          crypto::wipe(*pw);
          kp = crypto::open_key_file(*file, password.value);
        }
        for (password_text& candidate : did_not_unlock) {
          if (kp &&
              (candidate.value == password.value || !proto::acceptable_password(candidate.value))) {
            candidate.forget();  // no candidate for a new password
          }
        }
        if (did_not_unlock[1].value == did_not_unlock[0].value) did_not_unlock[1].forget();
        key_opened = kp.has_value();
        if (!kp) {
          // Nothing reached the relay. The key file stays; someone who lost the password (or
          // whose account the operator deleted) is told how to start afresh, and what it costs.
          u.error("not signed in: this password does not unlock " + name + "'s key in\n  " +
                  dir.identity_path(data_id, name).string() +
                  "\n  (nothing was sent to the relay). Changed the password on another"
                  "\n  device? Sign in here once at a terminal and type the old one when"
                  "\n  asked. Lost the password? The relay's operator can delete the account;"
                  "\n  then move that file aside and sign up again. Your contacts will be"
                  "\n  warned of the new key. (A file damaged inside reads the same as a"
                  "\n  wrong password: try a backup of it first.)");
          return exit_bad_credentials;
        }
        identity.emplace(std::move(*kp));
      } else {
        // A key that could not be kept would be announced, used once and lost: every run
        // would warn the contacts of another new key. Nothing is sent unless it can be kept.
        dir.check_identity_writable(data_id, name);
        identity.emplace(crypto::key_pair::generate(crypto::os_random()));
        new_identity = true;
      }
    } catch (const std::exception& e) {
      u.error(std::string("error: ") + e.what());
      return exit_failure;
    }
    // Read and checked before anything is sent: signing in first would replace this
    // account's session on its other device, only to stop (found by a review). A file that
    // cannot be read (a directory in its place) stops the run like a damaged one: taken as
    // empty, it would drop every pin or counter in it without a word.
    try {
      contacts_text = dir.read_contacts(data_id, name);
      seen_text = dir.read_seen(data_id, name);
      sent_text = dir.read_sent(data_id, name);
    } catch (const std::exception& e) {
      u.error(std::string("error: ") + e.what() + "; not continuing (nothing was sent)");
      return exit_failure;
    }
    if (std::string problem; !contact_book::parse(contacts_text, &problem)) {
      u.error("error: " + dir.contacts_path(data_id, name).string() + " is damaged (" + problem +
              "); not continuing (it holds your contacts' pinned keys)\n  Nothing was sent to "
              "the relay.");
      return exit_failure;
    }
    std::copy(identity->pub().begin(), identity->pub().end(), pub.begin());

    auto outcome =
        run_until_done(io, attempt(u, *l, cfg, dir, relay_id, key_mismatch,
                                   proto::sign_in{name, password.value, pub}, &*identity));
    const bool gave_up_waiting = outcome.link_error == link_errc::closed ||
                                 (outcome.closed && outcome.closed->code == proto::reason::timeout);
    if (gave_up_waiting) {
      l = std::make_shared<link>(io);  // the person took longer than the relay waits
      outcome = run_until_done(io, attempt(u, *l, cfg, dir, relay_id, key_mismatch,
                                           proto::sign_in{name, password.value, pub}, &*identity));
      // Not the relay's deadline after all: it went away during the sign-in.
      if (outcome.link_error && !key_mismatch)
        u.error("the relay closed the connection during the sign-in; connecting again failed:");
    }
    retry_while_busy(u, io, l, outcome, [&] {
      return run_until_done(io, attempt(u, *l, cfg, dir, relay_id, key_mismatch,
                                        proto::sign_in{name, password.value, pub}, &*identity));
    });
    // Too many failures from this address lately: a person is told how long, waits, and the
    // same sign-in goes again (the relay names the seconds, protocol.md 5.2).
    for (int waits = 0; stdin_tty && waits < 3 && outcome.refused &&
                        outcome.refused->code == proto::reason::rate_limited;
         ++waits) {
      const auto secs = retry_after_seconds(outcome.refused->text);
      if (!secs || *secs > 300) break;
      u.error("sign-in refused for now: " + printable(outcome.refused->text));
      u.info("waiting " + std::to_string(*secs) + " s, then trying again (Ctrl-C leaves)");
      // Closed now, not after the wait: the relay keeps a slot per address for connections
      // not signed in, and would time this one out with "sign-in took too long".
      close_politely(io, l);
      std::this_thread::sleep_for(std::chrono::seconds(*secs) + std::chrono::milliseconds(300));
      l = std::make_shared<link>(io);
      outcome = run_until_done(io, attempt(u, *l, cfg, dir, relay_id, key_mismatch,
                                           proto::sign_in{name, password.value, pub}, &*identity));
    }
    // The old password opened this device's key, and the relay refused it: the password
    // was changed on another device, to the one typed first, it seems. Tried now; if it
    // signs in, the key here is sealed with it.
    for (password_text& candidate : did_not_unlock) {
      if (candidate.value.empty() || !outcome.refused ||
          outcome.refused->code != proto::reason::invalid_credentials) {
        continue;
      }
      close_politely(io, l);
      l = std::make_shared<link>(io);
      outcome = run_until_done(io, attempt(u, *l, cfg, dir, relay_id, key_mismatch,
                                           proto::sign_in{name, candidate.value, pub}, &*identity));
      if (!outcome.link_error && !outcome.refused && !outcome.closed) {
        std::swap(password.value, candidate.value);
        try {
          dir.write_identity(data_id, name,
                             crypto::seal_key_file(*identity, password.value, crypto::os_random()));
          u.info("* signed in with the new password; " + name +
                 "'s key on this device, sealed with the old\n  one, is now sealed with the new "
                 "one");
        } catch (const std::exception& e) {
          u.warning("* signed in with the new password, but " + name +
                    "'s key on this device could not be\n  sealed with it (" + e.what() +
                    "): it still opens with the old one");
        }
      }
    }
    for (password_text& candidate : did_not_unlock) candidate.forget();
    if (outcome.link_error) return report_link_error(outcome.link_error);
    if (outcome.closed) {
      u.error("sign-in failed: " + printable(outcome.closed->text));
      return exit_bad_credentials;
    }
    if (!outcome.refused) break;  // signed in
    if (outcome.refused->code != proto::reason::invalid_credentials) {
      u.error("sign-in failed: " + printable(outcome.refused->text));
      return exit_bad_credentials;
    }
    // With --sign-up the sign-in only checks for an existing account: no failure to report.
    if (!cfg.sign_up) u.error("sign-in failed: invalid credentials");
    if (!cfg.sign_up && key_opened) {
      // Not a typo: this password was the account's. Said, as the likely story (found by a
      // review: a device left behind by a password change offered only a new account).
      u.error("  This password opens " + name + "'s key on this device, so it was " + name +
              "'s\n  password: it was changed since (on another device? if not, someone has "
              "your\n  password: tell the relay's operator), or the operator deleted the "
              "account.\n  Sign in with the new password: this device's key opens with the old "
              "one,\n  which is asked for once.");
    }
    if (!cfg.sign_up) {
      if (!stdin_tty) {
        // No terminal to ask y/N on: a script creates accounts only when told to.
        // The relay does not say which (a wrong password or no such account): both are named.
        // After the lines above, which say what it most likely was, not the riddle again.
        u.error(key_opened ? std::string("nothing was created (without a terminal, --sign-up "
                                         "creates an account of that name)")
                           : "a wrong password, or no account named " + name +
                                 " (without a terminal, --sign-up creates it; nothing was "
                                 "created)");
        return exit_bad_credentials;
      }
      auto answer = ask(u, in, "Create a new account named '" + name + "'? [y/N] ");
      if (!answer) u.prompt("\n");
      if (!answer || (*answer != "y" && *answer != "Y" && *answer != "yes")) {
        if (!answer || !typed_at_terminal || round == 3) {
          u.info("no account created");
          close_politely(io, l);  // the relay logs a goodbye, not a dropped connection
          return exit_bad_credentials;
        }
        u.info(cfg.user ? "no account created: type the password again (Ctrl-D leaves)"
                        : "no account created: sign in again (Ctrl-D leaves)");
        close_politely(io, l);  // a fresh connection: the relay's sign-in deadline is short
        l = std::make_shared<link>(io);
        continue;
      }
    }
    if (typed_at_terminal) {
      // Reads a password of the sign-up; end of input there gives the sign-up up.
      auto read_or_give_up = [&](const std::string& prompt, password_text& into) {
        auto pw = read_secret(u, in, prompt);
        if (!pw) {
          u.prompt("\n");
          u.error("no account created");
          return false;
        }
        into.value = std::move(*pw);
        crypto::wipe(*pw);  // a short one's bytes stay behind a move
        return true;
      };
      // A mistyped password or confirmation asks again (three rounds), not from the start.
      for (int tries = 1;; ++tries) {
        if (!proto::acceptable_password(password.value)) {
          u.error("passwords must be 8 to 255 bytes long");
        } else {
          password_text again;
          if (!read_or_give_up("confirm password: ", again)) return exit_bad_credentials;
          if (again.value == password.value) break;
          u.error("the passwords do not match");
        }
        if (tries == 3) {
          u.error("error: no account created");
          return exit_bad_credentials;
        }
        password_text fresh;
        if (!read_or_give_up("password for the new account: ", fresh)) return exit_bad_credentials;
        std::swap(password.value, fresh.value);  // the old one is wiped with `fresh`
      }
    }
    if (!proto::acceptable_password(password.value)) {
      u.error("error: passwords must be 8 to 255 bytes long; no account created");
      return exit_bad_credentials;
    }
    close_politely(io, l);
    l = std::make_shared<link>(io);
    outcome = run_until_done(io, attempt(u, *l, cfg, dir, relay_id, key_mismatch,
                                         proto::sign_up{name, password.value, pub}));
    retry_while_busy(u, io, l, outcome, [&] {
      return run_until_done(io, attempt(u, *l, cfg, dir, relay_id, key_mismatch,
                                        proto::sign_up{name, password.value, pub}));
    });
    if (outcome.link_error) return report_link_error(outcome.link_error);
    // "Create it?" answered y after a sign-in failed on a name that exists: the password was
    // what was wrong (or the name a typo of another). Another round, as after N.
    if (outcome.refused && outcome.refused->code == proto::reason::name_taken &&
        typed_at_terminal && round < 3 && !cfg.sign_up) {
      u.error("sign-up failed: " + printable(outcome.refused->text) +
              ", so the password was wrong (or the name mistyped)");
      u.info(cfg.user ? "no account created: type the password again (Ctrl-D leaves)"
                      : "no account created: sign in again (Ctrl-D leaves)");
      close_politely(io, l);
      l = std::make_shared<link>(io);
      continue;
    }
    // A name the relay will not make (one that looks like a taken name): a name typed at the
    // prompt may be chosen again.
    if (outcome.refused && outcome.refused->code == proto::reason::invalid_name &&
        typed_at_terminal && round < 3 && !cfg.user) {
      u.error("sign-up failed: " + printable(outcome.refused->text));
      u.info("no account created: sign in, or sign up with another name (Ctrl-D leaves)");
      name.clear();  // not offered again
      close_politely(io, l);
      l = std::make_shared<link>(io);
      continue;
    }
    if (outcome.refused || outcome.closed) {
      u.error("sign-up failed: " +
              printable(outcome.refused ? outcome.refused->text : outcome.closed->text));
      if (outcome.refused && outcome.refused->code == proto::reason::invalid_name &&
          typed_at_terminal && !cfg.user)
        u.info("no account created, three rounds in all: start again to try another name");
      return exit_bad_credentials;
    }
    signed_up = true;
    break;
  }
  try {
    dir.write_last_user(relay_id, name);
  } catch (const std::exception&) {
    // Only a convenience for the next sign-in: not worth a warning in the chat.
  }
  if (new_identity) {
    try {
      dir.write_identity(data_id, name,
                         crypto::seal_key_file(*identity, password.value, crypto::os_random()));
    } catch (const std::exception& e) {
      u.warning(std::string("warning: could not save your key: ") + e.what());
    }
  }
  // Kept for signing in again after the connection is lost, in guarded memory (no swap, no
  // core file); the plain copy is wiped now.
  crypto::secret_buffer kept_password(
      byte_view(reinterpret_cast<const byte*>(password.value.data()), password.value.size()));
  // A /password the relay may have done before the connection was lost: tried after the old.
  std::optional<crypto::secret_buffer> maybe_password;
  crypto::wipe(password.value);
  password.value.clear();
  crypto::wipe(env_password.value);
  env_password.value.clear();
  end_quiet(u);
  u.show(signed_in_event{name, key_text::of(identity->pub()), signed_up});
  if (new_identity && !signed_up) {
    // One key per account: the contacts of this account pinned the other device's key.
    u.warning("! this device had no key for " + name +
              ": a new one was made. Your\n"
              "  contacts are being warned that your key changed: compare safety\n"
              "  numbers with them (/verify NAME). Signing in again from the other\n"
              "  device changes it back.");
  }
  // A hint for a person: a script's log has no use for it (a review).
  if (!cfg.json && stdin_tty) u.info("type NAME:MESSAGE to send, /help for commands");
  auto book = contact_book::parse(contacts_text);  // checked before the sign-in
  auto save_book = [&] {
    try {
      dir.write_contacts(data_id, name, book->serialise());
    } catch (const std::exception& e) {
      u.warning(std::string("warning: could not save contact keys: ") + e.what());
    }
  };
  // Signing in again (relink) proves this device with the same key the chat now holds.
  const crypto::key_pair device = identity->copy();
  chat c(name, std::move(*identity), crypto::os_random());
  c.restore_seen(chat::parse_seen(seen_text));
  c.keep_counters_of([&book](const std::string& who, const crypto::public_key& key) {
    const contact* pinned = book->find(who);
    return pinned && pinned->key == key;
  });
  c.restore_highest_sent(chat::parse_sent(sent_text));
  auto save_seen = [&] {
    try {
      dir.write_seen(data_id, name, chat::format_seen(c.seen()));
    } catch (const std::exception& e) {
      u.warning(std::string("warning: could not save message counters: ") + e.what());
    }
  };
  // After every message or notice sealed: the next run's counters start above it.
  std::uint64_t saved_sent = c.highest_sent();
  bool sent_warned = false;
  auto save_sent = [&] {
    if (c.highest_sent() == saved_sent) return;
    try {
      dir.write_sent(data_id, name, chat::format_sent(c.highest_sent()));
      saved_sent = c.highest_sent();
    } catch (const std::exception& e) {
      if (!std::exchange(sent_warned, true))
        u.warning(std::string("warning: could not save the message counter: ") + e.what());
    }
  };
  render_options terminal_opts = options_for(true);
  std::string prompt_text = name + "> ";
  if (terminal_opts.style == output_style::styled) {
    prompt_text = "\x1b[" + std::string(name_colour(name)) + "m" + name + "\x1b[0m> ";
  }
  chat_io cio{u, in, use_editor, terminal_opts, prompt_text, cfg.relay_timeout};
  // Signing in again on a new connection, with the same name, password and identity key.
  relink_fn relink = [&]() -> awaitable<relink_result> {
    relink_result r;
    auto fresh = std::make_shared<link>(io);
    key_mismatch = false;
    // Built first, not as a temporary in the co_await expression: GCC 12 destroys such a
    // temporary twice when the coroutine frame is torn down.
    proto::frame credentials = proto::sign_in{
        name,
        std::string(reinterpret_cast<const char*>(kept_password.data()), kept_password.size()),
        pub};
    auto out = co_await attempt(u, *fresh, cfg, dir, relay_id, key_mismatch, std::move(credentials),
                                &device);
    if (maybe_password && !out.link_error && out.refused &&
        out.refused->code == proto::reason::invalid_credentials) {
      // The password change went through after all: the new one, on a new connection.
      fresh = std::make_shared<link>(io);
      proto::frame changed =
          proto::sign_in{name,
                         std::string(reinterpret_cast<const char*>(maybe_password->data()),
                                     maybe_password->size()),
                         pub};
      out = co_await attempt(u, *fresh, cfg, dir, relay_id, key_mismatch, std::move(changed),
                             &device);
      if (!out.link_error && !out.refused && !out.closed) {
        std::string now(reinterpret_cast<const char*>(maybe_password->data()),
                        maybe_password->size());
        const std::string problem = cio.password_changed(now);  // forgets maybe_password
        crypto::wipe(now);
        u.info("* the password change went through: signed in with the new password" +
               (problem.empty() ? std::string() : "; but " + problem));
      }
    }
    if (maybe_password && !out.link_error && !out.refused && !out.closed) {
      u.info(
          "* the password was not changed (the relay had not done it when the connection "
          "was lost):\n  signed in with the old one; /password tries again");
      maybe_password.reset();  // the old one signs in: the new one never will
    }
    // Not signed in (the relay still away, or busy): both are tried again next time.
    if (out.link_error) {
      if (key_mismatch) {  // the warning is on screen already
        r.give_up = true;
        r.exit_code = exit_key_mismatch;
      } else {
        r.why = "cannot reconnect: " + out.link_error.message();
        if (!fresh->unreachable_because().empty())
          r.why += " (" + fresh->unreachable_because() + ")";
        if ((out.link_error == link_errc::handshake_failed ||
             out.link_error == link_errc::timeout) &&
            !fresh->protocol_fault().empty())
          r.why += ": " + fresh->protocol_fault();
      }
      co_return r;
    }
    if (out.refused || out.closed) {
      const auto code = out.refused ? out.refused->code : out.closed->code;
      const std::string text = printable(out.refused ? out.refused->text : out.closed->text);
      // The relay restarting or busy hashing: worth another try; held back for failures
      // (someone guessing behind our address, protocol.md 5.2): after the time it names.
      // Anything else is an answer.
      const auto wait = code == proto::reason::rate_limited && out.refused
                            ? retry_after_seconds(out.refused->text)
                            : std::nullopt;
      if (code == proto::reason::shutting_down || code == proto::reason::busy ||
          code == proto::reason::timeout || wait) {
        r.why = "cannot reconnect yet: " + text;
        if (wait) r.retry_after = std::chrono::seconds(*wait);
      } else {
        r.give_up = true;
        r.exit_code = exit_bad_credentials;
        // The password worked minutes ago: it was changed elsewhere (by its owner, or by
        // someone who has it), or the operator deleted the account. Said so the person
        // knows what to do, and whom to ask.
        r.why = "signing in again failed: " + text +
                (code == proto::reason::invalid_credentials
                     ? ".\n  The password was changed since this device signed in (on another "
                       "device? if not,\n  someone has your password: tell the relay's "
                       "operator), or the operator\n  deleted the account. Start again and "
                       "sign in with the new password."
                     : "");
        r.refused_credentials = code == proto::reason::invalid_credentials;
      }
      co_return r;
    }
    r.l = std::move(fresh);
    co_return r;
  };
  cio.new_device = new_identity;
  cio.password_changed = [&](const std::string& fresh) -> std::string {
    kept_password =
        crypto::secret_buffer(byte_view(reinterpret_cast<const byte*>(fresh.data()), fresh.size()));
    maybe_password.reset();
    try {
      dir.write_identity(data_id, name, crypto::seal_key_file(device, fresh, crypto::os_random()));
    } catch (const std::exception& e) {
      return std::string("this device's key could not be sealed with it (") + e.what() +
             "):\n  it still opens with the old password, which the next sign-in asks for";
    }
    return {};
  };
  cio.password_maybe_changed = [&](const std::string& fresh) {
    maybe_password.emplace(byte_view(reinterpret_cast<const byte*>(fresh.data()), fresh.size()));
  };
  cio.account_deleted = [&]() -> std::string {
    // The key of an account that is gone opens nothing; contacts and counters stay, for a
    // new account of the same name made here.
    const auto key_path = dir.identity_path(data_id, name);
    std::error_code ec;
    std::filesystem::remove(key_path, ec);
    try {  // not offered at the next sign-in (an empty file offers nothing)
      if (dir.read_last_user(relay_id) == name) dir.write_last_user(relay_id, "");
    } catch (const std::exception&) {
      // Only a convenience, as when it is written.
    }
    if (ec) {
      return ";\n  its key on this device could not be removed (" + ec.message() +
             "): " + key_path.string();
    }
    return ";\n  its key on this device was removed (" + key_path.string() + ")";
  };
  return chat_loop(io, l, c, cio, *book, save_book, save_seen, save_sent, relink);
}

}  // namespace relay::client
