// Argon2id password hashes through libargon2, plus a strict reader for the PHC strings it writes.
#include "relay/crypto/password.hpp"

#include <argon2.h>
#include <sodium.h>

#include <array>
#include <charconv>
#include <cstdlib>
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

// Argon2's working memory (19 MiB at the relay's defaults), kept by each thread for its next
// hash: a fresh block is an mmap whose page faults and kernel zeroing cost about a fifth of a
// hash's CPU time. libargon2 wipes the block before it hands it back (free_memory calls
// clear_internal_memory first), so nothing of a password outlives its hash in it.
struct hash_memory {
  std::uint8_t* block = nullptr;
  std::size_t size = 0;
  bool lent = false;
  ~hash_memory() { std::free(block); }
};
thread_local hash_memory t_memory;

int lend_memory(std::uint8_t** memory, std::size_t bytes) {
  if (!t_memory.lent) {
    if (t_memory.size < bytes) {
      std::free(t_memory.block);
      t_memory.block = static_cast<std::uint8_t*>(std::malloc(bytes));
      t_memory.size = t_memory.block ? bytes : 0;
    }
    if (t_memory.block) {
      t_memory.lent = true;
      *memory = t_memory.block;
      return ARGON2_OK;
    }
  }
  *memory = static_cast<std::uint8_t*>(std::malloc(bytes));
  return *memory ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

void take_back_memory(std::uint8_t* memory, std::size_t) {
  if (memory == t_memory.block && t_memory.lent) {
    t_memory.lent = false;
    return;
  }
  std::free(memory);
}

/// An Argon2id context over caller buffers, with the thread's kept working memory.
argon2_context make_context(std::string_view password, byte_view salt, const argon2_params& p,
                            std::uint8_t* out, std::size_t outlen) {
  argon2_context ctx{};
  ctx.out = out;
  ctx.outlen = static_cast<std::uint32_t>(outlen);
  // libargon2 takes a non-const pointer but only reads the password without CLEAR flags.
  ctx.pwd = reinterpret_cast<std::uint8_t*>(const_cast<char*>(password.data()));
  ctx.pwdlen = static_cast<std::uint32_t>(password.size());
  ctx.salt = const_cast<std::uint8_t*>(salt.data());
  ctx.saltlen = static_cast<std::uint32_t>(salt.size());
  ctx.t_cost = p.t_cost;
  ctx.m_cost = p.m_cost_kib;
  ctx.lanes = p.parallelism;
  ctx.threads = p.parallelism;
  ctx.version = ARGON2_VERSION_13;
  ctx.allocate_cbk = lend_memory;
  ctx.free_cbk = take_back_memory;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  return ctx;
}

std::string b64(byte_view b) {
  std::string out(sodium_base64_encoded_len(b.size(), sodium_base64_VARIANT_ORIGINAL_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), b.data(), b.size(),
                    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

std::optional<bytes> unb64(std::string_view s) {
  bytes out(s.size());
  std::size_t n = 0;
  if (sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &n, nullptr,
                        sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
    return std::nullopt;
  out.resize(n);
  return out;
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
  std::array<std::uint8_t, password_tag_size> tag{};
  argon2_context ctx = make_context(password, salt, p, tag.data(), tag.size());
  const int rc = argon2_ctx(&ctx, Argon2_id);
  if (rc != ARGON2_OK)
    throw std::invalid_argument(std::string("argon2id: ") + argon2_error_message(rc));
  // The PHC string libargon2's argon2id_hash_encoded writes (unpadded standard base64).
  std::string out = std::string(phc_prefix) + "m=" + std::to_string(p.m_cost_kib) +
                    ",t=" + std::to_string(p.t_cost) + ",p=" + std::to_string(p.parallelism) + "$" +
                    b64(salt) + "$" + b64(tag);
  wipe(tag.data(), tag.size());
  return out;
}

std::string hash_password(std::string_view password, const argon2_params& p, random_source& rng) {
  std::array<byte, password_salt_size> salt{};
  rng.fill(salt);
  return hash_password_with_salt(password, p, salt);
}

bool verify_password(std::string_view phc, std::string_view password) noexcept {
  if (password.size() > max_password) return false;
  const auto p = parse_phc(phc);
  if (!p) return false;
  try {
    // parse_phc checked the shape: ...$salt$tag after the parameters.
    const auto tag_at = phc.rfind('$');
    const auto salt_at = phc.rfind('$', tag_at - 1);
    const auto salt = unb64(phc.substr(salt_at + 1, tag_at - salt_at - 1));
    const auto expected = unb64(phc.substr(tag_at + 1));
    if (!salt || !expected) return false;
    bytes computed(expected->size());
    argon2_context ctx = make_context(password, *salt, *p, computed.data(), computed.size());
    // Computes the tag into `computed` and compares it with `expected` in constant time.
    const int rc =
        argon2_verify_ctx(&ctx, reinterpret_cast<const char*>(expected->data()), Argon2_id);
    wipe(computed.data(), computed.size());
    return rc == ARGON2_OK;
  } catch (...) {
    return false;
  }
}

void release_password_memory() noexcept {
  if (t_memory.lent) return;
  std::free(t_memory.block);
  t_memory.block = nullptr;
  t_memory.size = 0;
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
  release_password_memory();  // a one-off on this thread: keep no block for it
  return cache.emplace(key, std::move(h)).first->second;
}

std::optional<argon2_params> params_of(std::string_view phc) { return parse_phc(phc); }

}  // namespace relay::crypto
