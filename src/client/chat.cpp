// End-to-end sealing with replay and re-addressing checks.
#include "relay/client/chat.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <sstream>
#include <stdexcept>

#include "relay/proto/names.hpp"
#include "relay/util/bytes.hpp"

namespace relay::client {
namespace {

class chat_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "chat"; }
  std::string message(int ev) const override {
    switch (static_cast<chat_errc>(ev)) {
      case chat_errc::not_online:
        return "not online";
      case chat_errc::too_long:
        return "message too long";
      case chat_errc::cannot_open:
        return "cannot be decrypted with the sender's key";
      case chat_errc::wrong_addressee:
        return "sealed for someone else";
      case chat_errc::sender_mismatch:
        return "sealed by someone other than the named sender";
      case chat_errc::replayed:
        return "replayed or out-of-order message (its counter is not above one already "
               "accepted from this sender: a replay, or their clock went back)";
      case chat_errc::bad_key:
        return "the recipient's announced key is unusable";
      case chat_errc::stale_session:
        return "sealed to a session key this client does not hold (an earlier run's, or "
               "another's)";
      case chat_errc::empty:
        return "empty message";
      case chat_errc::malformed:
        return "sealed with the sender's key, but malformed (a faulty client?)";
      case chat_errc::unsupported:
        return "sealed with the sender's key, in an envelope version this client does not know "
               "(a newer client?)";
    }
    return "chat error";
  }
};

std::uint64_t now_micros() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

const std::error_category& chat_category() noexcept {
  static const chat_category_impl c;
  return c;
}
std::error_code make_error_code(chat_errc e) noexcept {
  return {static_cast<int>(e), chat_category()};
}

chat::chat(std::string me, crypto::key_pair identity, crypto::random_source& rng)
    : me_(std::move(me)),
      identity_(std::move(identity)),
      rng_(rng),
      session_(crypto::key_pair::generate(rng)) {}

void chat::renew_session() {
  previous_session_ = std::move(session_);  // the older one's guarded memory is wiped here
  session_ = crypto::key_pair::generate(rng_);
}

std::vector<roster_event> chat::apply(const proto::presence& p) {
  std::vector<roster_event> events;
  for (const auto& e : p.entries) {
    // A name no sign-up could have produced (a misbehaving relay) is not a person to show.
    if (e.name == me_ || !proto::valid_name(e.name)) continue;
    // Signed in again or gone: a session key learnt before may be an earlier run's.
    if (auto known = peer_sessions_.find(e.name); known != peer_sessions_.end()) {
      forgotten_sessions_.insert_or_assign(e.name, known->second.key);
      peer_sessions_.erase(known);
    }
    noticed_.erase(e.name);  // a new run of theirs has none of our keys
    if (e.what == proto::presence_entry::kind::offline) {
      if (online_.erase(e.name)) events.push_back({roster_event::kind::left, e.name, {}});
      continue;
    }
    crypto::public_key k;
    std::copy(e.identity.begin(), e.identity.end(), k.begin());
    auto it = online_.find(e.name);
    if (it == online_.end()) {
      online_.emplace(e.name, k);
      events.push_back({roster_event::kind::joined, e.name, k});
    } else if (it->second != k) {
      it->second = k;
      events.push_back({roster_event::kind::key_changed, e.name, k});
    }
  }
  return events;
}

result<bytes> chat::seal_to(const std::string& to, std::string_view text,
                            std::uint64_t written_us) {
  if (text.empty()) return chat_errc::empty;
  return seal(to, text, written_us);
}

result<bytes> chat::seal_key_notice(const std::string& to) {
  auto sealed = seal(to, {}, 0);
  if (sealed && to != me_) noticed_.insert_or_assign(to, session_.pub());
  return sealed;
}

