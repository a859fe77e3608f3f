// stderr logger: one mutex-guarded write per line so threads never interleave.
#include "relay/util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace relay::log {
namespace {
std::atomic<level> threshold{level::info};
std::mutex out_mutex;
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

void write(level l, std::string_view text) {
  static constexpr const char* names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::lock_guard lock(out_mutex);
  std::fprintf(stderr, "%s %s %.*s\n", stamp, names[static_cast<int>(l)],
               static_cast<int>(text.size()), text.data());
}

}  // namespace relay::log
