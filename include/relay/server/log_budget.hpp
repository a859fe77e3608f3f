// Under a connection flood, a log line per connection drowns the operator's console (the log
// shares its terminal) and pushes the lines that matter out of view. In each window, every
// source address gets a few connections logged one by one, all addresses together a few
// more; the rest are counted, and when the window ends a few lines sum them up, busiest
// address first. Pure and clock-injected; bounded in size so an attacker with many
// addresses cannot grow it (past max_addresses, newcomers are only counted).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace relay::server {

class log_budget {
 public:
  using clock = std::chrono::steady_clock;
  struct params {
    std::uint32_t per_address = 10;           ///< connections logged one by one per address
    std::uint32_t total = 100;                ///< ... and from all addresses together
    std::chrono::milliseconds window{10000};  ///< from the first connection it counts
    std::size_t max_addresses = 1024;         ///< tracked by name; beyond, only counted
    std::size_t summaries = 10;               ///< addresses summed up by name; the rest together
  };
  /// Connections not logged one by one during a window that has ended: from `address`, or,
  /// when `address` is empty, from `addresses` other addresses together (`at_least`: and
  /// from more, past max_addresses, which were not told apart).
  struct summary {
    std::string address;
    std::uint64_t unlogged = 0;
    std::uint64_t addresses = 1;
    bool at_least = false;
    clock::duration window{};
  };

  explicit log_budget(params p) : p_(p) {}

  /// Counts a connection from `address`; true if it is to be logged one by one.
  bool admit(std::string_view address, clock::time_point now);
  /// Once the window is over: its summaries (busiest address first; none if everything was
  /// logged), and a fresh window starts with the next connection.
  std::vector<summary> expire(clock::time_point now);
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    std::uint32_t logged = 0;
    std::uint64_t unlogged = 0;
  };

  params p_;
  std::optional<clock::time_point> start_;  // of the window; none before its first connection
  std::uint32_t logged_ = 0;                // one by one in this window, all addresses
  std::uint64_t untracked_ = 0;             // connections from addresses past max_addresses
  std::unordered_map<std::string, entry> entries_;
};

/// The line for a summary: "127.0.0.9: 2990 more connections in the last 10 s, not logged
/// one by one", or "12 other addresses: 5000 more ..." ("other addresses: ..." when some
/// were past max_addresses and not told apart). `what` names what was counted, in the
/// singular and the plural.
std::string describe(const log_budget::summary& s, std::string_view one = "connection",
                     std::string_view many = "connections");

}  // namespace relay::server
