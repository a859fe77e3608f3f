// Password hashing for relay accounts: Argon2id (reference libargon2) in PHC string form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "relay/crypto/random.hpp"
#include "relay/util/bytes.hpp"

namespace relay::crypto {

/// Argon2id cost parameters (defaults: OWASP's 19 MiB, 2 passes, 1 lane).
struct argon2_params {
  std::uint32_t t_cost = 2;
  std::uint32_t m_cost_kib = 19456;
  std::uint32_t parallelism = 1;
  bool operator==(const argon2_params&) const = default;
};

/// Longest password accepted, in bytes.
inline constexpr std::size_t max_password = 1024;
/// Salt length hash_password() draws from its random source.
inline constexpr std::size_t password_salt_size = 16;
/// Length of the Argon2id tag in every hash we make.
inline constexpr std::size_t password_tag_size = 32;

/// PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash) with a fresh 16-byte salt from rng;
/// 32-byte tag. Throws std::invalid_argument on invalid params or a password > max_password.
std::string hash_password(std::string_view password, const argon2_params& p, random_source& rng);
/// hash_password() with a caller-chosen salt (at least 8 bytes), for known-answer tests.
std::string hash_password_with_salt(std::string_view password, const argon2_params& p,
                                    byte_view salt);
/// True only if `phc` is a well-formed argon2id (v=19) string and matches. Never throws;
/// malformed strings and passwords > max_password give false.
bool verify_password(std::string_view phc, std::string_view password) noexcept;
/// A valid hash of a random password with params p (computed once per distinct params, cached,
/// thread-safe), used to spend the same time on unknown users. The reference stays valid.
const std::string& dummy_hash(const argon2_params& p);
/// Frees the Argon2 working memory the calling thread keeps between hashes (each thread
/// keeps one block of the last m_cost, so a burst of sign-ins costs no page faults).
void release_password_memory() noexcept;
/// Params read back from a PHC string (nullopt if malformed) so the relay can tell an
/// outdated hash.
std::optional<argon2_params> params_of(std::string_view phc);

}  // namespace relay::crypto
