// Per-source windows of notices: a few shown, the rest counted.
#include "relay/client/notice_limiter.hpp"

namespace relay::client {

bool notice_limiter::admit(const std::string& source, clock::time_point now) {
  auto it = windows_.find(source);
  if (it == windows_.end()) {
    windows_.emplace(source, source_window{now, 1});
    return true;
  }
  // An ended window with notices held back keeps counting until ended() sums it up.
  if (now - it->second.started >= window_ && it->second.seen <= shown_) {
    it->second = source_window{now, 1};
    return true;
  }
  return ++it->second.seen <= shown_;
}

std::vector<notice_limiter::held_back> notice_limiter::ended(clock::time_point now) {
  std::vector<held_back> out;
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (now - it->second.started < window_) {
      ++it;
      continue;
    }
    if (it->second.seen > shown_) out.push_back({it->first, it->second.seen - shown_});
    it = windows_.erase(it);
  }
  return out;
}

std::vector<notice_limiter::held_back> notice_limiter::take_all() {
  std::vector<held_back> out;
  for (const auto& [source, w] : windows_) {
    if (w.seen > shown_) out.push_back({source, w.seen - shown_});
  }
  windows_.clear();
  return out;
}

std::optional<notice_limiter::clock::time_point> notice_limiter::next_end() const {
  std::optional<clock::time_point> first;
  for (const auto& [source, w] : windows_) {
    if (w.seen <= shown_) continue;
    if (!first || w.started + window_ < *first) first = w.started + window_;
  }
  return first;
}

}  // namespace relay::client
