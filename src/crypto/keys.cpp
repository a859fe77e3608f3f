// X25519 key generation and fingerprints.
#include "relay/crypto/keys.hpp"

#include <sodium.h>

#include <cctype>
#include <stdexcept>

namespace relay::crypto {

static_assert(key_size == crypto_scalarmult_BYTES);
static_assert(key_size == crypto_scalarmult_SCALARBYTES);
static_assert(key_size == crypto_box_PUBLICKEYBYTES);
static_assert(key_size == crypto_box_SECRETKEYBYTES);

key_pair key_pair::generate(random_source& rng) {
  key_pair kp;
  rng.fill(kp.sec_.span());
  crypto_scalarmult_base(kp.pub_.data(), kp.sec_.data());
  return kp;
}

key_pair key_pair::from_secret(byte_view secret) {
  if (secret.size() != key_size) throw std::invalid_argument("key_pair: secret must be 32 bytes");
  key_pair kp;
  std::copy(secret.begin(), secret.end(), kp.sec_.data());
  crypto_scalarmult_base(kp.pub_.data(), kp.sec_.data());
  return kp;
}

key_pair key_pair::copy() const {
  key_pair kp;
  std::copy(sec_.data(), sec_.data() + key_size, kp.sec_.data());
  kp.pub_ = pub_;
  return kp;
}

std::string fingerprint(const public_key& k) {
  std::array<byte, 32> h{};
  crypto_generichash(h.data(), h.size(), k.data(), k.size(), nullptr, 0);
  return to_hex(h);
}

std::string typed_fingerprint(std::string_view typed) {
  std::string out;
  for (const char c : typed) {
    if (c == ' ' || c == ':') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool is_fingerprint(std::string_view s) noexcept {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string short_fingerprint(const public_key& k) {
  std::string full = fingerprint(k), out;
  for (std::size_t i = 0; i < 32; i += 4) {
    if (i) out.push_back(' ');
    out.append(full, i, 4);
  }
  return out;
}

bool usable_public_key(const public_key& k) noexcept {
  // Clamping makes any scalar a multiple of 8, which sends every low-order point to zero:
  // libsodium then refuses, whatever the scalar.
  const std::array<byte, crypto_scalarmult_SCALARBYTES> scalar{1};
  std::array<byte, crypto_scalarmult_BYTES> out{};
  const bool usable = crypto_scalarmult(out.data(), scalar.data(), k.data()) == 0;
  sodium_memzero(out.data(), out.size());
  return usable;
}

}  // namespace relay::crypto
