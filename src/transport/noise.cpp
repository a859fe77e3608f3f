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
}

result<void> cipher_state::encrypt_with_ad(byte_view ad, byte_view plaintext, bytes& out) {
  if (!has_key()) {
    if (plaintext.size() > max_message) return noise_errc::too_long;
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    return {};
  }
  if (plaintext.size() > max_plaintext) return noise_errc::too_long;
  if (n_ == prim::max_nonce) return noise_errc::nonce_exhausted;
  const std::size_t start = out.size();
  out.resize(start + plaintext.size() + tag_size);
  prim::encrypt(std::span<const byte, prim::cipher_key_len>(k_.data(), prim::cipher_key_len), n_,
                ad, plaintext, std::span<byte>(out).subspan(start));
  ++n_;
  return {};
}

result<void> cipher_state::decrypt_with_ad(byte_view ad, byte_view ciphertext, bytes& out) {
  if (ciphertext.size() > max_message) return noise_errc::too_long;
  if (!has_key()) {
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
    return {};
  }
  if (ciphertext.size() < tag_size) return noise_errc::truncated;
  if (n_ == prim::max_nonce) return noise_errc::nonce_exhausted;
  const std::size_t start = out.size();
  out.resize(start + ciphertext.size() - tag_size);
  if (!prim::decrypt(std::span<const byte, prim::cipher_key_len>(k_.data(), prim::cipher_key_len),
                     n_, ad, ciphertext, std::span<byte>(out).subspan(start))) {
    out.resize(start);
    return noise_errc::bad_mac;
  }
  ++n_;
  return {};
}

void cipher_state::rekey() noexcept {
  if (has_key())
    prim::rekey(std::span<byte, prim::cipher_key_len>(k_.data(), prim::cipher_key_len));
}

// ---- symmetric_state ------------------------------------------------------------------------

symmetric_state::symmetric_state(std::string_view name) {
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
  if (auto r = cs_.encrypt_with_ad(h_, plaintext, out); !r) return r;
  mix_hash(byte_view(out).subspan(start));
  return {};
}

result<void> symmetric_state::decrypt_and_hash(byte_view ciphertext, bytes& out) {
  if (auto r = cs_.decrypt_with_ad(h_, ciphertext, out); !r) return r;
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
  static const pattern* find(std::string_view protocol);
};

const handshake_state::pattern* handshake_state::pattern::find(std::string_view protocol) {
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
  constexpr std::string_view head = "Noise_", tail = "_25519_ChaChaPoly_BLAKE2b";
  if (!protocol.starts_with(head) || !protocol.ends_with(tail)) return nullptr;
  const std::string_view name =
      protocol.substr(head.size(), protocol.size() - head.size() - tail.size());
  for (const pattern& p : table) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

handshake_state::handshake_state(const pattern& p, bool initiator, crypto::random_source& rng,
                                 std::string_view name)
    : pattern_(&p), initiator_(initiator), rng_(&rng), ss_(name) {}

result<handshake_state> handshake_state::create(const config& cfg, crypto::random_source& rng) {
  const pattern* p = pattern::find(cfg.protocol);
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

  handshake_state hs(*p, cfg.initiator, rng, cfg.protocol);
  if (cfg.s != nullptr) hs.s_ = crypto::key_pair::from_secret(cfg.s->secret());
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
      e_ = crypto::key_pair::generate(*rng_);
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

noise_session::noise_session(role r, const crypto::key_pair& static_key, crypto::random_source& rng,
                             bool keep_details)
    : keep_details_(keep_details), initiator_(r == role::initiator) {
  handshake_state::config cfg;
  cfg.protocol = protocol_name;
  cfg.initiator = initiator_;
  cfg.prologue = as_bytes(prologue);
  cfg.s = &static_key;
  auto hs = handshake_state::create(cfg, rng);
  if (!hs) throw std::logic_error("noise_session: " + hs.error().message());
  hs_ = std::make_unique<handshake_state>(std::move(*hs));
}

bool noise_session::my_turn() const noexcept { return !failed_ && hs_ && hs_->my_turn(); }

const crypto::public_key* noise_session::remote_static() const noexcept {
  if (details_ && details_->rs) return &*details_->rs;
  return hs_ ? hs_->remote_static() : nullptr;
}

byte_view noise_session::handshake_hash() const noexcept {
  return done_ && details_ ? byte_view(details_->h) : byte_view{};
}

result<bytes> noise_session::write_handshake(byte_view payload) {
  if (failed_) return noise_errc::failed;
  if (!hs_) return noise_errc::wrong_turn;
  bytes out;
  if (auto r = hs_->write_message(payload, out); !r) {
    failed_ = hs_->failed();
    return failure{r.error()};
  }
  if (hs_->done()) finish();
  return out;
}

result<bytes> noise_session::read_handshake(byte_view message) {
  if (failed_) return noise_errc::failed;
  if (!hs_) return noise_errc::wrong_turn;
  bytes payload;
  if (auto r = hs_->read_message(message, payload); !r) {
    failed_ = hs_->failed();
    return failure{r.error()};
  }
  if (hs_->done()) finish();
  return payload;
}

void noise_session::finish() {
  auto ciphers = hs_->split();
  if (!ciphers) throw std::logic_error("noise_session: split after a finished handshake failed");
  send_ = std::move(initiator_ ? ciphers->first : ciphers->second);
  recv_ = std::move(initiator_ ? ciphers->second : ciphers->first);
  if (keep_details_) {
    details_ = std::make_unique<details>();
    if (const crypto::public_key* rs = hs_->remote_static()) details_->rs = *rs;
    const byte_view h = hs_->handshake_hash();
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
  return send_.encrypt_with_ad({}, plaintext, out);
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
  return recv_.decrypt_with_ad({}, ciphertext, out);
}

}  // namespace relay::transport
