// The client's side of liveness, as irssi's lag check and ssh's ServerAliveInterval: a relay
// that has said nothing for a while is asked (ping), and one that does not answer in time is
// treated as gone: stopped (SIGSTOP, Ctrl-Z on its terminal), wedged, or behind a network
// that dropped the connection without a word. Pure: the caller brings the clock.
#pragma once

#include <chrono>
#include <optional>

namespace relay::client {

class lag_check {
 public:
  using clock = std::chrono::steady_clock;
  enum class action { none, ping, give_up };

  /// Within `timeout` of silence the relay is asked, at half of it, and given the other half
  /// to answer.
  lag_check(clock::duration timeout, clock::time_point now) : half_(timeout / 2), heard_(now) {}

  /// Anything arrived from the relay (a pong included).
  void heard(clock::time_point now) noexcept {
    heard_ = now;
    asked_.reset();
  }
  /// What to do now: call it every so often (a small fraction of the timeout).
  action tick(clock::time_point now) noexcept {
    if (asked_) return now - *asked_ >= half_ ? action::give_up : action::none;
    if (now - heard_ < half_) return action::none;
    asked_ = now;
    return action::ping;
  }
  /// How long the relay has been silent.
  clock::duration silent(clock::time_point now) const noexcept { return now - heard_; }

 private:
  clock::duration half_;
  clock::time_point heard_;
  std::optional<clock::time_point> asked_;
};

}  // namespace relay::client
