// X25519 key pairs: the relay's Noise static key and each user's identity key share this type.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "relay/crypto/random.hpp"
#include "relay/crypto/secret.hpp"
#include "relay/util/result.hpp"

namespace relay::crypto {

inline constexpr std::size_t key_size = 32;

/// A public X25519 key: a plain value, safe to copy, log (as fingerprint) and send.
using public_key = std::array<byte, key_size>;

/// A public key plus its secret half in guarded memory. Move-only.
class key_pair {
 public:
  /// A fresh key pair from `rng`.
  static key_pair generate(random_source& rng);
  /// Rebuilds the pair from a 32-byte secret (the public half is derived).
  static key_pair from_secret(byte_view secret);
  /// The same pair in new guarded memory, without deriving the public half again (a base-point
  /// multiplication, which every handshake would otherwise pay for each copy of a key).
  key_pair copy() const;

  const public_key& pub() const noexcept { return pub_; }
  byte_view secret() const noexcept { return sec_.view(); }

 private:
  key_pair() = default;
  public_key pub_{};
  secret_bytes<key_size> sec_;
};

/// BLAKE2b-256 of the public key in lowercase hex (64 characters): what --relay-key takes.
std::string fingerprint(const public_key& k);
/// The fingerprint's first 16 bytes as 8 groups of 4 hex digits, for people to compare.
std::string short_fingerprint(const public_key& k);
/// A fingerprint as a person typed or pasted it, in fingerprint()'s form: spaces and colons
/// dropped, lower case. Whether it is one: is_fingerprint().
std::string typed_fingerprint(std::string_view typed);
/// 64 lowercase hex digits, as fingerprint() gives.
bool is_fingerprint(std::string_view s) noexcept;
/// False for a low-order point (all zeros, for one): X25519 with it gives all zeros, so
/// nothing can be sealed to it or opened from it (protocol.md 8.1).
bool usable_public_key(const public_key& k) noexcept;

}  // namespace relay::crypto
