// Under a connection flood, a log line per connection drowns the operator's console (the log
// shares its terminal) and pushes the lines that matter out of view. Each source address gets
// a few connections logged one by one per window; the rest are counted and summed up in one
// line when the window ends. Pure and clock-injected; bounded in size so an attacker with many
// addresses cannot grow it: past `max_addresses`, newcomers share one "other addresses" entry.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace relay::server {

class log_budget {
 public:
  using clock = std::chrono::steady_clock;
  struct params {
    std::uint32_t per_window = 10;            ///< connections logged one by one per window
    std::chrono::milliseconds window{10000};  ///< from an address's first connection
    std::size_t max_addresses = 1024;         ///< tracked one by one; beyond, pooled
  };
  /// Connections from `address` (others_key: from addresses not tracked one by one) that
  /// were not logged during a window that has ended.
  struct summary {
    std::string address;
    std::uint64_t unlogged = 0;
    clock::duration window{};
  };
  /// The address of the entry shared by addresses beyond max_addresses.
  static constexpr std::string_view others_key = "*";

  explicit log_budget(params p) : p_(p) {}

  /// Counts a connection from `address`; true if it is to be logged one by one.
  bool admit(std::string_view address, clock::time_point now);
  /// Ends the windows that are over: returns those that left connections unlogged (oldest
  /// first) and forgets them all.
  std::vector<summary> expire(clock::time_point now);
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    clock::time_point start;
    std::uint32_t logged = 0;
    std::uint64_t unlogged = 0;
  };

  params p_;
  std::unordered_map<std::string, entry> entries_;
};

/// The line for a summary: "127.0.0.9: 2990 more connections in the last 10 s, not logged
/// one by one (the first 10 were)".
std::string describe(const log_budget::summary& s, std::uint32_t per_window);

}  // namespace relay::server
