// Safety numbers from iterated BLAKE2b-512, after Signal's numeric fingerprints.
#include "relay/crypto/safety_number.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>

namespace relay::crypto {

namespace {

constexpr int iterations = 5200;
constexpr std::array<byte, 2> version = {0, 0};
constexpr std::size_t digest_size = 64;
static_assert(digest_size <= crypto_generichash_BYTES_MAX);

// Thirty digits for one user; the iterations make searching for a colliding key expensive.
std::string side_digits(std::string_view name, const public_key& key) {
  std::array<byte, digest_size> h{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, h.size());
  crypto_generichash_update(&st, version.data(), version.size());
  crypto_generichash_update(&st, key.data(), key.size());
  crypto_generichash_update(&st, reinterpret_cast<const byte*>(name.data()), name.size());
  crypto_generichash_final(&st, h.data(), h.size());
  for (int i = 1; i < iterations; ++i) {
    crypto_generichash_init(&st, nullptr, 0, h.size());
    crypto_generichash_update(&st, h.data(), h.size());
    crypto_generichash_update(&st, key.data(), key.size());
    crypto_generichash_final(&st, h.data(), h.size());
  }
  std::string out;
  for (std::size_t chunk = 0; chunk < 6; ++chunk) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 5; ++i) v = (v << 8) | h[chunk * 5 + i];
    const std::string d = std::to_string(v % 100000);
    out.append(5 - d.size(), '0');
    out += d;
  }
  return out;
}

}  // namespace

std::string safety_number(std::string_view name_a, const public_key& key_a, std::string_view name_b,
                          const public_key& key_b) {
  std::string a = side_digits(name_a, key_a), b = side_digits(name_b, key_b);
  const std::string digits = a <= b ? a + b : b + a;
  std::string out;
  for (std::size_t i = 0; i < digits.size(); i += 5) {
    if (i != 0) out.push_back(' ');
    out.append(digits, i, 5);
  }
  return out;
}

}  // namespace relay::crypto
