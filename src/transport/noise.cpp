// Noise rev. 34 state machines (sections 5.1-5.3) over crypto::noise primitives, and the XX
// session wrapper. No I/O: bytes in, bytes out.
#include "relay/transport/noise.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "relay/crypto/noise_primitives.hpp"

namespace relay::transport {

namespace prim = crypto::noise;

static_assert(tag_size == prim::aead_tag_len);
static_assert(hash_size == prim::hash_len);
static_assert(crypto::key_size == prim::dh_len);

// ---- errors ---------------------------------------------------------------------------------

namespace {

class noise_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "noise"; }
  std::string message(int ev) const override {
    switch (static_cast<noise_errc>(ev)) {
      case noise_errc::bad_mac:
        return "message failed authentication (tampered, replayed or out of order)";
      case noise_errc::truncated:
        return "message too short for its handshake pattern";
      case noise_errc::low_order_key:
        return "peer sent a low-order public key";
      case noise_errc::wrong_turn:
        return "handshake message out of turn";
      case noise_errc::too_long:
        return "message exceeds the 65535-byte Noise limit";
      case noise_errc::nonce_exhausted:
        return "nonce space exhausted; the session must end";
      case noise_errc::not_ready:
        return "handshake not finished";
      case noise_errc::failed:
        return "an earlier error made this Noise state unusable";
      case noise_errc::missing_key:
        return "handshake pattern needs a static key that was not supplied";
      case noise_errc::unsupported_protocol:
        return "unsupported Noise protocol name";
    }
    return "unknown noise error";
  }
};

// Splits "e, ee, s" one token at a time.
std::string_view next_token(std::string_view& rest) {
  const std::size_t comma = rest.find(',');
  std::string_view tok = rest.substr(0, comma);
  rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
  return tok;
}

bool has_token(std::string_view tokens, std::string_view want) {
  while (!tokens.empty()) {
    if (next_token(tokens) == want) return true;
  }
  return false;
}

std::span<const byte, prim::dh_len> secret_of(const crypto::key_pair& kp) {
  return std::span<const byte, prim::dh_len>(kp.secret().data(), prim::dh_len);
}

}  // namespace

const std::error_category& noise_category() noexcept {
  static const noise_category_impl cat;
  return cat;
}

std::error_code make_error_code(noise_errc e) noexcept {
  return {static_cast<int>(e), noise_category()};
}

// ---- cipher_state ---------------------------------------------------------------------------

void cipher_state::initialize_key(byte_view key) {
  if (key.size() != prim::cipher_key_len) {
    throw std::invalid_argument("cipher_state: key must be 32 bytes");
  }
  static_assert(prim::cipher_key_len == crypto::key_slot::key_size);
  k_.assign(key);
  n_ = 0;
  prim::forget_key(id_);
  id_ = prim::new_key_id();
}

