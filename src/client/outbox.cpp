#include "relay/client/outbox.hpp"

#include <algorithm>
#include <cmath>

namespace relay::client {

void outbox::refill(clock::time_point now) {
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + seconds * rate_);
  last_ = now;
  // Halving alone only ever slows down: one refused burst would leave a script at a
  // fraction of what the relay takes for good. So the pace probes back up (as TCP does).
  if (slowed_ && (rate_ < p_.rate || burst_ < p_.burst) && now - changed_ >= p_.recover) {
    rate_ = std::min(p_.rate, rate_ * 1.25);
    burst_ = std::min(p_.burst, burst_ * 1.25);
    changed_ = now;
  }
}

void outbox::add(std::string to, std::string text, std::uint64_t written_us) {
  const std::uint64_t order = next_order_++;
  waiting_.emplace(order, message{std::move(to), std::move(text), order, written_us});
}

void outbox::add_key_notice(std::string to) {
  for (const auto& [order, m] : waiting_) {
    if (m.key_notice && m.to == to) return;  // the one waiting will carry our current key
  }
  const std::uint64_t order = next_order_++;
  waiting_.emplace(order, message{std::move(to), {}, order, 0, true});
}

std::size_t outbox::waiting_messages() const noexcept {
  return static_cast<std::size_t>(std::count_if(
      waiting_.begin(), waiting_.end(), [](const auto& w) { return !w.second.key_notice; }));
}

std::optional<outbox::message> outbox::next(clock::time_point now) {
  if (waiting_.empty()) return std::nullopt;
  refill(now);
  if (tokens_ < 1) return std::nullopt;
  tokens_ -= 1;
  return std::move(waiting_.extract(waiting_.begin()).mapped());
}

void outbox::sent(std::uint32_t id, message m) {
  sent_.insert_or_assign(id, std::move(m));
  // Ids grow (until they wrap, after 4 billion sends): the first is the oldest.
  while (sent_.size() > p_.remember) sent_.erase(sent_.begin());
}

const outbox::message* outbox::find_sent(std::uint32_t id) const {
  const auto it = sent_.find(id);
  return it == sent_.end() ? nullptr : &it->second;
}

bool outbox::refused(std::uint32_t id, clock::time_point now) {
  auto it = sent_.find(id);
  if (it == sent_.end()) return false;
  const std::uint64_t order = it->second.order;
  waiting_.emplace(order, std::move(it->second));
  sent_.erase(it);
  refill(now);
  tokens_ = 0;  // the relay's bucket is empty: ours too
  if (!slowed_ || now - *slowed_ >= p_.calm) {
    rate_ = std::max(p_.slowest, rate_ / 2);
    burst_ = std::max(1.0, burst_ / 2);
    slowed_ = now;
    changed_ = now;
  }
  return true;
}

std::optional<outbox::clock::duration> outbox::wait(clock::time_point now) {
  if (waiting_.empty()) return std::nullopt;
  return until_token(now);
}

bool outbox::take_for_ping(clock::time_point now) {
  refill(now);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

outbox::clock::duration outbox::until_token(clock::time_point now) {
  refill(now);
  if (tokens_ >= 1) return clock::duration::zero();
  return std::chrono::ceil<clock::duration>(std::chrono::duration<double>((1 - tokens_) / rate_));
}

std::vector<outbox::message> outbox::pending() const {
  std::vector<message> out;
  out.reserve(waiting_.size());
  for (const auto& [order, m] : waiting_) out.push_back(m);
  return out;
}

std::vector<outbox::message> outbox::take_all_to(std::string_view to) {
  std::vector<message> out;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.to == to) {
      out.push_back(std::move(it->second));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace relay::client
