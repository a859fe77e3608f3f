// ChaCha20-Poly1305 (RFC 8439 section 2.8) from libsodium's ChaCha20 and Poly1305; why it
// does not call libsodium's AEAD is in the header.
#include "relay/crypto/chachapoly.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>

namespace relay::crypto::chachapoly {

static_assert(key_len == crypto_stream_chacha20_ietf_KEYBYTES);
static_assert(nonce_len == crypto_stream_chacha20_ietf_NONCEBYTES);
static_assert(tag_len == crypto_onetimeauth_poly1305_BYTES);
static_assert(key_len == crypto_onetimeauth_poly1305_KEYBYTES);

namespace {

constexpr std::size_t block = 64;  // ChaCha20 block; block 0 gives the Poly1305 key
constexpr std::size_t fast = 256;  // libsodium runs whole multiples of this several blocks at once
constexpr std::size_t run = 1024;  // keystream made per call: a multiple of `fast`

alignas(64) constexpr std::array<byte, run> zeros{};

// The keystream from block 0 on, made `run` bytes at most at a time, each call rounded up to
// a multiple of `fast`. The buffer is wiped when it goes out of scope.
class keystream {
 public:
  keystream(std::span<const byte, key_len> key, std::span<const byte, nonce_len> nonce) noexcept
      : key_(key), nonce_(nonce) {}
  keystream(const keystream&) = delete;
  keystream& operator=(const keystream&) = delete;
  ~keystream() { sodium_memzero(buf_.data(), buf_.size()); }

  /// The next run of keystream, enough for `wanted` more bytes if that fits in one run.
  byte_view next(std::size_t wanted) noexcept {
    const std::size_t n = std::min(run, (wanted + fast - 1) / fast * fast);
    crypto_stream_chacha20_ietf_xor_ic(buf_.data(), zeros.data(), n, nonce_.data(), counter_,
                                       key_.data());
    counter_ += static_cast<std::uint32_t>(n / block);
    return {buf_.data(), n};
  }

  /// XORs the next `n` bytes of keystream (a multiple of `fast`) straight into `out`: long
  /// messages need no buffer and no second pass.
  void xor_whole(const byte* in, byte* out, std::size_t n) noexcept {
    crypto_stream_chacha20_ietf_xor_ic(out, in, n, nonce_.data(), counter_, key_.data());
    counter_ += static_cast<std::uint32_t>(n / block);
  }

