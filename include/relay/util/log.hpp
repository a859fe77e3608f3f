// Levelled logging to stderr. Callers never pass secrets or plaintext: names, sizes and
// reasons only.
#pragma once

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
/// Writes one line "<time> <LEVEL> <text>" to stderr atomically.
void write(level l, std::string_view text);

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
