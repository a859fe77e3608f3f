// Argon2id password hashes through libargon2, plus a strict reader for the PHC strings it writes.
#include "relay/crypto/password.hpp"

#include <argon2.h>

#include <array>
#include <charconv>
#include <map>
#include <mutex>
#include <stdexcept>
#include <tuple>

#include "relay/crypto/secret.hpp"

namespace relay::crypto {

static_assert(password_salt_size >= ARGON2_MIN_SALT_LENGTH);
static_assert(password_tag_size >= ARGON2_MIN_OUTLEN);

namespace {

constexpr std::string_view phc_prefix = "$argon2id$v=19$";

// Reads a decimal u32 with no sign and no leading zeros; advances `s` past it.
std::optional<std::uint32_t> read_u32(std::string_view& s) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end == s.data()) return std::nullopt;
  const auto n = static_cast<std::size_t>(end - s.data());
  if (n > 1 && s[0] == '0') return std::nullopt;
  s.remove_prefix(n);
  return v;
}

bool eat(std::string_view& s, std::string_view lit) {
  if (!s.starts_with(lit)) return false;
  s.remove_prefix(lit.size());
  return true;
}

bool is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Decoded length of unpadded base64 made of valid characters; nullopt if no byte string has it.
std::optional<std::size_t> b64_len(std::string_view s) {
  for (char c : s)
    if (!is_b64(c)) return std::nullopt;
  if (s.size() % 4 == 1) return std::nullopt;
  return s.size() / 4 * 3 + (s.size() % 4 == 0 ? 0 : s.size() % 4 - 1);
}

// Checks the whole string's shape (what libargon2 would accept for argon2id v=19) and
// returns its parameters.
std::optional<argon2_params> parse_phc(std::string_view s) {
  argon2_params p;
  if (!eat(s, phc_prefix) || !eat(s, "m=")) return std::nullopt;
  auto m = read_u32(s);
  if (!m || !eat(s, ",t=")) return std::nullopt;
  auto t = read_u32(s);
  if (!t || !eat(s, ",p=")) return std::nullopt;
  auto par = read_u32(s);
  if (!par || !eat(s, "$")) return std::nullopt;
  p = {*t, *m, *par};
  const auto dollar = s.find('$');
  if (dollar == std::string_view::npos) return std::nullopt;
  const auto salt = b64_len(s.substr(0, dollar));
  const auto tag = b64_len(s.substr(dollar + 1));
  if (!salt || !tag || *salt < ARGON2_MIN_SALT_LENGTH || *tag < ARGON2_MIN_OUTLEN)
    return std::nullopt;
  if (p.t_cost < ARGON2_MIN_TIME || p.parallelism < ARGON2_MIN_LANES ||
      p.parallelism > ARGON2_MAX_LANES || p.m_cost_kib < 8ULL * p.parallelism)
    return std::nullopt;
  return p;
}

}  // namespace

std::string hash_password_with_salt(std::string_view password, const argon2_params& p,
                                    byte_view salt) {
  if (password.size() > max_password) throw std::invalid_argument("password too long");
  const std::size_t len =
      argon2_encodedlen(p.t_cost, p.m_cost_kib, p.parallelism,
                        static_cast<std::uint32_t>(salt.size()), password_tag_size, Argon2_id);
  std::string out(len, '\0');
  const int rc =
      argon2id_hash_encoded(p.t_cost, p.m_cost_kib, p.parallelism, password.data(), password.size(),
                            salt.data(), salt.size(), password_tag_size, out.data(), out.size());
  if (rc != ARGON2_OK)
    throw std::invalid_argument(std::string("argon2id: ") + argon2_error_message(rc));
  if (const auto nul = out.find('\0'); nul != std::string::npos) out.resize(nul);
  return out;
}

std::string hash_password(std::string_view password, const argon2_params& p, random_source& rng) {
  std::array<byte, password_salt_size> salt{};
  rng.fill(salt);
  return hash_password_with_salt(password, p, salt);
}

bool verify_password(std::string_view phc, std::string_view password) noexcept {
  if (password.size() > max_password || !parse_phc(phc)) return false;
  try {
    // libargon2 wants a NUL-terminated string.
    std::string encoded(phc);
    const int rc = argon2id_verify(encoded.c_str(), password.data(), password.size());
    wipe(encoded.data(), encoded.size());
    return rc == ARGON2_OK;
  } catch (...) {
    return false;
  }
}

const std::string& dummy_hash(const argon2_params& p) {
  static std::mutex mu;
  static std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>, std::string> cache;
  const auto key = std::make_tuple(p.t_cost, p.m_cost_kib, p.parallelism);
  // Held while hashing: each distinct params is computed once, and std::map keeps references
  // to existing entries valid while others are added.
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::array<byte, 32> secret{};
  os_random().fill(secret);
  std::string h = hash_password(as_chars(secret), p, os_random());
  wipe(secret.data(), secret.size());
  return cache.emplace(key, std::move(h)).first->second;
}

std::optional<argon2_params> params_of(std::string_view phc) { return parse_phc(phc); }

}  // namespace relay::crypto
