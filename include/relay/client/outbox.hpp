// Paces what the client sends. The relay takes a burst of messages at once (100 by
// default), then a steady rate (20 a second), and refuses the rest with rate_limited
// (protocol.md 5.4): a script's burst, or a paste on a terminal without bracketed paste,
// would lose its tail. So messages wait here and go, in order, a little under the relay's
// default pace (90%: network jitter can bunch two sends together on arrival); one the relay
// refuses anyway (it was set stricter) goes back in its place, and the pace halves.
// Pure and clock-injected.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::client {

class outbox {
 public:
  using clock = std::chrono::steady_clock;
  struct params {
    double rate = 18;      ///< messages a second (the relay's default --message-rate: 20)
    double burst = 90;     ///< at once (the relay's default --message-burst: 100)
    double slowest = 0.5;  ///< the pace never halves below this
    /// Refusals closer together than this are one: a burst refused halves the pace once.
    std::chrono::milliseconds calm{1000};
    /// After this long without a refusal, the pace (and burst) grow back by a quarter, up to
    /// `rate` and `burst`: a relay refuses again if they are past its limit, and they halve.
    std::chrono::milliseconds recover{5000};
    std::size_t remember = 4096;  ///< sent messages kept, by id, in case the relay refuses one
  };
  struct message {
    std::string to;
    std::string text;
    std::uint64_t order = 0;       ///< place in the order of sending (set by add)
    std::uint64_t written_us = 0;  ///< when it was typed (chat::seal_to); 0: when sent
    /// A key notice (protocol.md 8.6), no typed text: it draws on the pace as a message
    /// does, but is not a message to name if it does not go.
    bool key_notice = false;
  };

  outbox(params p, clock::time_point now)
      : p_(p), tokens_(p.burst), rate_(p.rate), burst_(p.burst), last_(now) {}

  /// Queues a message behind those waiting.
  void add(std::string to, std::string text, std::uint64_t written_us = 0);
  /// Queues a key notice to `to`, unless one to them already waits.
  void add_key_notice(std::string to);
  /// The next message, if one waits and the pace allows it now.
  std::optional<message> next(clock::time_point now);
  /// Records that `m` went out as send `id`.
  void sent(std::uint32_t id, message m);
  /// Send `id`, if it is one of the last we remember.
  const message* find_sent(std::uint32_t id) const;
  /// The relay refused send `id` as too fast: it goes back in its place, and the pace slows.
  /// False if `id` is not a send we remember.
  bool refused(std::uint32_t id, clock::time_point now);
  /// How long until next() gives the next waiting message (nullopt: none waits).
  std::optional<clock::duration> wait(clock::time_point now);
  /// A ping draws on the relay's bucket as a send does, and one that finds it empty gets
  /// no pong (protocol.md 5.5): takes a token for one if the pace allows it now.
  bool take_for_ping(clock::time_point now);
  /// How long until the pace allows one more frame (zero: now).
  clock::duration until_token(clock::time_point now);
  std::size_t waiting() const noexcept { return waiting_.size(); }
  /// Waiting messages that someone typed (key notices left out).
  std::size_t waiting_messages() const noexcept;
  /// The messages waiting, in sending order (to name them when they will not go).
  std::vector<message> pending() const;
  /// Takes every waiting message to `to` out of the queue, in sending order: they cannot go
  /// (the recipient left), and are named at once rather than one per paced slot.
  std::vector<message> take_all_to(std::string_view to);
  double rate() const noexcept { return rate_; }
  double burst() const noexcept { return burst_; }

 private:
  void refill(clock::time_point now);

  params p_;
  double tokens_;
  double rate_;
  double burst_;  // learnt like the rate: a relay set stricter takes smaller bursts too
  clock::time_point last_;
  std::optional<clock::time_point> slowed_;  // when the pace last halved
  clock::time_point changed_{};              // when it last halved or grew back
  std::uint64_t next_order_ = 0;
  std::map<std::uint64_t, message> waiting_;  // by order
  std::map<std::uint32_t, message> sent_;     // by send id, the last p_.remember
};

}  // namespace relay::client
