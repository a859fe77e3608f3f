// ChaCha20-Poly1305 (IETF, RFC 8439 section 2.8) built from libsodium's ChaCha20 and
// Poly1305, byte for byte the same AEAD as crypto_aead_chacha20poly1305_ietf_*.
//
// Why not call libsodium's AEAD: libsodium 1.0.18 runs ChaCha20 four or eight blocks at a
// time only on whole 256-byte runs, and one block at a time (about 190 ns per 64-byte block
// on the benchmark machine, against 40-70 ns in a run) for the rest. Its AEAD makes one call
// for the Poly1305 key (block 0) and a second from block 1 for the data, so a 100-byte
// transport message pays three slow blocks. Here the keystream is made in runs of whole
// 256-byte multiples from block 0 (the Poly1305 key and the data's keystream in one call)
// and XORed in; the unused tail is wiped. Measured in docs/benchmarks.md.
#pragma once

#include <cstddef>
#include <span>

#include "relay/util/bytes.hpp"

namespace relay::crypto::chachapoly {

inline constexpr std::size_t key_len = 32;
inline constexpr std::size_t nonce_len = 12;
inline constexpr std::size_t tag_len = 16;

/// Seals `plaintext` with associated data `ad`: `out` must hold exactly plaintext.size() +
/// tag_len bytes (ciphertext, then tag) and must not overlap `plaintext`.
void seal(std::span<const byte, key_len> key, std::span<const byte, nonce_len> nonce, byte_view ad,
          byte_view plaintext, std::span<byte> out) noexcept;

/// Opens `ciphertext` (ciphertext then tag) into `out`, which must hold exactly
/// ciphertext.size() - tag_len bytes and must not overlap it. The tag is checked (in
/// constant time) before anything is decrypted. On a bad tag, or a ciphertext shorter than a
/// tag, returns false and `out` is zeroed.
[[nodiscard]] bool open(std::span<const byte, key_len> key, std::span<const byte, nonce_len> nonce,
                        byte_view ad, byte_view ciphertext, std::span<byte> out) noexcept;

}  // namespace relay::crypto::chachapoly
