// Noise XX initiator (Noise rev. 34, sections 5.1-5.3) over crypto::noise primitives, and
// in-place frame codecs for the load tool's hot path.
#include "relay/bench/wire.hpp"

#include <cstring>

#include "relay/crypto/noise_primitives.hpp"
#include "relay/proto/frames.hpp"
#include "relay/transport/noise.hpp"

namespace relay::bench {
namespace nz = crypto::noise;

static_assert(batch_builder::max_plaintext == proto::max_frame);

void bench_cipher::seal_record(byte_view plain, bytes& out) noexcept {
  const std::size_t len = plain.size() + nz::aead_tag_len;
  const std::size_t at = out.size();
  out.resize(at + 2 + len);  // capacity is kept between writes: no allocation in steady state
  out[at] = static_cast<byte>(len >> 8);
  out[at + 1] = static_cast<byte>(len);
  nz::encrypt(c, key, n++, {}, plain, std::span<byte>(out).subspan(at + 2, len));
}

std::optional<std::size_t> bench_cipher::open(byte_view ct, std::span<byte> out) noexcept {
  if (ct.size() < nz::aead_tag_len) return std::nullopt;
  const std::size_t len = ct.size() - nz::aead_tag_len;
  if (!nz::decrypt(c, key, n, {}, ct, out.first(len))) return std::nullopt;
  ++n;
  return len;
}

key32 public_of(const key32& secret) noexcept {
  key32 base{9}, pub{};
  (void)nz::dh(secret, base, pub);  // the base point is never low-order
  return pub;
}

xx_initiator::xx_initiator(const key32& static_secret, crypto::random_source& rng,
                           bool offer_aesgcm)
    : offer_(offer_aesgcm && nz::aesgcm_available()),
      s_sec_(static_secret),
      s_pub_(public_of(static_secret)) {
  rng.fill(e_sec_);
  e_pub_ = public_of(e_sec_);
  start(offer_ ? nz::cipher::aesgcm : nz::cipher::chachapoly);
}

void xx_initiator::start(nz::cipher c) noexcept {
  c_ = c;
  const std::string_view name = transport::protocol_for(c);
  h_.fill(0);
  std::memcpy(h_.data(), name.data(), name.size());
  ck_ = h_;
  n_ = 0;
  mix_hash(as_bytes(transport::prologue));
}

byte_view xx_initiator::message1_payload() const noexcept {
  static constexpr std::array<byte, 1> offer{transport::offer_aesgcm};
  return offer_ ? byte_view(offer) : byte_view();
}

void xx_initiator::mix_hash(byte_view d) noexcept { nz::hash({h_, d}, h_); }

void xx_initiator::mix_key(byte_view ikm) noexcept {
  std::array<byte, 64> temp{};
  nz::hkdf(ck_, ikm, ck_, temp);
  std::memcpy(k_.data(), temp.data(), k_.size());
  n_ = 0;
}

bool xx_initiator::dh(const key32& sec, const key32& pub, key32& out) noexcept {
  return nz::dh(sec, pub, out);
}

void xx_initiator::write_message1(bytes& out) {
  // -> e, then the payload in clear: the offer byte or nothing
  const byte_view payload = message1_payload();
  out.push_back(0);
  out.push_back(static_cast<byte>(32 + payload.size()));
  out.insert(out.end(), e_pub_.begin(), e_pub_.end());
  out.insert(out.end(), payload.begin(), payload.end());
  mix_hash(e_pub_);
  mix_hash(payload);
}

bool xx_initiator::read_message2(byte_view m) {
  if (read_message2_as(m)) return true;
  if (c_ == nz::cipher::chachapoly) return false;
  // The relay declined the offer: message 1 again under the ChaChaPoly name, then message 2.
  start(nz::cipher::chachapoly);
  mix_hash(e_pub_);
  mix_hash(message1_payload());
  return read_message2_as(m);
}

bool xx_initiator::read_message2_as(byte_view m) noexcept {
  // <- e, ee, s, es, then the encrypted empty payload
  if (m.size() != 32 + 48 + 16) return false;
  std::memcpy(re_.data(), m.data(), 32);
  mix_hash(re_);
  key32 shared{};
  if (!dh(e_sec_, re_, shared)) return false;
  mix_key(shared);
  byte_view enc_s = m.subspan(32, 48);
  if (!nz::decrypt(c_, k_, n_++, h_, enc_s, rs_)) return false;
  mix_hash(enc_s);
  if (!dh(e_sec_, rs_, shared)) return false;
  mix_key(shared);
  byte_view tag = m.subspan(80, 16);
  std::array<byte, 1> none{};
  if (!nz::decrypt(c_, k_, n_++, h_, tag, std::span<byte>(none).first(0))) return false;
  mix_hash(tag);
  return true;
}

std::pair<bench_cipher, bench_cipher> xx_initiator::write_message3(bytes& out, byte features) {
  // -> s, se, then the encrypted payload: the feature byte, or nothing
  const std::array<byte, 1> payload_bytes{features};
  const byte_view payload = features != 0 ? byte_view(payload_bytes) : byte_view();
  const std::size_t body = 48 + payload.size() + 16;
  out.push_back(static_cast<byte>(body >> 8));
  out.push_back(static_cast<byte>(body));
  const std::size_t at = out.size();
  out.resize(at + body);
  std::span<byte> enc_s = std::span<byte>(out).subspan(at, 48);
  nz::encrypt(c_, k_, n_++, h_, s_pub_, enc_s);
  mix_hash(enc_s);
  key32 shared{};
  (void)dh(s_sec_, re_, shared);  // re_ passed the low-order check in read_message2
  mix_key(shared);
  std::span<byte> enc_payload = std::span<byte>(out).subspan(at + 48, payload.size() + 16);
  nz::encrypt(c_, k_, n_++, h_, payload, enc_payload);
  mix_hash(enc_payload);
  std::array<byte, 64> t1{}, t2{};
  nz::hkdf(ck_, {}, t1, t2);
  std::pair<bench_cipher, bench_cipher> cs;
  std::memcpy(cs.first.key.data(), t1.data(), 32);
  std::memcpy(cs.second.key.data(), t2.data(), 32);
  cs.first.c = cs.second.c = c_;
  return cs;
}

std::span<byte> write_send_frame(std::span<byte> out, std::uint32_t id, std::string_view to,
                                 std::size_t len) noexcept {
  byte* p = out.data();
  *p++ = 0x03;
  for (int s = 24; s >= 0; s -= 8) *p++ = static_cast<byte>(id >> s);
  *p++ = static_cast<byte>(to.size());
  std::memcpy(p, to.data(), to.size());
  p += to.size();
  *p++ = static_cast<byte>(len >> 8);
  *p++ = static_cast<byte>(len);
  return {p, len};
}

std::span<byte> batch_builder::add(std::size_t len) noexcept {
  if (count_ == 0) {
    buf_[0] = static_cast<byte>(proto::frame_type::batch);
    used_ = 1;
  }
  buf_[used_] = static_cast<byte>(len >> 8);
  buf_[used_ + 1] = static_cast<byte>(len);
  std::span<byte> f = buf_.subspan(used_ + 2, len);
  used_ += 2 + len;
  ++count_;
  return f;
}

byte_view batch_builder::plaintext() const noexcept {
  if (count_ == 0) return {};
  if (count_ == 1) return byte_view(buf_).subspan(3, used_ - 3);
  return byte_view(buf_).first(used_);
}

std::optional<deliver_view> parse_deliver(byte_view in) noexcept {
  if (in.size() < 4 || in[0] != 0x83) return std::nullopt;
  const std::size_t nlen = in[1];
  if (in.size() < 2 + nlen + 2) return std::nullopt;
  const std::size_t at = 2 + nlen;
  const std::size_t clen = (std::size_t{in[at]} << 8) | in[at + 1];
  if (in.size() != at + 2 + clen || clen > 32768) return std::nullopt;
  return deliver_view{as_chars(in.subspan(2, nlen)), in.subspan(at + 2, clen)};
}

std::optional<std::uint64_t> parse_ping(byte_view in) noexcept {
  if (in.size() != 9 || in[0] != 0x04) return std::nullopt;
  std::uint64_t t = 0;
  for (int i = 1; i < 9; ++i) t = (t << 8) | in[i];
  return t;
}

void write_pong(std::span<byte, 9> out, std::uint64_t token) noexcept {
  out[0] = 0x05;
  for (int i = 8; i >= 1; --i) {
    out[i] = static_cast<byte>(token);
    token >>= 8;
  }
}

}  // namespace relay::bench
