// Audit lines and the O_APPEND file they go to.
#include "relay/console/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "relay/util/write_all.hpp"

namespace relay::console {

namespace {

bool is_bare(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':' || c == '@' || c == '/' ||
                    c == '+';
    if (!ok) return false;
  }
  return true;
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20 || b >= 0x7f) {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_word(std::string& out, std::string_view s) {
  out += ' ';
  if (is_bare(s)) {
    out += s;
  } else {
    append_quoted(out, s);
  }
}

}  // namespace

std::string format_audit_line(std::int64_t unix_time, std::string_view command,
                              std::span<const std::string> args, bool ok,
                              std::string_view outcome) {
  const auto t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  if (std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) stamp[0] = '\0';
  std::string out = stamp;
  append_word(out, command);
  for (const auto& a : args) append_word(out, a);
  if (ok) {
    out += " => ok";
    if (!outcome.empty()) {
      out += ' ';
      append_quoted(out, outcome);
    }
  } else {
    out += " => error ";
    append_quoted(out, outcome);
  }
  return out;
}

audit_log::~audit_log() {
  if (fd_ >= 0) ::close(fd_);
}

std::error_code audit_log::open() {
  if (fd_ >= 0) return {};
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return {errno, std::generic_category()};
  return {};
}

std::error_code audit_log::append(std::string_view line) {
  // Rotated (moved away) or deleted since it was opened: logrotate, or an operator's `mv`.
  // The line goes to a new file at the path, not on to the old one or into an unlinked inode.
  // One stat(2) per operator command.
  if (fd_ >= 0) {
    struct stat at_path {
    }, open_file{};
    if (::stat(path_.c_str(), &at_path) != 0 || ::fstat(fd_, &open_file) != 0 ||
        at_path.st_ino != open_file.st_ino || at_path.st_dev != open_file.st_dev) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  if (auto ec = open()) return ec;
  std::string buf{line};
  buf += '\n';
  if (auto ec = util::write_all(fd_, buf)) {
    // Start afresh next time (e.g. once space is freed); a partial line may remain.
    ::close(fd_);
    fd_ = -1;
    return ec;
  }
  return {};
}

}  // namespace relay::console
