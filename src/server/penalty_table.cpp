// Penalty bookkeeping for failed sign-ins.
#include "relay/server/penalty_table.hpp"

#include <algorithm>

namespace relay::server {

penalty_table::clock::duration penalty_table::blocked_for(const std::string& key,
                                                          clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return clock::duration::zero();
  if (now - it->second.last_failure >= p_.forget && now >= it->second.blocked_until) {
    entries_.erase(it);  // penalties expire
    return clock::duration::zero();
  }
  return std::max(clock::duration::zero(), it->second.blocked_until - now);
}

unsigned penalty_table::failures(const std::string& key, clock::time_point now) const {
  const auto it = entries_.find(key);
  if (it == entries_.end() || now - it->second.last_failure >= p_.forget) return 0;
  return it->second.failures;
}

void penalty_table::failure(const std::string& key, clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= p_.capacity) evict(now);
    it = entries_.emplace(key, entry{}).first;
  } else if (now - it->second.last_failure >= p_.forget) {
    it->second.failures = 0;
  }
  entry& e = it->second;
  ++e.failures;
  e.last_failure = now;
  if (e.failures > p_.free_failures) {
    const unsigned doublings = std::min(e.failures - p_.free_failures - 1, 20u);
    const auto penalty = std::min<clock::duration>(p_.base * (1LL << doublings), p_.max);
    e.blocked_until = now + penalty;
  }
}

void penalty_table::evict(clock::time_point now) {
  // Drop expired entries first; if none, the one whose last failure is oldest.
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now - it->second.last_failure >= p_.forget && now >= it->second.blocked_until) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  if (entries_.size() < p_.capacity) return;
  // Then the entry with the fewest failures, the oldest of those: a flood of one-off
  // failures on fresh keys (unknown names cost an attacker nothing but a hash) must not
  // push out the entry of an account or address that is being guessed at.
  auto weakest = std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
    if (a.second.failures != b.second.failures) return a.second.failures < b.second.failures;
    return a.second.last_failure < b.second.last_failure;
  });
  entries_.erase(weakest);
}

}  // namespace relay::server