cipher_state& cipher_state::operator=(cipher_state&& o) noexcept {
  if (this != &o) {
    prim::forget_key(id_);
    k_ = std::move(o.k_);
    n_ = o.n_;
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

result<void> cipher_state::encrypt_with_ad(cipher c, byte_view ad, byte_view plaintext,
                                           bytes& out) {
  if (!has_key()) {
    if (plaintext.size() > max_message) return noise_errc::too_long;
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    return {};
  }
  if (plaintext.size() > max_plaintext) return noise_errc::too_long;
  if (n_ == prim::max_nonce) return noise_errc::nonce_exhausted;
  const std::size_t start = out.size();
  out.resize(start + plaintext.size() + tag_size);
  prim::encrypt(c, std::span<const byte, prim::cipher_key_len>(k_.data(), prim::cipher_key_len), n_,
                ad, plaintext, std::span<byte>(out).subspan(start), id_);
  ++n_;
  return {};
}

result<void> cipher_state::decrypt_with_ad(cipher c, byte_view ad, byte_view ciphertext,
                                           bytes& out) {
  if (ciphertext.size() > max_message) return noise_errc::too_long;
  if (!has_key()) {
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
    return {};
  }
  if (ciphertext.size() < tag_size) return noise_errc::truncated;
  if (n_ == prim::max_nonce) return noise_errc::nonce_exhausted;
  const std::size_t start = out.size();
  out.resize(start + ciphertext.size() - tag_size);
  if (!prim::decrypt(c,
                     std::span<const byte, prim::cipher_key_len>(k_.data(), prim::cipher_key_len),
                     n_, ad, ciphertext, std::span<byte>(out).subspan(start), id_)) {
    out.resize(start);
    return noise_errc::bad_mac;
  }
  ++n_;
  return {};
}

void cipher_state::rekey(cipher c) noexcept {
  if (!has_key()) return;
  prim::rekey(c, std::span<byte, prim::cipher_key_len>(k_.data(), prim::cipher_key_len));
  prim::forget_key(id_);
  id_ = prim::new_key_id();
}

// ---- symmetric_state ------------------------------------------------------------------------

symmetric_state::symmetric_state(std::string_view name, cipher c) : c_(c) {
  const byte_view n = as_bytes(name);
  if (n.size() <= hash_size) {
    std::copy(n.begin(), n.end(), h_.begin());  // zero-padded, not hashed (section 5.2)
  } else {
    prim::hash({n}, h_);
  }
  std::copy(h_.begin(), h_.end(), ck_.data());
}

void symmetric_state::mix_key(byte_view ikm) {
  std::array<byte, hash_size> temp_k{};
  prim::hkdf(ck_.view(), ikm, ck_.span(), temp_k);
  cs_.initialize_key(byte_view(temp_k).first(prim::cipher_key_len));
  crypto::wipe(temp_k.data(), temp_k.size());
}

void symmetric_state::mix_hash(byte_view data) noexcept { prim::hash({h_, data}, h_); }

result<void> symmetric_state::encrypt_and_hash(byte_view plaintext, bytes& out) {
  const std::size_t start = out.size();
  if (auto r = cs_.encrypt_with_ad(c_, h_, plaintext, out); !r) return r;
  mix_hash(byte_view(out).subspan(start));
  return {};
}

result<void> symmetric_state::decrypt_and_hash(byte_view ciphertext, bytes& out) {
  if (auto r = cs_.decrypt_with_ad(c_, h_, ciphertext, out); !r) return r;
  mix_hash(ciphertext);  // the ciphertext, not the plaintext
  return {};
}

std::pair<cipher_state, cipher_state> symmetric_state::split() {
  std::array<byte, hash_size> t1{}, t2{};
  prim::hkdf(ck_.view(), {}, t1, t2);
  std::pair<cipher_state, cipher_state> out;
  out.first.initialize_key(byte_view(t1).first(prim::cipher_key_len));
  out.second.initialize_key(byte_view(t2).first(prim::cipher_key_len));
  crypto::wipe(t1.data(), t1.size());
  crypto::wipe(t2.data(), t2.size());
  return out;
}

// ---- handshake_state ------------------------------------------------------------------------

// A handshake pattern as the spec writes it: pre-messages, then messages that alternate,
// initiator first. Tokens are comma-separated.
struct handshake_state::pattern {
  std::string_view name;
  bool pre_initiator_s;  // "-> s" before "..."
  bool pre_responder_s;  // "<- s" before "..."
  std::array<std::string_view, 3> messages;

  std::size_t size() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(messages.begin(), messages.end(), [](auto m) { return !m.empty(); }));
  }
  static const pattern* find(std::string_view protocol, cipher& c);
};

