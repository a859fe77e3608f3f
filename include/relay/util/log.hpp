// Levelled logging to stderr. Callers never pass secrets or plaintext: names, sizes and
// reasons only. Logging never blocks the caller: a writer thread owns the output.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace relay::log {

enum class level { error = 0, warn = 1, info = 2, debug = 3 };

/// Sets the threshold (messages above it are dropped). Thread-safe.
void set_level(level l) noexcept;
level current() noexcept;
/// Parses "error", "warn", "info", "debug"; false if unknown.
bool parse_level(std::string_view s, level& out) noexcept;
/// Queues one line "<time> <LEVEL> <text>" for standard error and returns at once; lines
/// come out whole and in order. While the output does not keep up (a terminal stopped with
/// Ctrl-S, an unread pipe) and 1 MiB is already waiting, lines are dropped; a WARN line
/// with their number takes their place once there is room again.
void write(level l, std::string_view text);
/// `text` as write() puts it in the line: printable UTF-8 as it is; control characters, DEL,
/// invalid UTF-8 and C1 controls as \xNN, and the invisible direction and joiner controls
/// and other characters that show nothing (util::is_hidden_format) as \u{XXXX}, so that a
/// name or a reason can neither act on the terminal nor reorder what the operator reads.
std::string safe_text(std::string_view text);
/// Waits up to `limit` until every queued line is written; false if some still wait.
/// Also runs at exit.
bool flush(std::chrono::milliseconds limit = std::chrono::seconds(2));
/// Lines dropped since start because the output did not keep up.
std::uint64_t dropped_lines();
/// Where lines go from now on (standard error by default); flushes first. For tests.
void set_output(int fd);
/// From now on, batches of whole lines go to `writer` (called on the logging thread, never
/// on a caller's) instead of the output; an empty function goes back to it. Flushes first.
/// The relay's console uses it to print log lines above the operator's half-typed command.
void set_writer(std::function<void(std::string_view)> writer);

/// Builds the line only when the level is enabled: log::info() << "x " << n;
/// A disabled line costs one comparison (no stream is constructed: debug lines sit on the
/// per-message path).
class line {
 public:
  explicit line(level l) : l_(l) {
    if (l <= current()) os_.emplace();
  }
  ~line() {
    if (os_) write(l_, os_->str());
  }
  template <class T>
  line& operator<<(const T& v) {
    if (os_) *os_ << v;
    return *this;
  }

 private:
  level l_;
  std::optional<std::ostringstream> os_;
};

inline line error() { return line(level::error); }
inline line warn() { return line(level::warn); }
inline line info() { return line(level::info); }
inline line debug() { return line(level::debug); }

}  // namespace relay::log
