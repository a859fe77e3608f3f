// The client's end-to-end state, without I/O: who is online with which identity key, and
// sealing/opening messages with per-conversation counters so a replayed or re-addressed
// message is rejected. Messages are sealed again between session keys (protocol.md 8.5):
// this run's own, made at start and erased at exit, and each peer's, learnt from their
// messages, so that identity keys taken later do not open what was recorded.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "relay/crypto/envelope.hpp"
#include "relay/crypto/keys.hpp"
#include "relay/proto/frames.hpp"
#include "relay/util/boot_clock.hpp"

namespace relay::client {

/// Why an incoming or outgoing message was refused.
enum class chat_errc {
  not_online = 1,   ///< recipient (or sender) is not in the roster
  too_long,         ///< text over crypto::max_text
  cannot_open,      ///< ciphertext not from the announced sender's key, or damaged
  wrong_addressee,  ///< sealed for someone else (re-addressed by the relay)
  sender_mismatch,  ///< the sealed sender is not who the relay says
  replayed,         ///< counter not above the last one seen from this sender
  bad_key,          ///< the recipient's announced key is unusable (a low-order point)
  stale_session,    ///< sealed to a session key we do not hold (an earlier run's, or none)
  empty,            ///< an empty text: version 3 keeps that for key notices (protocol.md 8.6)
  malformed,        ///< sealed by the sender's key, but not laid out as protocol.md 8 says
  unsupported,      ///< sealed by the sender's key, in an envelope version we do not know
};
const std::error_category& chat_category() noexcept;
std::error_code make_error_code(chat_errc e) noexcept;

/// A roster change worth showing.
struct roster_event {
  enum class kind { joined, left, key_changed } what;
  std::string name;
  crypto::public_key key{};
};

/// Replay memory (protocol.md 8.4 check 7): the highest counter accepted per sender and
/// identity key, so that what comes from a key other than the one pinned (a key change not
/// accepted, or one a hostile relay announced) cannot move the counter of the real one.
struct seen_counters {
  std::map<std::pair<std::string, crypto::public_key>, std::uint64_t> per_key;
  /// Lines saved before counters were kept per key: a floor for every key of that sender.
  std::map<std::string, std::uint64_t> per_name;
  bool operator==(const seen_counters&) const = default;
};

/// A message that passed every check of protocol.md 8.4.
struct opened_message {
  std::string text;
  /// The sender's clock when they wrote it, in microseconds (protocol.md 8.3).
  std::uint64_t counter = 0;
  /// A key notice (protocol.md 8.6): it only brought the sender's session key; nothing to show.
  bool key_notice = false;
  /// The relay announced the sender signing in (or leaving) since their last message, yet
  /// this one comes from the same session key: a client makes a new one at every sign-in
  /// (protocol.md 8.5), so the announcement was false, and made us seal to their identity
  /// key meanwhile.
  bool not_signed_in_again = false;
  /// The sender does not have our current session key (they sealed to our identity key, or
  /// to the key before), and no key notice of ours with it is on its way to them: one
  /// (seal_key_notice) lets their next messages be forward secret.
  bool owes_key_notice = false;
};

/// How long after the last message that carried a peer's session key we seal to it: a
/// client keeps a session key at least an hour after the last message it sealed with it
/// (renewals an hour apart, the one before kept until the next: protocol.md 8.5). Five
/// minutes of margin for messages in flight.
inline constexpr std::chrono::minutes peer_session_lifetime{55};
/// The saved highest counter (chat::parse_sent) must be below this: 2^64 - 2^32.
inline constexpr std::uint64_t max_sent_floor = ~std::uint64_t{0} - 0xFFFFFFFFU;

/// Replay counters kept per sender (one per identity key seen for them); past this, those of
/// the keys with the lowest counters are dropped, never that of the key pinned for them.
inline constexpr std::size_t max_keys_seen_per_sender = 16;

class chat {
 public:
  /// Counts while the machine sleeps: a peer erases its key on the world's time, not ours.
  using clock = util::boot_clock;
  chat(std::string me, crypto::key_pair identity, crypto::random_source& rng);
  /// Tests replace the clock that ages peers' session keys.
  void set_clock(std::function<clock::time_point()> now) { now_ = std::move(now); }

  const std::string& me() const noexcept { return me_; }
  const crypto::key_pair& identity() const noexcept { return identity_; }

