// Reads lines from a file descriptor with poll(), so the reading thread can be told to stop
// (a thread blocked in getline could never be joined). Used by the console and the client.
#pragma once

#include <atomic>
#include <optional>
#include <string>

namespace relay {

class line_reader {
 public:
  /// A line longer than `max_line` bytes comes back once, as its first `max_line` bytes with
  /// cut() set; the rest of it, up to and including its "\n", is read and thrown away. So a
  /// caller refuses an over-long line once, and no piece of its tail is ever taken for a
  /// line of its own (a console command, a message).
  explicit line_reader(int fd, std::size_t max_line = 65536) : fd_(fd), max_line_(max_line) {}
  /// The next line without its "\n" (and "\r"); nullopt on end of input, error, or once
  /// `stop` is set (checked every 200 ms). A last line without "\n" is returned at EOF.
  std::optional<std::string> next(const std::atomic<bool>* stop = nullptr);
  /// Whether the line next() returned last was longer than `max_line` and cut.
  bool cut() const noexcept { return cut_; }
  bool at_eof() const noexcept { return eof_; }

 private:
  int fd_;
  std::size_t max_line_;
  std::string pending_;
  bool eof_ = false;
  bool cut_ = false;
  bool skipping_ = false;  // throwing away the rest of a cut line
};

}  // namespace relay
