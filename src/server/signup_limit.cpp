// New accounts per source address (token bucket).
#include "relay/server/signup_limit.hpp"

#include <algorithm>

namespace relay::server {

namespace {
constexpr std::chrono::duration<double> hour = std::chrono::hours(1);
constexpr double whole = 1 - 1e-9;  // a token refilled in floating point may land just short
}  // namespace

double signup_limit::refill(entry& e, clock::time_point now) const {
  const std::chrono::duration<double> elapsed = now - e.at;
  if (elapsed.count() > 0) {
    e.tokens = std::min<double>(p_.per_hour, e.tokens + elapsed / hour * p_.per_hour);
    e.at = now;
  }
  return e.tokens;
}

signup_limit::clock::duration signup_limit::take(const std::string& source, clock::time_point now) {
  if (p_.per_hour == 0) return clock::duration::zero();
  auto it = entries_.find(source);
  if (it == entries_.end()) {
    if (entries_.size() >= p_.capacity) evict(now);
    it = entries_.emplace(source, entry{static_cast<double>(p_.per_hour), now}).first;
  }
  entry& e = it->second;
  const double tokens = refill(e, now);
  if (tokens >= whole) {
    e.tokens = std::max(0.0, e.tokens - 1);
    return clock::duration::zero();
  }
  const auto wait = std::chrono::duration_cast<clock::duration>((1 - tokens) * hour / p_.per_hour);
  return std::max<clock::duration>(wait, std::chrono::seconds(1));
}

void signup_limit::give_back(const std::string& source, clock::time_point now) {
  if (p_.per_hour == 0) return;
  auto it = entries_.find(source);
  if (it == entries_.end()) return;  // evicted meanwhile: it is full again anyway
  refill(it->second, now);
  it->second.tokens = std::min<double>(p_.per_hour, it->second.tokens + 1);
}

void signup_limit::evict(clock::time_point now) {
  // Sources whose bucket has refilled are no different from new ones: drop them first.
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (refill(it->second, now) >= p_.per_hour) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  if (entries_.size() < p_.capacity) return;
  // Still full (a flood from many sources): forget the one closest to full.
  auto fullest = std::max_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
    return a.second.tokens < b.second.tokens;
  });
  entries_.erase(fullest);
}

}  // namespace relay::server
