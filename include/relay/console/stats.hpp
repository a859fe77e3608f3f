// The `stats` report: relay counters in, aligned text out; and the recent message rate.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace relay::console {

/// A snapshot of the relay's counters, taken on its io thread.
struct relay_stats {
  std::chrono::seconds uptime{0};
  std::size_t connections_now = 0;      ///< open connections, signed in or not
  std::uint64_t connections_total = 0;  ///< accepted since start
  std::uint64_t refused = 0;            ///< closed at accept by a connection cap
  std::size_t unauthenticated_now = 0;  ///< open, not yet signed in
  std::size_t signed_in_now = 0;
  std::uint64_t sign_ins = 0;           ///< successful sign-ins and sign-ups
  std::uint64_t sign_in_failures = 0;   ///< wrong password or unknown name
  std::uint64_t banned_sign_ins = 0;    ///< right password, refused by a ban
  std::uint64_t held_sign_ins = 0;      ///< refused unhashed: account penalised, unknown device
  std::uint64_t messages = 0;           ///< delivered to an online recipient
  std::uint64_t bytes = 0;              ///< ciphertext bytes of those messages
  std::uint64_t db_writes = 0;          ///< sign-in and sign-up writes to the database
  std::uint64_t db_commits = 0;         ///< the commits (fsyncs) they shared
  std::uint64_t db_write_failures = 0;  ///< writes that did not reach the disk (a full disk)
  unsigned hashes_in_pool = 0;          ///< sign-in/sign-up hashes waiting or running now
  unsigned hashing_threads = 0;         ///< the Argon2 worker pool's threads
  double rate_recent = 0;               ///< messages/s over about the last 10 s
};

/// One "label value" line per counter, labels padded to one column, plus the average rate
/// since start.
std::string format_stats(const relay_stats& s);

/// Messages per second over the last `window` seconds, cheaply: the owner samples its running
/// total about once a second (a timer, not per message) into a small ring, and the rate is
/// the growth since the oldest sample. Before the ring has filled it is the rate since start.
class rate_window {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t window = 10;  ///< seconds, at one sample per second

  explicit rate_window(clock::time_point start) { ring_.fill({start, 0}); }
  /// Records the running total at `now`; call about once per second.
  void sample(clock::time_point now, std::uint64_t total) noexcept {
    ring_[next_] = {now, total};
    next_ = (next_ + 1) % ring_.size();
  }
  /// The rate between the oldest sample and (`now`, `total`); 0 when no time has passed.
  double per_second(clock::time_point now, std::uint64_t total) const noexcept {
    const auto& oldest = ring_[next_];
    const std::chrono::duration<double> elapsed = now - oldest.at;
    if (elapsed.count() <= 0 || total < oldest.total) return 0;
    return static_cast<double>(total - oldest.total) / elapsed.count();
  }

 private:
  struct sample_t {
    clock::time_point at;
    std::uint64_t total;
  };
  std::array<sample_t, window + 1> ring_{};  // oldest at next_ once full
  std::size_t next_ = 0;
};

}  // namespace relay::console
