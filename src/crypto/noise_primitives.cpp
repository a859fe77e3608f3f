// Noise's crypto functions on libsodium: BLAKE2b-512, hand-built HMAC/HKDF, X25519,
// ChaCha20-Poly1305 and AES-256-GCM.
#include "relay/crypto/noise_primitives.hpp"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "relay/crypto/chachapoly.hpp"

namespace relay::crypto::noise {

static_assert(dh_len == crypto_scalarmult_BYTES);
static_assert(dh_len == crypto_scalarmult_SCALARBYTES);
static_assert(hash_len <= crypto_generichash_BYTES_MAX);
static_assert(hash_len == crypto_generichash_blake2b_BYTES_MAX);
static_assert(cipher_key_len == crypto_aead_chacha20poly1305_ietf_KEYBYTES);
static_assert(aead_nonce_len == crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
static_assert(aead_tag_len == crypto_aead_chacha20poly1305_ietf_ABYTES);
static_assert(cipher_key_len == crypto_aead_aes256gcm_KEYBYTES);
static_assert(aead_nonce_len == crypto_aead_aes256gcm_NPUBBYTES);
static_assert(aead_tag_len == crypto_aead_aes256gcm_ABYTES);

namespace {

// Wipes a buffer when the scope ends, however it ends.
struct scoped_wipe {
  void* p;
  std::size_t n;
  ~scoped_wipe() { sodium_memzero(p, n); }
};

}  // namespace

void hash(std::initializer_list<byte_view> parts, hash_out out) noexcept {
  crypto_generichash_state st;
  scoped_wipe w{&st, sizeof st};
  // Unkeyed BLAKE2b with a 64-byte digest; the library default (32 bytes) is a different hash.
  crypto_generichash_init(&st, nullptr, 0, hash_len);
  for (byte_view p : parts) crypto_generichash_update(&st, p.data(), p.size());
  crypto_generichash_final(&st, out.data(), hash_len);
}

void hmac(byte_view key, std::initializer_list<byte_view> parts, hash_out out) noexcept {
  std::array<byte, block_len> pad{};
  std::array<byte, hash_len> inner{};
  scoped_wipe w1{pad.data(), pad.size()};
  scoped_wipe w2{inner.data(), inner.size()};
  if (key.size() > block_len) {
    hash({key}, std::span<byte, hash_len>(pad.data(), hash_len));
  } else {
    std::copy(key.begin(), key.end(), pad.begin());
  }
  // RFC 2104 with the Noise HASH; keyed BLAKE2b would be a different function (section 15.2).
  for (byte& b : pad) b ^= 0x36;
  crypto_generichash_state st;
  scoped_wipe w3{&st, sizeof st};
  crypto_generichash_init(&st, nullptr, 0, hash_len);
  crypto_generichash_update(&st, pad.data(), pad.size());
  for (byte_view p : parts) crypto_generichash_update(&st, p.data(), p.size());
  crypto_generichash_final(&st, inner.data(), hash_len);
  for (byte& b : pad) b ^= 0x36 ^ 0x5c;
  hash({pad, inner}, out);
}

namespace {

void hkdf_n(byte_view chaining_key, byte_view ikm, std::span<const hash_out> outs) noexcept {
  std::array<byte, hash_len> temp{};
  std::array<byte, hash_len> prev{};
  scoped_wipe w1{temp.data(), temp.size()};
  scoped_wipe w2{prev.data(), prev.size()};
  hmac(chaining_key, {ikm}, temp);  // before any output is written, so out1 may alias it
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const byte counter = static_cast<byte>(i + 1);
    byte_view last = i == 0 ? byte_view{} : byte_view{prev};
    hmac(temp, {last, byte_view{&counter, 1}}, prev);
    std::copy(prev.begin(), prev.end(), outs[i].begin());
  }
}

}  // namespace

void hkdf(byte_view chaining_key, byte_view ikm, hash_out out1, hash_out out2) noexcept {
  const std::array<hash_out, 2> outs{out1, out2};
  hkdf_n(chaining_key, ikm, outs);
}

void hkdf(byte_view chaining_key, byte_view ikm, hash_out out1, hash_out out2,
          hash_out out3) noexcept {
  const std::array<hash_out, 3> outs{out1, out2, out3};
  hkdf_n(chaining_key, ikm, outs);
}

bool dh(std::span<const byte, dh_len> secret, std::span<const byte, dh_len> pub,
        std::span<byte, dh_len> out) noexcept {
  // libsodium returns -1 for low-order points (an all-zero result); section 12.1 lets us abort.
  if (crypto_scalarmult(out.data(), secret.data(), pub.data()) != 0) {
    sodium_memzero(out.data(), out.size());
    return false;
  }
  return true;
}

std::string_view cipher_name(cipher c) noexcept {
  return c == cipher::aesgcm ? "AESGCM" : "ChaChaPoly";
}

bool aesgcm_available() noexcept {
  static const bool yes = crypto_aead_aes256gcm_is_available() == 1;
  return yes;
}

aead_nonce make_nonce(cipher c, std::uint64_t n) noexcept {
  aead_nonce nonce{};
  for (std::size_t i = 0; i < 8; ++i) {
    const std::size_t at = c == cipher::aesgcm ? 11 - i : 4 + i;
    nonce[at] = static_cast<byte>(n >> (8 * i));
  }
  return nonce;
}

namespace {

// The expanded AES-256-GCM key of the key id used last on this thread (noise_primitives.hpp
// says why). The relay opens many messages in a row with one key (a read from one connection)
// and seals many in a row with another (a flush to one connection), so one entry per thread
// catches most; one per connection would cost 1 KiB each, doubling an idle relay's memory.
// Trivially destructible, so a cipher state destroyed late (after this thread's thread_local
// destructors) can still call forget_key safely.
struct aes_schedule {
  crypto_aead_aes256gcm_state* st = nullptr;  // guarded memory, allocated on first use
  key_id id = 0;                              // whose expansion st holds; 0: none
};
thread_local aes_schedule aes_cache;

// Frees (and so wipes) this thread's expansion when the thread ends.
struct aes_schedule_release {
  ~aes_schedule_release() {
    if (aes_cache.st != nullptr) sodium_free(aes_cache.st);
    aes_cache = {};
  }
};
thread_local aes_schedule_release aes_cache_release;

// The expansion of `key` under `id`, computed unless it is already there; null when guarded
// memory is exhausted (the caller then takes libsodium's one-shot path).
const crypto_aead_aes256gcm_state* expanded(key_id id, const byte* key) noexcept {
  if (aes_cache.st == nullptr) {
    void* p = sodium_malloc(sizeof(crypto_aead_aes256gcm_state));
    if (p == nullptr) return nullptr;
    // sodium_malloc places the block against the guard page after it, so a 512-byte block
    // is 16-byte aligned as the state needs; check rather than trust.
    if (reinterpret_cast<std::uintptr_t>(p) % alignof(crypto_aead_aes256gcm_state) != 0) {
      sodium_free(p);
      return nullptr;
    }
    (void)&aes_cache_release;  // constructs it, so the thread's exit frees the block
    aes_cache.st = static_cast<crypto_aead_aes256gcm_state*>(p);
    aes_cache.id = 0;
  }
  if (aes_cache.id != id) {
    crypto_aead_aes256gcm_beforenm(aes_cache.st, key);
    aes_cache.id = id;
  }
  return aes_cache.st;
}

void aes_encrypt(std::span<const byte, cipher_key_len> key, key_id id, const aead_nonce& nonce,
                 byte_view ad, byte_view plaintext, std::span<byte> out) noexcept {
  // Without AES-NI libsodium's AES-GCM would fault; no caller gets here then (the
  // handshake refuses an AESGCM protocol name), and a bug must not fall back silently.
  if (!aesgcm_available()) std::abort();
  if (id != 0) {
    if (const auto* st = expanded(id, key.data())) {
      crypto_aead_aes256gcm_encrypt_afternm(out.data(), nullptr, plaintext.data(), plaintext.size(),
                                            ad.data(), ad.size(), nullptr, nonce.data(), st);
      return;
    }
  }
  crypto_aead_aes256gcm_encrypt(out.data(), nullptr, plaintext.data(), plaintext.size(), ad.data(),
                                ad.size(), nullptr, nonce.data(), key.data());
}

int aes_decrypt(std::span<const byte, cipher_key_len> key, key_id id, const aead_nonce& nonce,
                byte_view ad, byte_view ciphertext, std::span<byte> out) noexcept {
  if (!aesgcm_available()) std::abort();
  if (id != 0) {
    if (const auto* st = expanded(id, key.data())) {
      return crypto_aead_aes256gcm_decrypt_afternm(out.data(), nullptr, nullptr, ciphertext.data(),
                                                   ciphertext.size(), ad.data(), ad.size(),
                                                   nonce.data(), st);
    }
  }
  return crypto_aead_aes256gcm_decrypt(out.data(), nullptr, nullptr, ciphertext.data(),
                                       ciphertext.size(), ad.data(), ad.size(), nonce.data(),
                                       key.data());
}

}  // namespace

key_id new_key_id() noexcept {
  static std::atomic<key_id> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void forget_key(key_id id) noexcept {
  if (id == 0 || aes_cache.id != id || aes_cache.st == nullptr) return;
  sodium_memzero(aes_cache.st, sizeof *aes_cache.st);
  aes_cache.id = 0;
}

void aead_encrypt(cipher c, std::span<const byte, cipher_key_len> key, const aead_nonce& nonce,
                  byte_view ad, byte_view plaintext, std::span<byte> out, key_id id) noexcept {
  if (c == cipher::aesgcm) {
    aes_encrypt(key, id, nonce, ad, plaintext, out);
    return;
  }
  chachapoly::seal(key, nonce, ad, plaintext, out);
}

bool aead_decrypt(cipher c, std::span<const byte, cipher_key_len> key, const aead_nonce& nonce,
                  byte_view ad, byte_view ciphertext, std::span<byte> out, key_id id) noexcept {
  if (ciphertext.size() < aead_tag_len) return false;
  int rc = 0;
  if (c == cipher::aesgcm) {
    rc = aes_decrypt(key, id, nonce, ad, ciphertext, out);
  } else {
    // Same AEAD as libsodium's, faster on short messages (chachapoly.hpp says why).
    if (!chachapoly::open(key, nonce, ad, ciphertext, out)) rc = -1;
  }
  if (rc != 0) {
    sodium_memzero(out.data(), out.size());
    return false;
  }
  return true;
}

void encrypt(cipher c, std::span<const byte, cipher_key_len> key, std::uint64_t n, byte_view ad,
             byte_view plaintext, std::span<byte> out, key_id id) noexcept {
  aead_encrypt(c, key, make_nonce(c, n), ad, plaintext, out, id);
}

bool decrypt(cipher c, std::span<const byte, cipher_key_len> key, std::uint64_t n, byte_view ad,
             byte_view ciphertext, std::span<byte> out, key_id id) noexcept {
  return aead_decrypt(c, key, make_nonce(c, n), ad, ciphertext, out, id);
}

void rekey(cipher c, std::span<byte, cipher_key_len> key) noexcept {
  std::array<byte, cipher_key_len> zeros{};
  std::array<byte, cipher_key_len + aead_tag_len> out{};
  scoped_wipe w{out.data(), out.size()};
  encrypt(c, key, max_nonce, {}, zeros, out);
  std::copy_n(out.begin(), cipher_key_len, key.begin());
}

}  // namespace relay::crypto::noise
