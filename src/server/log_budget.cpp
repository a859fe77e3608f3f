#include "relay/server/log_budget.hpp"

#include <algorithm>

namespace relay::server {

bool log_budget::admit(std::string_view address, clock::time_point now) {
  auto it = entries_.find(std::string(address));
  if (it == entries_.end()) {
    // A new address while full shares one entry, and one budget, with the others: a flood
    // from many addresses gets no more lines than a flood from one.
    const bool full = entries_.size() >= p_.max_addresses;
    const std::string key(full ? others_key : address);
    it = entries_.try_emplace(key, entry{now, 0, 0}).first;
  }
  entry& e = it->second;
  if (e.logged < p_.per_window) {
    ++e.logged;
    return true;
  }
  ++e.unlogged;
  return false;
}

std::vector<log_budget::summary> log_budget::expire(clock::time_point now) {
  std::vector<std::pair<clock::time_point, summary>> ended;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now - it->second.start < p_.window) {
      ++it;
      continue;
    }
    if (it->second.unlogged > 0) {
      ended.push_back(
          {it->second.start, summary{it->first, it->second.unlogged, now - it->second.start}});
    }
    it = entries_.erase(it);
  }
  std::sort(ended.begin(), ended.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<summary> out;
  out.reserve(ended.size());
  for (auto& e : ended) out.push_back(std::move(e.second));
  return out;
}

std::string describe(const log_budget::summary& s, std::uint32_t per_window) {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(s.window).count();
  std::string from =
      s.address == log_budget::others_key ? std::string("other addresses") : s.address;
  return from + ": " + std::to_string(s.unlogged) + " more connection" +
         (s.unlogged == 1 ? "" : "s") + " in the last " +
         std::to_string(std::max<long long>(secs, 1)) + " s, not logged one by one (the first " +
         std::to_string(per_window) + " were)";
}

}  // namespace relay::server
