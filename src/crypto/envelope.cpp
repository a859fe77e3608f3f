// Sealing and opening end-to-end envelopes with crypto_box_easy, and their padded plaintext;
// version 3 boxes the plaintext once more, between session keys (protocol.md 8.5).
#include "relay/crypto/envelope.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "relay/crypto/secret.hpp"
#include "relay/proto/names.hpp"

namespace relay::crypto {

static_assert(envelope_overhead == crypto_box_NONCEBYTES + crypto_box_MACBYTES);
static_assert(key_size == crypto_box_PUBLICKEYBYTES);

namespace {

// version, from_len, to_len, counter, text_len.
constexpr std::size_t fixed_fields = 1 + 1 + 1 + 8 + 4;
/// Version 2 pads as if each name were at least the longest valid one, so the size tells
/// nothing of the names; version 1 padded the names' own lengths.
constexpr std::size_t padded_name = proto::max_name;

// Version 3's outer plaintext before the inner box's ciphertext: version, the two session
// keys, the inner nonce and the inner tag.
constexpr std::size_t session_header =
    1 + 2 * key_size + crypto_box_NONCEBYTES + crypto_box_MACBYTES;
static_assert(session_header == 105);

// The plaintext's padded length; for version 3 the inner one, padded so that the outer
// plaintext (session_header more) is a multiple of the padding.
std::size_t padded_len(byte ver, std::size_t from_len, std::size_t to_len, std::size_t text_len) {
  if (ver >= 2) {
    from_len = std::max(from_len, padded_name);
    to_len = std::max(to_len, padded_name);
  }
  const std::size_t header = ver >= 3 ? session_header : 0;
  const std::size_t n = header + fixed_fields + from_len + to_len + text_len;
  return (n + envelope_padding - 1) / envelope_padding * envelope_padding - header;
}

// Wipes a scratch buffer however the scope ends.
struct wipe_guard {
  bytes& b;
  ~wipe_guard() { wipe(b.data(), b.size()); }
};

class envelope_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "envelope"; }
  std::string message(int c) const override {
    switch (static_cast<envelope_errc>(c)) {
      case envelope_errc::truncated:
        return "envelope truncated";
      case envelope_errc::bad_mac:
        return "envelope authentication failed";
      case envelope_errc::bad_format:
        return "envelope malformed";
      case envelope_errc::unsupported_version:
        return "envelope version not supported";
      case envelope_errc::stale_session:
        return "envelope sealed to another session key";
      case envelope_errc::bad_size:
        return "envelope of an impossible size";
    }
    return "unknown envelope error";
  }
};

// Bounds-checked big-endian reads over the opened plaintext.
class reader {
 public:
  explicit reader(byte_view b) : b_(b) {}
  bool get(std::size_t n, byte_view& out) {
    if (b_.size() - at_ < n) return false;
    out = b_.subspan(at_, n);
    at_ += n;
    return true;
  }
  template <class T>
  bool get_uint(T& v) {
    byte_view raw;
    if (!get(sizeof(T), raw)) return false;
    v = 0;
    for (byte c : raw) v = static_cast<T>((v << 8) | c);
    return true;
  }
  byte_view rest() const { return b_.subspan(at_); }

 private:
  byte_view b_;
  std::size_t at_ = 0;
};

}  // namespace

const std::error_category& envelope_category() noexcept {
  static const envelope_category_impl c;
  return c;
}

std::error_code make_error_code(envelope_errc e) noexcept {
  return {static_cast<int>(e), envelope_category()};
}

std::size_t sealed_size(std::size_t from_len, std::size_t to_len, std::size_t text_len,
                        byte version) {
  return envelope_overhead + (version >= 3 ? session_header : 0) +
         padded_len(version, from_len, to_len, text_len);
}

bytes encode_envelope_plaintext(const envelope& m) {
  const byte version = m.version;
  if (version < 1 || version > session_envelope_version)
    throw std::invalid_argument("envelope: no such version");
  if (m.text.size() > max_text) throw std::invalid_argument("envelope: text too long");
  if (m.from.size() > max_envelope_name || m.to.size() > max_envelope_name)
    throw std::invalid_argument("envelope: name too long");
  bytes pt(padded_len(version, m.from.size(), m.to.size(), m.text.size()), 0);
  auto at = pt.begin();
  auto put_uint = [&at](std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) *at++ = static_cast<byte>(v >> (8 * i));
  };
  auto put_str = [&at](std::string_view s) { at = std::copy(s.begin(), s.end(), at); };
  put_uint(version, 1);
  put_uint(m.from.size(), 1);
  put_str(m.from);
  put_uint(m.to.size(), 1);
  put_str(m.to);
  put_uint(m.counter, 8);
  put_uint(m.text.size(), 4);
  put_str(m.text);
  return pt;
}

result<envelope> decode_envelope_plaintext(byte_view pt) {
  reader r(pt);
  byte ver = 0, from_len = 0, to_len = 0;
  std::uint32_t text_len = 0;
  envelope m;
  byte_view from, to, text;
  if (!r.get_uint(ver)) return envelope_errc::bad_format;
  if (ver < 1 || ver > session_envelope_version) return envelope_errc::unsupported_version;
  if (!r.get_uint(from_len) || !r.get(from_len, from) || !r.get_uint(to_len) ||
      !r.get(to_len, to) || !r.get_uint(m.counter) || !r.get_uint(text_len) ||
      text_len > max_text || !r.get(text_len, text))
    return envelope_errc::bad_format;
  // Exactly the padding seal() adds, all zeros: one encoding per message.
  const byte_view pad = r.rest();
  if (pt.size() != padded_len(ver, from_len, to_len, text_len) ||
      !std::all_of(pad.begin(), pad.end(), [](byte c) { return c == 0; }))
    return envelope_errc::bad_format;
  m.version = ver;
  m.from.assign(as_chars(from));
  m.to.assign(as_chars(to));
  m.text.assign(as_chars(text));
  return m;
}

