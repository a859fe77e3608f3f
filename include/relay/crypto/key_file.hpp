// A user's identity key at rest: the secret key under crypto_secretbox, keyed by Argon2id13
// (crypto_pwhash) from the user's password.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "relay/crypto/keys.hpp"
#include "relay/crypto/random.hpp"
#include "relay/util/bytes.hpp"
#include "relay/util/result.hpp"

namespace relay::crypto {

/// Argon2id13 costs for deriving the file key (defaults: libsodium's INTERACTIVE level).
struct key_file_params {
  std::uint64_t opslimit = 2;
  std::size_t memlimit = std::size_t{64} << 20;
};

/// Bounds on the costs a key file may name: libsodium's minimums, and caps so a tampered
/// file cannot make us spend gigabytes or minutes. memlimit must also be whole KiB.
inline constexpr std::uint64_t key_file_opslimit_min = 1;
inline constexpr std::uint64_t key_file_opslimit_max = 16;
inline constexpr std::size_t key_file_memlimit_min = 8192;
inline constexpr std::size_t key_file_memlimit_max = std::size_t{1} << 30;

/// Size of every version-1 key file.
inline constexpr std::size_t key_file_size = 5 + 1 + 8 + 8 + 16 + 24 + 32 + 16;

/// Why open_key_file() refused a file.
enum class key_file_errc {
  bad_format = 1,       ///< wrong magic or length, or costs outside the bounds above
  wrong_password,       ///< the password is wrong, or the salt, nonce or ciphertext is damaged
  unsupported_version,  ///< a key file version we do not read
};
/// The "key_file" error category.
const std::error_category& key_file_category() noexcept;
std::error_code make_error_code(key_file_errc e) noexcept;

/// Serialised, encrypted key file contents (big-endian integers):
///   "RCKEY" | u8 version=1 | u64 opslimit | u64 memlimit | salt(16) | nonce(24)
///   | secretbox(secret key(32)) (48)
/// Throws std::invalid_argument if `p` is outside the bounds open_key_file() accepts.
bytes seal_key_file(const key_pair& identity, std::string_view password, random_source& rng,
                    const key_file_params& p = {});
/// What makes `file` no key file open_key_file() can try a password on, in words for the
/// person ("it is empty", "it has 50 bytes where a key file has 110 ..."); empty if nothing
/// does. A wrong password and a damaged salt, nonce or box cannot be told apart.
std::string key_file_problem(byte_view file);
/// Decrypts and rebuilds the key pair (the public half is derived); a key_file_errc if the
/// password is wrong or the file is damaged. Costs are checked before anything is derived.
result<key_pair> open_key_file(byte_view file, std::string_view password);

}  // namespace relay::crypto

template <>
struct std::is_error_code_enum<relay::crypto::key_file_errc> : std::true_type {};
