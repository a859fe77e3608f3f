// Growing penalties for failed sign-ins, keyed by source address or account (like OpenSSH's
// PerSourcePenalties). Pure and clock-injected; bounded in size so an attacker with many
// addresses cannot grow it without limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace relay::server {

class penalty_table {
 public:
  using clock = std::chrono::steady_clock;
  struct params {
    unsigned free_failures = 5;                ///< failures before any penalty
    std::chrono::milliseconds base{2000};      ///< first penalty; doubles with each failure
    std::chrono::milliseconds max{600000};     ///< ceiling of one penalty
    std::chrono::milliseconds forget{900000};  ///< failures older than this are forgotten
    std::size_t capacity = 10000;  ///< entries kept; the fewest failures are evicted first
  };

  explicit penalty_table(params p) : p_(p) {}

  /// How long `key` must still wait before its next attempt (zero if it may try now).
  clock::duration blocked_for(const std::string& key, clock::time_point now);
  /// Failures of `key` that still count (0 once forgotten).
  unsigned failures(const std::string& key, clock::time_point now) const;
  unsigned free_failures() const noexcept { return p_.free_failures; }
  /// Records a failure; once past free_failures, blocks `key` for a doubling penalty.
  void failure(const std::string& key, clock::time_point now);
  /// Forgets `key` (e.g. an account after a successful sign-in).
  void clear(const std::string& key) { entries_.erase(key); }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    unsigned failures = 0;
    clock::time_point last_failure;
    clock::time_point blocked_until;
  };
  void evict(clock::time_point now);

  params p_;
  std::unordered_map<std::string, entry> entries_;
};

}  // namespace relay::server