namespace {

// Version 3's outer plaintext: the inner plaintext boxed from our session key to the
// recipient's (or, not known yet, to their identity key), behind both session keys.
bytes session_plaintext(const envelope& m, const public_key& recipient, const session_pair& s,
                        random_source& rng) {
  bytes inner = encode_envelope_plaintext(m);
  wipe_guard inner_guard{inner};
  bytes pt(session_header + inner.size());
  auto at = pt.begin();
  *at++ = session_envelope_version;
  at = std::copy(s.own.pub().begin(), s.own.pub().end(), at);
  if (s.peer) std::copy(s.peer->begin(), s.peer->end(), at);  // else zeros: not known
  const auto nonce = std::span<byte>(pt).subspan(1 + 2 * key_size, crypto_box_NONCEBYTES);
  rng.fill(nonce);
  const public_key& to = s.peer ? *s.peer : recipient;
  if (crypto_box_easy(nonce.data() + nonce.size(), inner.data(), inner.size(), nonce.data(),
                      to.data(), s.own.secret().data()) != 0) {
    wipe(pt.data(), pt.size());
    throw std::invalid_argument("envelope: unusable recipient key");
  }
  return pt;
}

// Opens version 3's inner box from the outer plaintext `pt`.
result<envelope> open_session(byte_view pt, const key_pair& recipient,
                              const key_pair* own_session) {
  if (!own_session) return envelope_errc::unsupported_version;
  if (pt.size() <= session_header) return envelope_errc::bad_format;
  public_key sender_session, recipient_session;
  std::copy_n(pt.begin() + 1, key_size, sender_session.begin());
  std::copy_n(pt.begin() + 1 + key_size, key_size, recipient_session.begin());
  const bool to_session = recipient_session != public_key{};
  // Sealed to a session key of ours that is gone (an earlier run): it cannot be opened, and
  // saying so beats "cannot be decrypted".
  if (to_session && recipient_session != own_session->pub()) return envelope_errc::stale_session;
  const byte_view nonce = pt.subspan(1 + 2 * key_size, crypto_box_NONCEBYTES);
  const byte_view boxed = pt.subspan(1 + 2 * key_size + crypto_box_NONCEBYTES);
  bytes inner(boxed.size() - crypto_box_MACBYTES);
  wipe_guard guard{inner};
  const byte_view secret = to_session ? own_session->secret() : recipient.secret();
  if (crypto_box_open_easy(inner.data(), boxed.data(), boxed.size(), nonce.data(),
                           sender_session.data(), secret.data()) != 0)
    return envelope_errc::bad_mac;
  auto m = decode_envelope_plaintext(inner);
  // Inside, only version 3 is right: another byte there is a fault, not a newer envelope.
  if (!m && m.error() == envelope_errc::unsupported_version) return envelope_errc::bad_format;
  if (!m) return m;
  if (m->version != session_envelope_version) return envelope_errc::bad_format;
  m->sender_session = sender_session;
  m->to_session = to_session;
  return m;
}

}  // namespace

bytes seal(const envelope& m, const key_pair& sender, const public_key& recipient,
           random_source& rng, const session_pair* sessions) {
  if (m.version >= session_envelope_version && !sessions)
    throw std::invalid_argument("envelope: version 3 needs session keys");
  bytes pt = m.version >= session_envelope_version ? session_plaintext(m, recipient, *sessions, rng)
                                                   : encode_envelope_plaintext(m);
  wipe_guard guard{pt};
  bytes out(envelope_overhead + pt.size());
  const auto nonce = std::span<byte>(out).first(crypto_box_NONCEBYTES);
  rng.fill(nonce);
  if (crypto_box_easy(out.data() + nonce.size(), pt.data(), pt.size(), nonce.data(),
                      recipient.data(), sender.secret().data()) != 0)
    throw std::invalid_argument("envelope: unusable recipient key");
  return out;
}

result<envelope> open(byte_view sealed, const key_pair& recipient, const public_key& sender,
                      const key_pair* own_session) {
  if (sealed.size() < envelope_overhead + envelope_padding) return envelope_errc::truncated;
  // Checked before allocating: nothing longer or unpadded can come from seal().
  if (sealed.size() >
          sealed_size(max_envelope_name, max_envelope_name, max_text, session_envelope_version) ||
      (sealed.size() - envelope_overhead) % envelope_padding != 0)
    return envelope_errc::bad_size;

  const byte_view nonce = sealed.first(crypto_box_NONCEBYTES);
  const byte_view boxed = sealed.subspan(crypto_box_NONCEBYTES);
  bytes pt(boxed.size() - crypto_box_MACBYTES);
  wipe_guard guard{pt};
  if (crypto_box_open_easy(pt.data(), boxed.data(), boxed.size(), nonce.data(), sender.data(),
                           recipient.secret().data()) != 0)
    return envelope_errc::bad_mac;
  if (pt[0] == session_envelope_version) return open_session(pt, recipient, own_session);
  return decode_envelope_plaintext(pt);
}

}  // namespace relay::crypto
