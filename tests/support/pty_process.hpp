// A program running under a pseudo-terminal for end-to-end tests: type lines into it, wait for
// what it prints (with a transcript for failure messages), signal it and collect its exit code.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace relay::test {

using namespace std::chrono_literals;

/// How to start a program: argv[0] is the executable path (not searched in PATH).
struct pty_options {
  std::vector<std::string> argv;
  /// Empty: the test's own working directory.
  std::filesystem::path working_dir;
  /// Added to (or replacing in) the test's environment.
  std::vector<std::pair<std::string, std::string>> env;
  /// Shown in failure messages.
  std::string label;
  /// The terminal's width from the start.
  unsigned short columns = 160;
};

class pty_process {
 public:
  static constexpr std::chrono::milliseconds default_timeout = 10s;

  /// Starts the program under forkpty(); throws std::runtime_error if it cannot.
  explicit pty_process(pty_options opts);
  /// SIGKILLs the program if it still runs, then reaps it.
  ~pty_process();
  pty_process(const pty_process&) = delete;
  pty_process& operator=(const pty_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  const std::string& label() const noexcept { return label_; }

  /// Writes bytes as typed on the keyboard.
  void send(std::string_view bytes);
  /// Types `line` then Enter (a carriage return, as a real terminal sends).
  void send_line(std::string_view line);
  /// Ctrl-D: end of input for a program reading the terminal in canonical mode.
  void send_eof() { send("\x04"); }
  void send_signal(int sig);
  /// Sets the terminal's width (the kernel sends the program SIGWINCH), as a resized window.
  void resize(unsigned short columns);
  void interrupt();
  void terminate();

  /// Waits until `text` (or `re`) appears after the end of the previous match, then moves past
  /// it. Returns everything from the previous match's end up to the end of this one.
  std::optional<std::string> read_until(std::string_view text,
                                        std::chrono::milliseconds timeout = default_timeout);
  std::optional<std::string> read_until(const std::regex& re,
                                        std::chrono::milliseconds timeout = default_timeout);
  bool wait_for(std::string_view text, std::chrono::milliseconds timeout = default_timeout) {
    return read_until(text, timeout).has_value();
  }
  bool wait_for(const std::regex& re, std::chrono::milliseconds timeout = default_timeout) {
    return read_until(re, timeout).has_value();
  }

  /// Waits until the terminal no longer echoes input (a password prompt is really active).
  bool wait_echo_off(std::chrono::milliseconds timeout = default_timeout);
  /// Whether the terminal echoes input now (still answers after the program has exited).
  bool echo_enabled() const;
  /// Whether the terminal echoes nothing typed, not even Enter (ECHO and ECHONL both off).
  bool fully_quiet() const;

  /// Everything printed so far, carriage returns removed.
  std::string transcript() const;
  /// What was printed after the last match.
  std::string unread() const;
  /// A failure message: the label, the reason and the transcript.
  std::string describe(std::string_view why) const;

  /// Waits for the program to end; its exit code, 128 + signal if killed, nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = default_timeout);
  bool running();

 private:
  void read_loop();
  bool reap(int flags);
  std::optional<std::string> wait_match(
      const std::function<std::optional<std::pair<std::size_t, std::size_t>>(const std::string&,
                                                                             std::size_t)>& find,
      std::chrono::milliseconds timeout);

  std::string label_;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::optional<int> status_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string output_;
  std::size_t cursor_ = 0;
  bool eof_ = false;
  bool stop_ = false;
  std::thread reader_;
};

/// A free TCP port on 127.0.0.1: bound to port 0, read back, released.
std::uint16_t free_port();

/// A `node -s` relay under a pty with cheap Argon2 parameters, ready to accept clients.
struct relay_process {
  std::unique_ptr<pty_process> proc;
  std::uint16_t port = 0;
  /// The relay key fingerprint it printed (64 hex digits).
  std::string fingerprint;
};

/// Starts the relay on `port` (a free one when 0) with its database at `db` and waits for
/// "console ready"; retries once on "Address already in use". Throws on failure.
/// `extra` options are appended to the relay's command line (with --argon2-memory among
/// them, the cheap Argon2 parameters are left out). The console reads plain lines
/// (TERM=dumb, whatever the test's TERM) unless `line_editor` (TERM=xterm).
relay_process start_relay(const std::filesystem::path& db, std::uint16_t port = 0,
                          const std::filesystem::path& node = RELAY_NODE_BINARY,
                          const std::vector<std::string>& extra = {}, bool line_editor = false);

}  // namespace relay::test
