// Device proofs: a client shows the relay that it holds the secret half of the identity key it
// signs in with, bound to one handshake, so that the relay can tell the device an account last
// signed in from apart from a stranger who only has the password (protocol.md 5.2.1).
#pragma once

#include <array>
#include <optional>

#include "relay/crypto/keys.hpp"

namespace relay::crypto {

inline constexpr std::size_t device_proof_size = 32;
using device_proof_bytes = std::array<byte, device_proof_size>;

/// The proof for one connection: k = BLAKE2b-256(X25519(identity, relay) || identity.pub ||
/// relay), then BLAKE2b-256 keyed with k over "relaychat device proof v1" || handshake_hash.
/// Nullopt if `relay` is a low-order point (X25519 gives all zeros).
std::optional<device_proof_bytes> device_proof(const key_pair& identity, const public_key& relay,
                                               byte_view handshake_hash);

/// True if `proof` is device_proof(identity's pair, relay.pub(), handshake_hash): the relay's
/// side, with its own static key. Compared in constant time.
bool check_device_proof(const key_pair& relay, const public_key& identity, byte_view handshake_hash,
                        const device_proof_bytes& proof);

}  // namespace relay::crypto
