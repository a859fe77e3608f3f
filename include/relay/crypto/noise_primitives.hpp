// The cryptographic functions of Noise_*_25519_{ChaChaPoly,AESGCM}_BLAKE2b (Noise rev. 34,
// sections 4 and 12): HASH, HMAC, HKDF, DH, ENCRYPT/DECRYPT and REKEY, each a thin call into
// libsodium (ChaChaPoly through crypto/chachapoly.hpp, libsodium's ChaCha20 and Poly1305).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "relay/util/bytes.hpp"

namespace relay::crypto::noise {

inline constexpr std::size_t dh_len = 32;          ///< DHLEN: X25519 keys and shared secrets.
inline constexpr std::size_t hash_len = 64;        ///< HASHLEN: BLAKE2b-512.
inline constexpr std::size_t block_len = 128;      ///< BLOCKLEN: BLAKE2b's block, used by HMAC.
inline constexpr std::size_t cipher_key_len = 32;  ///< ChaCha20-Poly1305 and AES-256-GCM key.
inline constexpr std::size_t aead_nonce_len = 12;  ///< 96-bit nonce, both ciphers.
inline constexpr std::size_t aead_tag_len = 16;    ///< Tag appended to every ciphertext.
/// The nonce REKEY uses; reserved, so a cipher state never encrypts with it (section 5.1).
inline constexpr std::uint64_t max_nonce = UINT64_MAX;

using hash_out = std::span<byte, hash_len>;
using aead_nonce = std::array<byte, aead_nonce_len>;

/// Noise's cipher functions (section 12.3 and 12.4). The cipher is a property of the protocol
/// name, not of a key, so it is passed to each call rather than stored beside every key.
enum class cipher : std::uint8_t {
  chachapoly,  ///< ChaCha20-Poly1305 (IETF); nonce 4 zero bytes + 64-bit little-endian n
  aesgcm,      ///< AES-256-GCM; nonce 4 zero bytes + 64-bit big-endian n
};

/// The name a Noise protocol name uses for `c`: "ChaChaPoly" or "AESGCM".
std::string_view cipher_name(cipher c) noexcept;

/// True when this CPU runs libsodium's AES-256-GCM (AES-NI and PCLMUL). libsodium has no
/// portable AES-GCM, so cipher::aesgcm must never be used when this is false. Needs
/// crypto::init() first.
bool aesgcm_available() noexcept;

/// HASH: BLAKE2b-512 of the concatenation of `parts` (so HASH(h || data) needs no copy).
/// `out` may alias any part: all input is absorbed before the digest is written.
void hash(std::initializer_list<byte_view> parts, hash_out out) noexcept;

/// HMAC-HASH (RFC 2104 over BLAKE2b-512, block 128): HMAC(key, concatenation of `parts`).
/// Keys longer than 128 bytes are hashed first, as RFC 2104 says; Noise never needs that.
void hmac(byte_view key, std::initializer_list<byte_view> parts, hash_out out) noexcept;

/// HKDF(chaining_key, ikm, 2) of section 4.3. `out1` may alias `chaining_key`.
void hkdf(byte_view chaining_key, byte_view ikm, hash_out out1, hash_out out2) noexcept;
/// HKDF(chaining_key, ikm, 3) of section 4.3. `out1` may alias `chaining_key`.
void hkdf(byte_view chaining_key, byte_view ikm, hash_out out1, hash_out out2,
          hash_out out3) noexcept;

/// DH: X25519(secret, pub) into `out`. Returns false (and zeroes `out`) when `pub` is a
/// low-order point, i.e. the shared secret would be all zeros; Noise must then abort.
[[nodiscard]] bool dh(std::span<const byte, dh_len> secret, std::span<const byte, dh_len> pub,
                      std::span<byte, dh_len> out) noexcept;

/// The Noise nonce for counter n: four zero bytes, then n as 64 bits, little-endian for
/// ChaChaPoly (section 12.3) and big-endian for AESGCM (section 12.4).
aead_nonce make_nonce(cipher c, std::uint64_t n) noexcept;

/// Names one key for AESGCM's expanded-key cache; 0 names none (nothing is cached).
/// libsodium's one-shot AES-256-GCM expands the key (round keys, GHASH powers: 512 bytes) on
/// every call and wipes it after. Given an id, the expansion of the key used last on this
/// thread is kept, in guarded memory, for the next call with the same id; an id must then
/// always come with the same key. ChaChaPoly has nothing to expand and ignores the id.
using key_id = std::uint64_t;
/// A key id never handed out before in this process (never 0).
key_id new_key_id() noexcept;
/// Wipes this thread's expansion of key `id`, if it holds one. A key's owner calls it when
/// the key changes or goes, so the expansion lives no longer than the key. (A key used on
/// one thread and dropped on another leaves its expansion on the first until that thread
/// expands another key or ends; the relay and the client use each key on one thread.)
void forget_key(key_id id) noexcept;

/// The AEAD of `c` with an explicit 96-bit nonce. `out` must hold exactly
/// plaintext.size() + aead_tag_len bytes and must not overlap `plaintext`.
void aead_encrypt(cipher c, std::span<const byte, cipher_key_len> key, const aead_nonce& nonce,
                  byte_view ad, byte_view plaintext, std::span<byte> out, key_id id = 0) noexcept;
/// Inverse of aead_encrypt. `ciphertext` holds at least aead_tag_len bytes and `out` exactly
/// ciphertext.size() - aead_tag_len. Returns false on a bad tag (then `out` is zeroed).
[[nodiscard]] bool aead_decrypt(cipher c, std::span<const byte, cipher_key_len> key,
                                const aead_nonce& nonce, byte_view ad, byte_view ciphertext,
                                std::span<byte> out, key_id id = 0) noexcept;

/// ENCRYPT(k, n, ad, plaintext): aead_encrypt with make_nonce(c, n).
void encrypt(cipher c, std::span<const byte, cipher_key_len> key, std::uint64_t n, byte_view ad,
             byte_view plaintext, std::span<byte> out, key_id id = 0) noexcept;
/// DECRYPT(k, n, ad, ciphertext): aead_decrypt with make_nonce(c, n).
[[nodiscard]] bool decrypt(cipher c, std::span<const byte, cipher_key_len> key, std::uint64_t n,
                           byte_view ad, byte_view ciphertext, std::span<byte> out,
                           key_id id = 0) noexcept;

/// REKEY(k): k = ENCRYPT(k, 2^64-1, "", 32 zero bytes)[0..32], in place (section 4.2).
void rekey(cipher c, std::span<byte, cipher_key_len> key) noexcept;

}  // namespace relay::crypto::noise