const handshake_state::pattern* handshake_state::pattern::find(std::string_view protocol,
                                                               cipher& c) {
  // Sections 7.4 (one-way) and 7.5 (fundamental interactive); no PSK, no deferred patterns.
  static constexpr std::array<pattern, 15> table{{
      {"N", false, true, {"e, es"}},
      {"K", true, true, {"e, es, ss"}},
      {"X", false, true, {"e, es, s, ss"}},
      {"NN", false, false, {"e", "e, ee"}},
      {"NK", false, true, {"e, es", "e, ee"}},
      {"NX", false, false, {"e", "e, ee, s, es"}},
      {"XN", false, false, {"e", "e, ee", "s, se"}},
      {"XK", false, true, {"e, es", "e, ee", "s, se"}},
      {"XX", false, false, {"e", "e, ee, s, es", "s, se"}},
      {"KN", true, false, {"e", "e, ee, se"}},
      {"KK", true, true, {"e, es, ss", "e, ee, se"}},
      {"KX", true, false, {"e", "e, ee, se, s, es"}},
      {"IN", false, false, {"e, s", "e, ee, se"}},
      {"IK", false, true, {"e, es, s, ss", "e, ee, se"}},
      {"IX", false, false, {"e, s", "e, ee, se, s, es"}},
  }};
  constexpr std::string_view head = "Noise_", chacha = "_25519_ChaChaPoly_BLAKE2b",
                             aes = "_25519_AESGCM_BLAKE2b";
  if (!protocol.starts_with(head)) return nullptr;
  std::size_t tail = 0;
  if (protocol.ends_with(chacha)) {
    c = cipher::chachapoly;
    tail = chacha.size();
  } else if (protocol.ends_with(aes) && prim::aesgcm_available()) {
    c = cipher::aesgcm;
    tail = aes.size();
  } else {
    return nullptr;
  }
  if (protocol.size() < head.size() + tail) return nullptr;
  const std::string_view name = protocol.substr(head.size(), protocol.size() - head.size() - tail);
  for (const pattern& p : table) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

handshake_state::handshake_state(const pattern& p, bool initiator, crypto::random_source& rng,
                                 std::string_view name, cipher c)
    : pattern_(&p), initiator_(initiator), rng_(&rng), ss_(name, c) {}

result<handshake_state> handshake_state::create(const config& cfg, crypto::random_source& rng) {
  cipher c = cipher::chachapoly;
  const pattern* p = pattern::find(cfg.protocol, c);
  if (p == nullptr) return noise_errc::unsupported_protocol;

  const bool we_pre = cfg.initiator ? p->pre_initiator_s : p->pre_responder_s;
  const bool they_pre = cfg.initiator ? p->pre_responder_s : p->pre_initiator_s;
  bool need_s = we_pre;
  for (std::size_t i = 0; i < p->size(); ++i) {
    if ((i % 2 == 0) == cfg.initiator && has_token(p->messages[i], "s")) need_s = true;
  }
  if ((need_s && cfg.s == nullptr) || (they_pre && cfg.rs == nullptr)) {
    return noise_errc::missing_key;
  }

  handshake_state hs(*p, cfg.initiator, rng, cfg.protocol, c);
  if (cfg.s != nullptr) hs.s_ = cfg.s->copy();
  if (cfg.e != nullptr) hs.e_ = cfg.e->copy();
  if (they_pre) hs.rs_ = *cfg.rs;
  hs.ss_.mix_hash(cfg.prologue);
  // Pre-message keys: the initiator's first (section 5.3).
  if (p->pre_initiator_s) hs.ss_.mix_hash(cfg.initiator ? hs.s_->pub() : *hs.rs_);
  if (p->pre_responder_s) hs.ss_.mix_hash(cfg.initiator ? *hs.rs_ : hs.s_->pub());
  return hs;
}

bool handshake_state::done() const noexcept { return index_ >= pattern_->size(); }

bool handshake_state::my_turn() const noexcept {
  return !failed_ && !done() && (index_ % 2 == 0) == initiator_;
}

result<void> handshake_state::mix_dh(std::string_view token) {
  // es: initiator's e with responder's s; se: initiator's s with responder's e (section 7.1).
  const bool local_e =
      token == "ee" || (token == "es" && initiator_) || (token == "se" && !initiator_);
  const bool remote_e =
      token == "ee" || (token == "es" && !initiator_) || (token == "se" && initiator_);
  const std::optional<crypto::key_pair>& local = local_e ? e_ : s_;
  const std::optional<crypto::public_key>& remote = remote_e ? re_ : rs_;
  if (!local || !remote) return noise_errc::missing_key;
  std::array<byte, prim::dh_len> shared{};
  if (!prim::dh(secret_of(*local), *remote, shared)) return noise_errc::low_order_key;
  ss_.mix_key(shared);
  crypto::wipe(shared.data(), shared.size());
  return {};
}

result<void> handshake_state::write_tokens(byte_view payload, bytes& out) {
  std::string_view tokens = pattern_->messages[index_];
  while (!tokens.empty()) {
    const std::string_view tok = next_token(tokens);
    if (tok == "e") {
      if (!e_) e_ = crypto::key_pair::generate(*rng_);  // else given in config::e
      out.insert(out.end(), e_->pub().begin(), e_->pub().end());
      ss_.mix_hash(e_->pub());
    } else if (tok == "s") {
      if (!s_) return noise_errc::missing_key;
      if (auto r = ss_.encrypt_and_hash(s_->pub(), out); !r) return r;
    } else if (auto r = mix_dh(tok); !r) {
      return r;
    }
  }
  return ss_.encrypt_and_hash(payload, out);
}

result<void> handshake_state::read_tokens(byte_view message, bytes& payload) {
  std::string_view tokens = pattern_->messages[index_];
  byte_view rest = message;
  while (!tokens.empty()) {
    const std::string_view tok = next_token(tokens);
    if (tok == "e") {
      if (rest.size() < prim::dh_len) return noise_errc::truncated;
      re_.emplace();
      std::copy_n(rest.begin(), prim::dh_len, re_->begin());
      ss_.mix_hash(rest.first(prim::dh_len));
      rest = rest.subspan(prim::dh_len);
    } else if (tok == "s") {
      const std::size_t n = prim::dh_len + (ss_.has_key() ? tag_size : 0);
      if (rest.size() < n) return noise_errc::truncated;
      bytes key;
      if (auto r = ss_.decrypt_and_hash(rest.first(n), key); !r) return r;
      rs_.emplace();
      std::copy_n(key.begin(), prim::dh_len, rs_->begin());
      rest = rest.subspan(n);
    } else if (auto r = mix_dh(tok); !r) {
      return r;
    }
  }
  return ss_.decrypt_and_hash(rest, payload);
}

result<void> handshake_state::write_message(byte_view payload, bytes& out) {
  if (failed_) return noise_errc::failed;
  if (!my_turn()) return noise_errc::wrong_turn;
  const std::size_t start = out.size();
  result<void> r = payload.size() > max_message ? result<void>(noise_errc::too_long)
                                                : write_tokens(payload, out);
  if (r && out.size() - start > max_message) r = noise_errc::too_long;
  if (!r) {
    out.resize(start);
    failed_ = true;
    return r;
  }
  ++index_;
  return {};
}

result<void> handshake_state::read_message(byte_view message, bytes& payload) {
  if (failed_) return noise_errc::failed;
  if (done() || my_turn()) return noise_errc::wrong_turn;
  const std::size_t start = payload.size();
  result<void> r = message.size() > max_message ? result<void>(noise_errc::too_long)
                                                : read_tokens(message, payload);
  if (!r) {
    payload.resize(start);
    failed_ = true;
    return r;
  }
  ++index_;
  return {};
}

result<std::pair<cipher_state, cipher_state>> handshake_state::split() {
  if (failed_) return noise_errc::failed;
  if (!done() || split_) return noise_errc::not_ready;
  split_ = true;
  return ss_.split();
}

// ---- noise_session --------------------------------------------------------------------------

// What only the handshake needs. For a negotiating session the handshake_state cannot be built
// up front: the responder learns the protocol name from message 1, and the initiator may have
// to rebuild its state for ChaChaPoly (same ephemeral, same message 1) when reading message 2.
struct noise_session::pending {
  std::optional<handshake_state> hs;
  std::optional<crypto::key_pair> s;  // negotiating: our static, until the cipher is settled
  std::optional<crypto::key_pair> e;  // negotiating initiator: the ephemeral of message 1
  bytes m1_payload;                   // negotiating initiator: message 1's payload
  crypto::random_source* rng = nullptr;
};

handshake_state noise_session::start(bool initiator, cipher c, const crypto::key_pair& s,
                                     const crypto::key_pair* e, crypto::random_source& rng) {
  handshake_state::config cfg;
  cfg.protocol = protocol_for(c);
  cfg.initiator = initiator;
  cfg.prologue = as_bytes(prologue);
  cfg.s = &s;
  cfg.e = e;
  auto hs = handshake_state::create(cfg, rng);
  if (!hs) throw std::logic_error("noise_session: " + hs.error().message());
  return std::move(*hs);
}

noise_session::noise_session(role r, const crypto::key_pair& static_key, crypto::random_source& rng,
                             bool keep_details, cipher_choice choice)
    : hs_(std::make_unique<pending>()),
      keep_details_(keep_details),
      initiator_(r == role::initiator),
      negotiate_(choice == cipher_choice::aesgcm_if_available) {
  hs_->rng = &rng;
  if (!negotiate_) {
    hs_->hs.emplace(start(initiator_, cipher::chachapoly, static_key, nullptr, rng));
    return;
  }
  hs_->s = static_key.copy();
  if (initiator_ && prim::aesgcm_available()) {
    cipher_ = cipher::aesgcm;  // offered; read_message2_either settles it
    hs_->e = crypto::key_pair::generate(rng);
    hs_->hs.emplace(start(true, cipher::aesgcm, *hs_->s, &*hs_->e, rng));
  } else if (initiator_) {
    hs_->hs.emplace(start(true, cipher::chachapoly, *hs_->s, nullptr, rng));  // offers nothing
  }
}

noise_session::~noise_session() = default;
noise_session::noise_session(noise_session&&) noexcept = default;
noise_session& noise_session::operator=(noise_session&&) noexcept = default;

bool noise_session::my_turn() const noexcept {
  // A negotiating responder has no state before message 1, and it is not its turn.
  return !failed_ && hs_ && hs_->hs && hs_->hs->my_turn();
}

const crypto::public_key* noise_session::remote_static() const noexcept {
  if (details_ && details_->rs) return &*details_->rs;
  return hs_ && hs_->hs ? hs_->hs->remote_static() : nullptr;
}

byte_view noise_session::handshake_hash() const noexcept {
  return done_ && details_ ? byte_view(details_->h) : byte_view{};
}

result<bytes> noise_session::write_handshake(byte_view payload) {
  if (failed_) return noise_errc::failed;
  if (!hs_ || !hs_->hs) return noise_errc::wrong_turn;
  handshake_state& hs = *hs_->hs;
  bytes out;
  result<void> r;
  if (negotiate_ && initiator_ && hs.messages() == 0 && hs.my_turn()) {
    // Message 1: the offer byte, then the caller's payload; kept for a ChaChaPoly rebuild.
    hs_->m1_payload.assign(1, cipher_ == cipher::aesgcm ? offer_aesgcm : byte{0});
    hs_->m1_payload.insert(hs_->m1_payload.end(), payload.begin(), payload.end());
    r = hs.write_message(hs_->m1_payload, out);
  } else {
    r = hs.write_message(payload, out);
  }
  if (!r) {
    failed_ = hs.failed();
    return failure{r.error()};
  }
  if (hs.done()) finish();
  return out;
}

result<void> noise_session::read_message1_choosing(byte_view message, bytes& payload) {
  // The first payload byte (after e, 32 bytes in clear) is the initiator's offer. It is
  // mixed into h like the rest of the payload, so a change on the path fails message 2.
  const bool offered = message.size() > prim::dh_len && (message[prim::dh_len] & offer_aesgcm) != 0;
  cipher_ = offered && prim::aesgcm_available() ? cipher::aesgcm : cipher::chachapoly;
  hs_->hs.emplace(start(false, cipher_, *hs_->s, nullptr, *hs_->rng));
  hs_->s.reset();
  bytes all;
  if (auto r = hs_->hs->read_message(message, all); !r) return r;
  if (!all.empty()) payload.insert(payload.end(), all.begin() + 1, all.end());
  return {};
}

result<void> noise_session::read_message2_either(byte_view message, bytes& payload) {
  // The relay answers an offer with AESGCM or ChaChaPoly and says nothing else: message 2
  // authenticates under the protocol it chose and under no other.
  auto r = hs_->hs->read_message(message, payload);
  if (!r && r.error() == make_error_code(noise_errc::bad_mac) && cipher_ == cipher::aesgcm) {
    handshake_state plain = start(true, cipher::chachapoly, *hs_->s, &*hs_->e, *hs_->rng);
    bytes again;
    if (!plain.write_message(hs_->m1_payload, again)) return noise_errc::failed;
    r = plain.read_message(message, payload);
    if (r) {
      hs_->hs.emplace(std::move(plain));
      cipher_ = cipher::chachapoly;
    }
  }
  hs_->s.reset();
  hs_->e.reset();
  hs_->m1_payload.clear();
  return r;
}

result<bytes> noise_session::read_handshake(byte_view message) {
  if (failed_) return noise_errc::failed;
  if (!hs_) return noise_errc::wrong_turn;
  bytes payload;
  result<void> r;
  if (negotiate_ && !initiator_ && !hs_->hs) {
    r = read_message1_choosing(message, payload);
  } else if (!hs_->hs) {
    return noise_errc::wrong_turn;
  } else if (negotiate_ && initiator_ && hs_->hs->messages() == 1 && !hs_->hs->my_turn()) {
    r = read_message2_either(message, payload);
  } else {
    r = hs_->hs->read_message(message, payload);
  }
  if (!r) {
    failed_ = !hs_->hs || hs_->hs->failed();
    return failure{r.error()};
  }
  if (hs_->hs->done()) finish();
  return payload;
}

void noise_session::finish() {
  handshake_state& hs = *hs_->hs;
  auto ciphers = hs.split();
  if (!ciphers) throw std::logic_error("noise_session: split after a finished handshake failed");
  send_ = std::move(initiator_ ? ciphers->first : ciphers->second);
  recv_ = std::move(initiator_ ? ciphers->second : ciphers->first);
  if (keep_details_) {
    details_ = std::make_unique<details>();
    if (const crypto::public_key* rs = hs.remote_static()) details_->rs = *rs;
    const byte_view h = hs.handshake_hash();
    std::copy(h.begin(), h.end(), details_->h.begin());
  }
  hs_.reset();
  done_ = true;
}

result<void> noise_session::encrypt_into(byte_view plaintext, bytes& out) {
  if (failed_) return noise_errc::failed;
  // A keyless cipher_state would pass plaintext through; refuse instead (e.g. moved-from).
  if (!done_ || !send_.has_key()) return noise_errc::not_ready;
  if (plaintext.size() > max_plaintext) return noise_errc::too_long;
  return send_.encrypt_with_ad(cipher_, {}, plaintext, out);
}

result<bytes> noise_session::encrypt(byte_view plaintext) {
  bytes out;
  out.reserve(std::min(plaintext.size(), max_plaintext) + tag_size);
  if (auto r = encrypt_into(plaintext, out); !r) return failure{r.error()};
  return out;
}

result<bytes> noise_session::decrypt(byte_view ciphertext) {
  bytes out;
  if (auto r = decrypt_into(ciphertext, out); !r) return failure{r.error()};
  return out;
}

result<void> noise_session::decrypt_into(byte_view ciphertext, bytes& out) {
  if (failed_) return noise_errc::failed;
  if (!done_ || !recv_.has_key()) return noise_errc::not_ready;
  return recv_.decrypt_with_ad(cipher_, {}, ciphertext, out);
}

}  // namespace relay::transport