result<bytes> chat::seal(const std::string& to, std::string_view text, std::uint64_t written_us) {
  auto it = online_.find(to);
  if (it == online_.end() && to != me_) return chat_errc::not_online;
  if (text.size() > crypto::max_text) return chat_errc::too_long;
  // Counters start at the current time in microseconds, so they keep increasing across
  // restarts of this client, and above the highest an earlier run used (kept in a file), in
  // case the clock went back since. A line that waited (held, or typed while the relay was
  // away) carries when it was typed, so the receiver can say so.
  std::uint64_t& last = sent_[to];
  last =
      std::max({last + 1, highest_sent_restored_ + 1, written_us != 0 ? written_us : now_micros()});
  highest_sent_ = std::max(highest_sent_, last);
  const crypto::public_key& key = it == online_.end() ? identity_.pub() : it->second;
  const crypto::public_key* peer_session = nullptr;
  if (to == me_) {
    peer_session = &session_.pub();
  } else {
    peer_session = fresh_session_of(to);  // an old one may be erased by now: their identity key
  }
  crypto::envelope m{me_, to, last, std::string(text)};
  m.version = crypto::session_envelope_version;
  const crypto::session_pair sessions{session_, peer_session};
  try {
    return crypto::seal(m, identity_, key, rng_, &sessions);
  } catch (const std::invalid_argument&) {
    return chat_errc::bad_key;  // a relay or peer announced a low-order key
  }
}

void chat::forget_old_keys(const std::string& name) {
  // A relay announcing key after key for one name must not grow the file without end: the
  // keys with the lowest counters (the longest unused) go first, but never the pinned one,
  // whose old messages would then open again (review 10).
  using entry = decltype(received_.per_key)::iterator;
  std::vector<entry> keys;
  std::size_t kept = 0;
  for (auto it = received_.per_key.lower_bound({name, crypto::public_key{}});
       it != received_.per_key.end() && it->first.first == name; ++it) {
    if (pinned_(name, it->first.second)) {
      ++kept;
    } else {
      keys.push_back(it);
    }
  }
  if (kept + keys.size() <= max_keys_seen_per_sender) return;
  std::sort(keys.begin(), keys.end(),
            [](const entry& a, const entry& b) { return a->second < b->second; });
  const std::size_t room = max_keys_seen_per_sender > kept ? max_keys_seen_per_sender - kept : 0;
  for (std::size_t k = 0; k + room < keys.size(); ++k) received_.per_key.erase(keys[k]);
}

const crypto::public_key* chat::fresh_session_of(const std::string& name) const {
  const auto it = peer_sessions_.find(name);
  if (it == peer_sessions_.end() || now_() - it->second.seen >= peer_session_lifetime) {
    return nullptr;
  }
  return &it->second.key;
}

std::string chat::format_sent(std::uint64_t counter) { return std::to_string(counter) + "\n"; }

std::uint64_t chat::parse_sent(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return 0;
  std::uint64_t counter = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), counter);
  if (ec != std::errc{} || end != text.data() + text.size()) return 0;
  // Any value is kept, however far ahead: peers may have accepted counters up to it, and
  // dropping it would get every later message rejected as replayed (a cliff a threshold
  // makes, wherever it is). Only the last 2^32 values, which leave no room to count on
  // before the counter wraps, are damage.
  return counter < max_sent_floor ? counter : 0;
}

std::string chat::format_seen(const seen_counters& seen) {
  std::string out;
  for (const auto& [name, counter] : seen.per_name) {
    out += name + " " + std::to_string(counter) + "\n";
  }
  for (const auto& [who, counter] : seen.per_key) {
    out += who.first + " " + std::to_string(counter) + " " + to_hex(who.second) + "\n";
  }
  return out;
}

