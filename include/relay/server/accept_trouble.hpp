// Accept failures come in streaks: out of descriptors, every incoming connection (or every
// retry) fails the same way. The first is logged; the rest are counted, summed up once a
// minute while the streak lasts and once when it ends, so that the operator's console is not
// flooded and still says when and for how long connections were turned away. Pure and
// clock-injected.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::server {

class accept_trouble {
 public:
  using clock = std::chrono::steady_clock;
  explicit accept_trouble(clock::duration every = std::chrono::seconds(60)) : every_(every) {}

  /// An accept() that failed for `why`; `closed`: its connection was accepted on the spare
  /// descriptor and closed at once (the client is told no, instead of waiting). Returns the
  /// line to log, if one is due.
  std::optional<std::string> failed(std::string_view why, bool closed, clock::time_point now);
  /// An accept() that worked: the summing-up line if it ends a streak.
  std::optional<std::string> accepted(clock::time_point now);
  bool failing() const noexcept { return since_.has_value(); }

 private:
  clock::duration every_;
  std::optional<clock::time_point> since_;  // the streak's first failure
  clock::time_point last_line_{};
  std::string why_;
  std::uint64_t failed_ = 0, closed_ = 0;                // since the last line
  std::uint64_t failed_in_all_ = 0, closed_in_all_ = 0;  // in the whole streak
};

}  // namespace relay::server