  /// Applies a presence batch; returns what changed (snapshot entries come back as joined).
  /// Entries with names that are not valid user names are ignored.
  std::vector<roster_event> apply(const proto::presence& p);
  /// Online users other than me, sorted, with their keys.
  const std::map<std::string, crypto::public_key>& online() const noexcept { return online_; }
  bool is_online(const std::string& name) const { return online_.count(name) != 0; }
  /// Forgets who is online (the connection is gone; the next snapshot says who is back), and
  /// their session keys (they may have restarted meanwhile).
  void forget_roster() noexcept {
    online_.clear();
    peer_sessions_.clear();
    forgotten_sessions_.clear();
    noticed_.clear();
  }
  /// This run's current session public key (protocol.md 8.5).
  const crypto::public_key& session_key() const noexcept { return session_.pub(); }
  /// A new session key: peers learn it from our next message. The one before is kept, to
  /// open what peers seal to it until then; the one before that is erased, so what was
  /// sealed to it is closed to anyone from now on.
  void renew_session();
  /// Whether messages to `name` are sealed to their session key: learnt from a message of
  /// theirs since they signed in, less than peer_session_lifetime ago (else, to their
  /// identity key).
  bool knows_session_of(const std::string& name) const {
    return name == me_ || fresh_session_of(name) != nullptr;
  }

  /// The ciphertext for `text` to `to` (who must be online). `written_us`: when it was typed
  /// (microseconds since the epoch; 0: now), which its counter carries (protocol.md 8.3).
  /// An empty text is refused: version 3 keeps it for key notices.
  result<bytes> seal_to(const std::string& to, std::string_view text, std::uint64_t written_us = 0);
  /// A key notice to `to` (protocol.md 8.6): a version 3 envelope with no text, which gives
  /// them our current session key, so that what they send us next is sealed to it.
  result<bytes> seal_key_notice(const std::string& to);
  /// Opens a message the relay delivered as coming from `from`.
  result<opened_message> open_from(const std::string& from, byte_view ciphertext);

  /// Highest counter accepted per sender and key: saved by the caller so that a message
  /// replayed after this client restarts is still rejected.
  const seen_counters& seen() const noexcept { return received_; }
  void restore_seen(seen_counters seen) { received_ = std::move(seen); }
  /// Tells which key is pinned for a sender: its counter is never dropped to make room for
  /// others (keys a hostile relay makes up, with huge counters, would push it out, and an old
  /// message from the pinned key would then be taken again as new).
  void keep_counters_of(
      std::function<bool(const std::string& name, const crypto::public_key& key)> pinned) {
    pinned_ = std::move(pinned);
  }
  /// Text form of seen(): "name counter key-hex" lines (and "name counter" for per_name);
  /// parse_seen is its inverse (bad lines skipped).
  static std::string format_seen(const seen_counters& seen);
  static seen_counters parse_seen(std::string_view text);

  /// The highest counter this client has sealed with (0: none yet), saved by the caller:
  /// the next run starts above it, so its counters still increase if the clock went back
  /// in between (an NTP step, a clock that was ahead and was put right; protocol.md 8.3).
  std::uint64_t highest_sent() const noexcept { return highest_sent_; }
  void restore_highest_sent(std::uint64_t counter) noexcept {
    highest_sent_restored_ = counter;
    highest_sent_ = std::max(highest_sent_, counter);
  }
  /// Text form of highest_sent(): the counter in decimal and a line break. parse_sent is its
  /// inverse; anything else, or a counter of max_sent_floor or more (no room left to count
  /// on before 2^64: damage), is 0, as no file is.
  static std::string format_sent(std::uint64_t counter);
  static std::uint64_t parse_sent(std::string_view text);

 private:
  result<bytes> seal(const std::string& to, std::string_view text, std::uint64_t written_us);
  const crypto::public_key* fresh_session_of(const std::string& name) const;
  void forget_old_keys(const std::string& name);

  std::string me_;
  crypto::key_pair identity_;
  crypto::random_source& rng_;
  crypto::key_pair session_;  // the current one; secrets are erased when the client ends
  std::optional<crypto::key_pair> previous_session_;  // until the next renewal
  std::map<std::string, crypto::public_key> online_;
  std::function<clock::time_point()> now_ = [] { return clock::now(); };
  std::function<bool(const std::string&, const crypto::public_key&)> pinned_ =
      [](const std::string&, const crypto::public_key&) { return false; };
  // Each peer's session key, from their last authentic message since they signed in, and
  // when that message came.
  struct learnt_session {
    crypto::public_key key;
    clock::time_point seen;
  };
  std::map<std::string, learnt_session> peer_sessions_;
  // A peer's session key forgotten for a presence entry naming them: their next message
  // must bring another, or the entry was not a sign-in of theirs.
  std::map<std::string, crypto::public_key> forgotten_sessions_;
  // Our session key as sent in a key notice to each peer, until they seal to it (so they
  // have it) or a presence entry names them (a new run of theirs has none of our keys).
  std::map<std::string, crypto::public_key> noticed_;
  std::map<std::string, std::uint64_t> sent_;  // last counter I used, per peer
  std::uint64_t highest_sent_ = 0;             // to anyone, in this run or one before
  std::uint64_t highest_sent_restored_ = 0;    // runs before: every counter goes above it
  seen_counters received_;                     // highest counter accepted, per peer and key
};

}  // namespace relay::client

template <>
struct std::is_error_code_enum<relay::client::chat_errc> : std::true_type {};
