// The logger: callers queue whole lines; one writer thread puts them on standard error.
//
// Why a thread: standard error is usually the operator's terminal, and a terminal can stop
// taking output (Ctrl-S, a paused pager, a stuck SSH session). A write there blocks, and the
// event loop logs every connection: it would stop serving everyone. So writing never blocks
// a caller; when the writer falls more than a bound behind, lines are dropped and counted,
// and the count is logged in their place once the output moves again.
#include "relay/util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "relay/util/thread_name.hpp"
#include "relay/util/utf8.hpp"
#include "relay/util/write_all.hpp"

namespace relay::log {
namespace {

std::atomic<level> threshold{level::info};

std::string stamp_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return stamp;
}

// Writes whole lines, at most PIPE_BUF bytes a write where lines allow: a pipe keeps such a
// write in one piece, so the console's answers (stdout, often the same pipe or terminal)
// land between lines, never inside one.
void write_lines(int fd, std::string_view s) {
  while (!s.empty()) {
    std::size_t n = s.size();
    if (n > PIPE_BUF) {
      const auto last = s.rfind('\n', PIPE_BUF - 1);
      n = last == std::string_view::npos ? s.find('\n') : last + 1;  // or one long line
      if (n == std::string_view::npos) n = s.size();
    }
    // Best effort: a closed pipe or a full disk must not take the process down.
    (void)util::write_all(fd, s.substr(0, n));
    s.remove_prefix(n);
  }
}

class sink {
 public:
  static sink& get() {
    // Never destroyed: the writer thread may still be in write() (a stopped terminal) while
    // static objects are torn down at exit, and it must not find them gone.
    static sink* const s = new sink;
    return *s;
  }

  void push(std::string line) {
    std::lock_guard lock(m_);
    if (queued_.size() + line.size() > max_queued) {
      ++dropped_now_;
      ++dropped_total_;
      return;
    }
    if (dropped_now_ != 0) note_dropped();
    queued_ += line;
    ready_.notify_one();
  }

  bool flush(std::chrono::milliseconds limit) {
    std::unique_lock lock(m_);
    if (dropped_now_ != 0) note_dropped();
    ready_.notify_one();
    return drained_.wait_for(lock, limit, [this] { return queued_.empty() && !writing_; });
  }

  void set_output(int fd) {
    flush(std::chrono::seconds(2));
    std::lock_guard lock(m_);
    fd_ = fd;
  }

  void set_writer(std::function<void(std::string_view)> w) {
    flush(std::chrono::seconds(2));
    std::lock_guard lock(m_);
    writer_ = std::move(w);
  }

  std::uint64_t dropped() {
    std::lock_guard lock(m_);
    return dropped_total_;
  }

 private:
  sink() {
    std::thread([this] { run(); }).detach();
    // Lines queued when main returns or exit() is called still get out, unless the output is
    // stuck: then exit goes ahead after a short wait.
    std::atexit([] { sink::get().flush(std::chrono::seconds(2)); });
  }

  // Caller holds m_. The lines lost take their place in the output, in order.
  void note_dropped() {
    queued_ += stamp_now() + " WARN log: " + std::to_string(dropped_now_) +
               (dropped_now_ == 1 ? " line" : " lines") +
               " dropped: the output (standard error) was not keeping up\n";
    dropped_now_ = 0;
  }

  void run() {
    util::name_this_thread(util::log_thread_name);
    std::unique_lock lock(m_);
    for (;;) {
      ready_.wait(lock, [this] { return !queued_.empty(); });
      std::string batch;
      batch.swap(queued_);
      const int fd = fd_;
      // A copy: it keeps what the writer uses alive while this batch is written.
      const auto writer = writer_;
      writing_ = true;
      lock.unlock();
      if (writer) {
        writer(batch);
      } else {
        write_lines(fd, batch);
      }
      lock.lock();
      writing_ = false;
      if (queued_.empty()) drained_.notify_all();
    }
  }

  static constexpr std::size_t max_queued = 1 << 20;  // bytes waiting; ~10,000 lines

  std::mutex m_;
  std::condition_variable ready_;    // lines to write
  std::condition_variable drained_;  // all written
  std::string queued_;
  bool writing_ = false;
  std::uint64_t dropped_now_ = 0;  // since the last "dropped" line
  std::uint64_t dropped_total_ = 0;
  int fd_ = STDERR_FILENO;
  std::function<void(std::string_view)> writer_;  // instead of fd_ when set
};

}  // namespace

void set_level(level l) noexcept { threshold = l; }
level current() noexcept { return threshold; }

bool parse_level(std::string_view s, level& out) noexcept {
  if (s == "error")
    out = level::error;
  else if (s == "warn")
    out = level::warn;
  else if (s == "info")
    out = level::info;
  else if (s == "debug")
    out = level::debug;
  else
    return false;
  return true;
}

std::string safe_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto hex_byte = [&out](unsigned char b) {
    static constexpr char digits[] = "0123456789abcdef";
    out += "\\x";
    out += digits[b >> 4];
    out += digits[b & 15];
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      if (b < 0x20 || b == 0x7f) {
        hex_byte(b);
      } else {
        out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    const auto [cp, len] = util::utf8_at(text, i);
    if (len == 0) {
      hex_byte(b);  // one byte at a time: what follows may be good text
      ++i;
      continue;
    }
    if (util::is_c1_control(cp)) {  // 0x9b is a one-byte CSI to some terminals
      for (std::size_t k = 0; k < len; ++k) hex_byte(static_cast<unsigned char>(text[i + k]));
    } else if (util::is_hidden_format(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u{%04X}", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

void write(level l, std::string_view text) {
  static constexpr const char* names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  std::string line = stamp_now();
  line += ' ';
  line += names[static_cast<int>(l)];
  line += ' ';
  line += safe_text(text);
  line += '\n';
  sink::get().push(std::move(line));
}

bool flush(std::chrono::milliseconds limit) { return sink::get().flush(limit); }

void set_output(int fd) { sink::get().set_output(fd); }

void set_writer(std::function<void(std::string_view)> writer) {
  sink::get().set_writer(std::move(writer));
}

std::uint64_t dropped_lines() { return sink::get().dropped(); }

}  // namespace relay::log
