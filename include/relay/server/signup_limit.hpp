// New accounts per source address: a token bucket of `per_hour` accounts that refills evenly
// over an hour (10: ten at once, then one every 6 minutes), so one address cannot fill the
// database with accounts while a family or an office behind one NAT can still sign up.
// A sign-up takes its token when it starts and gives it back unless an account was created,
// so sign-ups racing on parallel connections cannot overshoot the bucket. Pure and
// clock-injected; bounded in size like penalty_table.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace relay::server {

class signup_limit {
 public:
  using clock = std::chrono::steady_clock;
  struct params {
    unsigned per_hour = 10;        ///< bucket size and accounts per hour; 0: no limit
    std::size_t capacity = 10000;  ///< sources tracked; full buckets are dropped first
  };

  explicit signup_limit(params p) : p_(p) {}

  /// Takes a token for a sign-up from `source`: zero if it may go on, else how long until
  /// the next token (nothing taken).
  clock::duration take(const std::string& source, clock::time_point now);
  /// Returns the token of a sign-up that created no account.
  void give_back(const std::string& source, clock::time_point now);
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    double tokens = 0;
    clock::time_point at;  ///< when `tokens` was last brought up to date
  };
  /// Tokens of `e` at `now` (refilled, at most per_hour).
  double refill(entry& e, clock::time_point now) const;
  void evict(clock::time_point now);

  params p_;
  std::unordered_map<std::string, entry> entries_;
};

}  // namespace relay::server
