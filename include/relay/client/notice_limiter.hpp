// A bound on the warnings one source can put on the screen: anyone signed in can send us
// garbage the relay forwards unread, and forty "! rejected a message said to be from mallet"
// lines would push the conversation off the screen. The first few in a window are shown;
// the rest are counted and summed up once the window ends. Pure: the caller brings the clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace relay::client {

class notice_limiter {
 public:
  using clock = std::chrono::steady_clock;

  /// At most `shown` notices per source in each `window` (counted from the source's first).
  notice_limiter(std::size_t shown, clock::duration window) : shown_(shown), window_(window) {}

  /// True if a notice about `source` may be shown now; false counts it as held back.
  bool admit(const std::string& source, clock::time_point now);

  struct held_back {
    std::string source;
    std::size_t count = 0;
  };
  /// The sources whose window has ended with notices held back, and how many; their windows
  /// are forgotten (as are ended windows with none held back).
  std::vector<held_back> ended(clock::time_point now);

  /// Every source with notices held back, ended window or not, and forgets all windows: for
  /// a client leaving before a window ends (what was held back is still said).
  std::vector<held_back> take_all();

  /// When the earliest window that holds notices back ends (to set a timer), if any does.
  std::optional<clock::time_point> next_end() const;

 private:
  struct source_window {
    clock::time_point started;
    std::size_t seen = 0;
  };
  std::size_t shown_;
  clock::duration window_;
  std::map<std::string, source_window> windows_;
};

}  // namespace relay::client
