// When the next roster round may start.
//
// A round sends every signed-in client the joins and leaves since the last one: a seal and a
// send() per client, the same kernel work as a chat message. On a quiet relay a change goes
// out one interval after it happens. But while a crowd signs in, rounds follow each other
// back to back, and at a fixed 100 ms ten rounds a second to 400 clients cost the event loop
// as many sends as 4,000 chat messages: in the default sign-in storm the loop took 17.2% of
// the core, 15.7% with rounds paced by size, and 10,000 sign-ins took 13% less time
// (docs/benchmarks.md, "Roster rounds paced by their size").
// So back-to-back rounds are spaced by the size of the last one: one interval per
// `clients_per_interval` clients it reached, never more than `max_intervals` intervals.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace relay::server {

struct roster_pace {
  std::chrono::milliseconds interval{100};  ///< the wait after a change (0: at once)
  std::size_t clients_per_interval = 100;   ///< a round to this many: one more interval after
  std::size_t max_intervals = 10;           ///< the longest spacing, in intervals

  /// The shortest time from the start of a round to `recipients` clients to the next start.
  [[nodiscard]] std::chrono::milliseconds spacing(std::size_t recipients) const noexcept {
    if (clients_per_interval == 0) return interval;
    const std::size_t n = std::clamp<std::size_t>(
        (recipients + clients_per_interval - 1) / clients_per_interval, 1, max_intervals);
    return interval * static_cast<long long>(n);
  }

  /// When a round may start for a change made at `now`: an interval later, and not before
  /// the last round (started at `last_start`, to `last_recipients` clients) is spaced out.
  template <class TimePoint>
  [[nodiscard]] TimePoint next_round(TimePoint now, TimePoint last_start,
                                     std::size_t last_recipients) const noexcept {
    return std::max(now + interval, last_start + spacing(last_recipients));
  }
};

}  // namespace relay::server
