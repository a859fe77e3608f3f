// Password-encrypted identity key files: crypto_pwhash (Argon2id13) then crypto_secretbox.
#include "relay/crypto/key_file.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "relay/crypto/secret.hpp"

namespace relay::crypto {

static_assert(key_file_params{}.opslimit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(key_file_params{}.memlimit == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
static_assert(key_file_opslimit_min == crypto_pwhash_argon2id_OPSLIMIT_MIN);
static_assert(key_file_memlimit_min == crypto_pwhash_argon2id_MEMLIMIT_MIN);
static_assert(key_file_opslimit_max <= crypto_pwhash_argon2id_OPSLIMIT_MAX);
static_assert(key_file_memlimit_max <= crypto_pwhash_argon2id_MEMLIMIT_MAX);
static_assert(key_file_size == 5 + 1 + 8 + 8 + crypto_pwhash_argon2id_SALTBYTES +
                                   crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                   key_size);

namespace {

constexpr std::string_view magic = "RCKEY";
constexpr byte version = 1;
constexpr std::size_t ops_at = 6, mem_at = 14, salt_at = 22;
constexpr std::size_t nonce_at = salt_at + crypto_pwhash_argon2id_SALTBYTES;
constexpr std::size_t box_at = nonce_at + crypto_secretbox_NONCEBYTES;
static_assert(box_at + crypto_secretbox_MACBYTES + key_size == key_file_size);

class key_file_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "key_file"; }
  std::string message(int c) const override {
    switch (static_cast<key_file_errc>(c)) {
      case key_file_errc::bad_format:
        return "key file malformed";
      case key_file_errc::wrong_password:
        return "wrong password or damaged key file";
      case key_file_errc::unsupported_version:
        return "key file version not supported";
    }
    return "unknown key file error";
  }
};

// libsodium uses whole KiB of memlimit; requiring them keeps one file per key, password and
// costs, so no header bit can change without the file failing to open.
bool params_ok(std::uint64_t ops, std::uint64_t mem) {
  return ops >= key_file_opslimit_min && ops <= key_file_opslimit_max &&
         mem >= key_file_memlimit_min && mem <= key_file_memlimit_max && mem % 1024 == 0;
}

void put_u64(byte* at, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) *at++ = static_cast<byte>(v >> (8 * i));
}

std::uint64_t get_u64(const byte* at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | at[i];
  return v;
}

// Argon2id13 from the password; false only if libsodium cannot (e.g. out of memory).
bool derive(secret_bytes<crypto_secretbox_KEYBYTES>& key, std::string_view password,
            const byte* salt, std::uint64_t ops, std::size_t mem) {
  return crypto_pwhash(key.data(), key.size(), password.data(), password.size(), salt, ops, mem,
                       crypto_pwhash_ALG_ARGON2ID13) == 0;
}

}  // namespace

const std::error_category& key_file_category() noexcept {
  static const key_file_category_impl c;
  return c;
}

std::error_code make_error_code(key_file_errc e) noexcept {
  return {static_cast<int>(e), key_file_category()};
}

bytes seal_key_file(const key_pair& identity, std::string_view password, random_source& rng,
                    const key_file_params& p) {
  if (!params_ok(p.opslimit, p.memlimit))
    throw std::invalid_argument("key file: opslimit/memlimit out of range");
  bytes out(key_file_size);
  std::copy(magic.begin(), magic.end(), out.begin());
  out[magic.size()] = version;
  put_u64(&out[ops_at], p.opslimit);
  put_u64(&out[mem_at], p.memlimit);
  rng.fill(std::span<byte>(out).subspan(salt_at, crypto_pwhash_argon2id_SALTBYTES));
  rng.fill(std::span<byte>(out).subspan(nonce_at, crypto_secretbox_NONCEBYTES));

  secret_bytes<crypto_secretbox_KEYBYTES> key;
  if (!derive(key, password, &out[salt_at], p.opslimit, p.memlimit))
    throw std::runtime_error("key file: key derivation failed (out of memory?)");
  crypto_secretbox_easy(&out[box_at], identity.secret().data(), key_size, &out[nonce_at],
                        key.data());
  return out;
}

std::string key_file_problem(byte_view file) {
  if (file.empty()) return "it is empty";
  if (file.size() <= magic.size() || !std::equal(magic.begin(), magic.end(), file.begin()))
    return "it is not a relaychat key file (it does not start with \"RCKEY\")";
  if (file[magic.size()] != version)
    return "it is a key file of version " + std::to_string(file[magic.size()]) +
           ", which this client does not read (written by a newer relaychat?)";
  if (file.size() != key_file_size)
    return "it has " + std::to_string(file.size()) + " bytes where a key file has " +
           std::to_string(key_file_size) + " (cut short or damaged)";
  if (!params_ok(get_u64(&file[ops_at]), get_u64(&file[mem_at])))
    return "the password-hashing costs it names are out of range (damaged or tampered with)";
  return {};
}

result<key_pair> open_key_file(byte_view file, std::string_view password) {
  if (file.size() <= magic.size() || !std::equal(magic.begin(), magic.end(), file.begin()))
    return key_file_errc::bad_format;
  if (file[magic.size()] != version) return key_file_errc::unsupported_version;
  if (file.size() != key_file_size) return key_file_errc::bad_format;
  const std::uint64_t ops = get_u64(&file[ops_at]);
  const std::uint64_t mem = get_u64(&file[mem_at]);
  // Before deriving anything: the costs come from the file and may be hostile.
  if (!params_ok(ops, mem)) return key_file_errc::bad_format;

  secret_bytes<crypto_secretbox_KEYBYTES> key;
  if (!derive(key, password, &file[salt_at], ops, static_cast<std::size_t>(mem)))
    return key_file_errc::bad_format;
  secret_bytes<key_size> sec;
  if (crypto_secretbox_open_easy(sec.data(), &file[box_at], file.size() - box_at, &file[nonce_at],
                                 key.data()) != 0)
    return key_file_errc::wrong_password;
  return key_pair::from_secret(sec.view());
}

}  // namespace relay::crypto
