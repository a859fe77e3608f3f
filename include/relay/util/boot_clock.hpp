// A monotonic clock that keeps counting while the machine sleeps (CLOCK_BOOTTIME), for
// deadlines that are about the world's time rather than our CPU's: a peer that may erase
// a key an hour after its last use does so whether or not this laptop was suspended.
#pragma once

#include <chrono>
#include <ctime>

namespace relay::util {

struct boot_clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<boot_clock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

}  // namespace relay::util
