// The operator audit log: one ASCII line per console command, appended with one write(2).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace relay::console {

/// One audit line, without the newline:
///   2025-06-01T12:00:00Z kick bob "being rude" => ok "kicked bob"
///   2025-06-01T12:00:00Z stats => ok
///   2025-06-01T12:00:00Z unban carol => error "carol is not banned"
/// The time is UTC. An argument is written bare when it is non-empty and only letters,
/// digits and `-_.:@/+`; otherwise in double quotes with `\"`, `\\` and `\xNN` for every other
/// byte outside printable ASCII, so the line is plain ASCII, unambiguous, and no escape
/// sequence in a reason can act on the terminal of whoever reads the log. `outcome` (the
/// error, or what a command that changes state did) is quoted the same way; an empty outcome
/// of a success is left out.
std::string format_audit_line(std::int64_t unix_time, std::string_view command,
                              std::span<const std::string> args, bool ok,
                              std::string_view outcome = {});

/// An append-only log file. Not thread-safe: the relay uses it from one strand.
class audit_log {
 public:
  /// Remembers `path`; nothing is opened until open() or append().
  explicit audit_log(std::string path) : path_(std::move(path)) {}
  ~audit_log();
  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  /// Opens the file O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC with mode 0600 (so a new log is
  /// readable by the relay's user only); a no-op when open. The errno as an error_code.
  std::error_code open();
  /// Writes `line` and a newline in one write(2) call: O_APPEND makes it one atomic append
  /// and there is no user-space buffer to flush. Opens the file first if needed (again after
  /// an earlier failure). The errno as an error_code; nothing is thrown.
  std::error_code append(std::string_view line);

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace relay::console