seen_counters chat::parse_seen(std::string_view text) {
  seen_counters seen;
  std::istringstream in{std::string(text)};
  std::string line;
  // A floor saved without a key far past any clock is damage (or an old attack's: a key not
  // pinned once could set it), not a counter: it would lock the sender out for good.
  const std::uint64_t latest_floor = now_micros() + std::uint64_t{366} * 24 * 3600 * 1000000;
  while (std::getline(in, line)) {
    // Exactly "name counter" or "name counter key": a damaged line costs only itself.
    std::istringstream fields(line);
    std::string name, counter_text, key_hex, more;
    fields >> name >> counter_text >> key_hex >> more;
    if (name.empty() || counter_text.empty() || !more.empty() ||
        !std::all_of(counter_text.begin(), counter_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    std::uint64_t counter = 0;
    const auto [end, ec] =
        std::from_chars(counter_text.data(), counter_text.data() + counter_text.size(), counter);
    if (ec != std::errc{} || end != counter_text.data() + counter_text.size()) continue;
    if (key_hex.empty()) {
      if (counter <= latest_floor) seen.per_name[name] = counter;
      continue;
    }
    const auto key = from_hex(key_hex);
    if (!key || key->size() != crypto::key_size || to_hex(*key) != key_hex) continue;
    crypto::public_key k;
    std::copy(key->begin(), key->end(), k.begin());
    seen.per_key[{name, k}] = counter;
  }
  return seen;
}

result<opened_message> chat::open_from(const std::string& from, byte_view ciphertext) {
  auto it = online_.find(from);
  if (it == online_.end() && from != me_) return chat_errc::not_online;
  const crypto::public_key& key = it == online_.end() ? identity_.pub() : it->second;
  auto env = crypto::open(ciphertext, identity_, key, &session_);
  bool to_previous = false;
  if (!env && env.error() == crypto::envelope_errc::stale_session && previous_session_) {
    env = crypto::open(ciphertext, identity_, key, &*previous_session_);  // sent before they knew
    to_previous = true;
  }
  if (!env) {
    // Past the outer box, the sender's key is proven: a fault is theirs, not a forgery.
    switch (static_cast<crypto::envelope_errc>(env.error().value())) {
      case crypto::envelope_errc::stale_session:
        return chat_errc::stale_session;
      case crypto::envelope_errc::bad_format:
        return chat_errc::malformed;
      case crypto::envelope_errc::unsupported_version:
        return chat_errc::unsupported;
      default:
        return chat_errc::cannot_open;
    }
  }
  if (env->to != me_) return chat_errc::wrong_addressee;
  if (env->from != from) return chat_errc::sender_mismatch;
  // Per key: a message from a key not pinned (a hostile relay's, or a new device not yet
  // accepted) cannot raise the bar for the pinned one, and so lock its owner out.
  std::pair<std::string, crypto::public_key> who{from, key};
  std::uint64_t bar = 0;
  if (const auto known = received_.per_key.find(who); known != received_.per_key.end()) {
    bar = known->second;
  }
  if (const auto floor = received_.per_name.find(from); floor != received_.per_name.end()) {
    bar = std::max(bar, floor->second);
  }
  if (env->counter <= bar) return chat_errc::replayed;
  // Only a key not seen before can take the sender past the limit.
  if (received_.per_key.insert_or_assign(std::move(who), env->counter).second) {
    forget_old_keys(from);
  }
  opened_message out;
  out.counter = env->counter;
  // Their session key opened the inner box, so it is usable (not a low-order point), and
  // the outer box says it is theirs: our next messages to them are sealed to it.
  if (env->version == crypto::session_envelope_version) {
    out.key_notice = env->text.empty();
    if (from != me_) {
      if (auto before = forgotten_sessions_.find(from); before != forgotten_sessions_.end()) {
        out.not_signed_in_again = before->second == env->sender_session;
        forgotten_sessions_.erase(before);
      }
      peer_sessions_.insert_or_assign(from, learnt_session{env->sender_session, now_()});
      // Sealed to our identity key or to the key before: they lack the current one. One
      // notice at a time: what they sealed before it reached them asks for no other. Once
      // they seal to our key they have it; if they seal to our identity key again after
      // that, they forgot it (a sign-in of ours the relay made up): told again.
      if (env->to_session && !to_previous) {
        noticed_.erase(from);
      } else {
        const auto told = noticed_.find(from);
        out.owes_key_notice = told == noticed_.end() || told->second != session_.pub();
      }
    }
  }
  out.text = std::move(env->text);
  return out;
}

}  // namespace relay::client
