#include "relay/server/log_budget.hpp"

#include <algorithm>

namespace relay::server {

bool log_budget::admit(std::string_view address, clock::time_point now) {
  if (!start_) start_ = now;
  auto it = entries_.find(std::string(address));
  if (it == entries_.end()) {
    if (entries_.size() >= p_.max_addresses) {
      ++untracked_;  // a flood from many addresses gets no more lines than from a few
      return false;
    }
    it = entries_.try_emplace(std::string(address)).first;
  }
  entry& e = it->second;
  if (e.logged < p_.per_address && logged_ < p_.total) {
    ++e.logged;
    ++logged_;
    return true;
  }
  ++e.unlogged;
  return false;
}

std::vector<log_budget::summary> log_budget::expire(clock::time_point now) {
  if (!start_ || now - *start_ < p_.window) return {};
  const clock::duration took = now - *start_;
  std::vector<summary> named;
  for (auto& [address, e] : entries_) {
    if (e.unlogged > 0) named.push_back(summary{address, e.unlogged, 1, false, took});
  }
  std::sort(named.begin(), named.end(), [](const summary& a, const summary& b) {
    return a.unlogged != b.unlogged ? a.unlogged > b.unlogged : a.address < b.address;
  });
  std::vector<summary> out;
  summary rest{"", untracked_, 0, untracked_ > 0, took};
  for (auto& s : named) {
    if (out.size() < p_.summaries) {
      out.push_back(std::move(s));
    } else {
      rest.unlogged += s.unlogged;
      ++rest.addresses;
    }
  }
  if (rest.unlogged > 0) out.push_back(std::move(rest));
  start_.reset();
  logged_ = 0;
  untracked_ = 0;
  entries_.clear();
  return out;
}

std::string describe(const log_budget::summary& s, std::string_view one, std::string_view many) {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(s.window).count();
  std::string from = s.address;
  if (from.empty()) {
    // Past max_addresses, addresses were not told apart: no count then.
    from = s.at_least
               ? std::string("other addresses")
               : std::to_string(s.addresses) + " other address" + (s.addresses == 1 ? "" : "es");
  }
  return from + ": " + std::to_string(s.unlogged) + " more " +
         std::string(s.unlogged == 1 ? one : many) + " in the last " +
         std::to_string(std::max<long long>(secs, 1)) + " s, not logged one by one";
}

}  // namespace relay::server