 private:
  std::span<const byte, key_len> key_;
  std::span<const byte, nonce_len> nonce_;
  std::uint32_t counter_ = 0;
  alignas(64) std::array<byte, run> buf_;
};

// A plain loop: GCC vectorises it at -O3.
void xor_into(byte* out, const byte* in, const byte* ks, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<byte>(in[i] ^ ks[i]);
}

// XORs `in` with the data's keystream (which starts at byte 64 of block 0) into `out`.
// `first` is the run that holds block 0, already made. What the first run does not cover
// goes in whole multiples of `fast` straight through libsodium, the tail through one more run.
void crypt(keystream& ks, byte_view first, const byte* in, byte* out, std::size_t len) noexcept {
  std::size_t done = std::min(len, first.size() - block);
  xor_into(out, in, first.data() + block, done);
  if (const std::size_t whole = (len - done) / fast * fast; whole > 0) {
    ks.xor_whole(in + done, out + done, whole);
    done += whole;
  }
  if (done < len) {
    const byte_view tail = ks.next(len - done);  // len - done < fast: one run covers it
    xor_into(out + done, in + done, tail.data(), len - done);
  }
}

// Poly1305 over ad || pad16 || ciphertext || pad16 || le64(|ad|) || le64(|ciphertext|).
// Short inputs are laid out in one buffer for libsodium's one-shot Poly1305: its streaming
// calls cost 20-30 ns more per message of up to a few hundred bytes (docs/benchmarks.md),
// more than the copy. The buffer holds only public bytes (AD and ciphertext).
constexpr std::size_t one_shot_max = 512;

void mac(const byte* one_time_key, byte_view ad, byte_view ciphertext, byte* tag) noexcept {
  const auto padded = [](std::size_t n) { return (n + 15) / 16 * 16; };
  const std::size_t total = padded(ad.size()) + padded(ciphertext.size()) + 16;
  const auto put_lengths = [&](byte* at) {
    for (std::size_t i = 0; i < 8; ++i) {
      at[i] = static_cast<byte>(static_cast<std::uint64_t>(ad.size()) >> (8 * i));
      at[8 + i] = static_cast<byte>(static_cast<std::uint64_t>(ciphertext.size()) >> (8 * i));
    }
  };
  if (total <= one_shot_max) {
    alignas(16) std::array<byte, one_shot_max> in;
    byte* at = std::copy(ad.begin(), ad.end(), in.data());
    at = std::fill_n(at, padded(ad.size()) - ad.size(), byte{0});
    at = std::copy(ciphertext.begin(), ciphertext.end(), at);
    at = std::fill_n(at, padded(ciphertext.size()) - ciphertext.size(), byte{0});
    put_lengths(at);
    crypto_onetimeauth_poly1305(tag, in.data(), total, one_time_key);
    return;
  }
  crypto_onetimeauth_poly1305_state st;
  crypto_onetimeauth_poly1305_init(&st, one_time_key);
  crypto_onetimeauth_poly1305_update(&st, ad.data(), ad.size());
  crypto_onetimeauth_poly1305_update(&st, zeros.data(), (16 - ad.size() % 16) % 16);
  crypto_onetimeauth_poly1305_update(&st, ciphertext.data(), ciphertext.size());
  crypto_onetimeauth_poly1305_update(&st, zeros.data(), (16 - ciphertext.size() % 16) % 16);
  std::array<byte, 16> lengths{};
  put_lengths(lengths.data());
  crypto_onetimeauth_poly1305_update(&st, lengths.data(), lengths.size());
  crypto_onetimeauth_poly1305_final(&st, tag);
  sodium_memzero(&st, sizeof st);
}

}  // namespace

void seal(std::span<const byte, key_len> key, std::span<const byte, nonce_len> nonce, byte_view ad,
          byte_view plaintext, std::span<byte> out) noexcept {
  const std::size_t len = plaintext.size();
  // Misuse, not input: the 32-bit block counter would wrap, or the buffer is wrong.
  if (len > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX || out.size() != len + tag_len)
    std::abort();
  keystream ks(key, nonce);
  const byte_view first = ks.next(block + len);
  std::array<byte, key_len> one_time_key;
  std::copy_n(first.data(), key_len, one_time_key.begin());
  crypt(ks, first, plaintext.data(), out.data(), len);
  mac(one_time_key.data(), ad, out.first(len), out.data() + len);
  sodium_memzero(one_time_key.data(), one_time_key.size());
}

bool open(std::span<const byte, key_len> key, std::span<const byte, nonce_len> nonce, byte_view ad,
          byte_view ciphertext, std::span<byte> out) noexcept {
  if (ciphertext.size() < tag_len) {  // input, not misuse: too short to hold a tag
    sodium_memzero(out.data(), out.size());
    return false;
  }
  const std::size_t len = ciphertext.size() - tag_len;
  if (out.size() != len) std::abort();
  keystream ks(key, nonce);
  const byte_view first = ks.next(block + len);
  std::array<byte, tag_len> expected;
  mac(first.data(), ad, ciphertext.first(len), expected.data());
  const bool ok = crypto_verify_16(expected.data(), ciphertext.data() + len) == 0;
  sodium_memzero(expected.data(), expected.size());
  if (!ok) {
    sodium_memzero(out.data(), out.size());
    return false;
  }
  crypt(ks, first, ciphertext.data(), out.data(), len);
  return true;
}

}  // namespace relay::crypto::chachapoly
