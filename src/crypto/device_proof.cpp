#include "relay/crypto/device_proof.hpp"

#include <sodium.h>

#include <string_view>

#include "relay/crypto/secret.hpp"

namespace relay::crypto {
namespace {

constexpr std::string_view label = "relaychat device proof v1";

// k from the shared secret, both public keys and the handshake; false for a low-order point.
bool prove(byte_view identity_secret_or_relay_secret, const public_key& other,
           const public_key& identity, const public_key& relay, byte_view handshake_hash,
           device_proof_bytes& out) {
  secret_bytes<32> shared;  // X25519(identity, relay) = X25519(relay, identity)
  if (crypto_scalarmult(shared.data(), identity_secret_or_relay_secret.data(), other.data()) != 0)
    return false;
  secret_bytes<32> k;
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, k.size());
  crypto_generichash_update(&st, shared.data(), shared.size());
  crypto_generichash_update(&st, identity.data(), identity.size());
  crypto_generichash_update(&st, relay.data(), relay.size());
  crypto_generichash_final(&st, k.data(), k.size());
  crypto_generichash_init(&st, k.data(), k.size(), out.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(label.data()),
                            label.size());
  crypto_generichash_update(&st, handshake_hash.data(), handshake_hash.size());
  crypto_generichash_final(&st, out.data(), out.size());
  sodium_memzero(&st, sizeof st);
  return true;
}

}  // namespace

std::optional<device_proof_bytes> device_proof(const key_pair& identity, const public_key& relay,
                                               byte_view handshake_hash) {
  device_proof_bytes out{};
  if (!prove(identity.secret(), relay, identity.pub(), relay, handshake_hash, out))
    return std::nullopt;
  return out;
}

bool check_device_proof(const key_pair& relay, const public_key& identity, byte_view handshake_hash,
                        const device_proof_bytes& proof) {
  device_proof_bytes expected{};
  if (handshake_hash.empty() ||
      !prove(relay.secret(), identity, identity, relay.pub(), handshake_hash, expected))
    return false;
  return sodium_memcmp(expected.data(), proof.data(), proof.size()) == 0;
}

}  // namespace relay::crypto
