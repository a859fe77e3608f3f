// Registered accounts: name, Argon2 password hash, current identity key and sign-in times.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "relay/store/database.hpp"
#include "relay/util/result.hpp"

namespace relay::store {

/// One account as stored. Times are unix seconds.
struct user_record {
  std::string name;
  std::string password_hash;
  std::optional<std::array<std::uint8_t, 32>> identity_key;
  std::int64_t created = 0;
  std::optional<std::int64_t> last_sign_in;

  friend bool operator==(const user_record&, const user_record&) = default;
};

/// Expected outcomes of store operations (category "store"). Storage failures throw instead.
enum class store_errc {
  name_taken = 1,  ///< create: an account with that exact name already exists
  not_found,       ///< an update named an account that does not exist
  not_banned,      ///< unban: the account has no ban in force
  hash_changed,    ///< an update for a password hash that was replaced meanwhile
};
const std::error_category& store_category() noexcept;
std::error_code make_error_code(store_errc e) noexcept;

/// The users table. Holds prepared statements, so it must not outlive `db`; like database, use
/// it from one thread at a time. Every method throws sqlite_error on a storage failure.
class user_store {
 public:
  /// Prepares its statements once; `db` must already be migrated to schema().
  explicit user_store(database& db);

  /// Creates the account atomically (fails with name_taken if it exists), with `lookalike`
  /// as the key of what its name looks like (proto::lookalike_key), if given.
  result<void> create(std::string_view name, std::string_view password_hash,
                      const std::array<std::uint8_t, 32>& identity_key, std::int64_t now,
                      std::optional<std::string_view> lookalike = std::nullopt);
  /// Another account (not `name` itself) whose name has the lookalike key `lookalike`: the
  /// first by name, if any.
  std::optional<std::string> lookalike_of(std::string_view lookalike, std::string_view name);
  /// Gives each account without a lookalike key (made before there were any) `key_of(name)`;
  /// how many it gave one.
  std::size_t fill_lookalikes(const std::function<std::string(std::string_view)>& key_of);
  /// The account named exactly `name`, if any.
  std::optional<user_record> find(std::string_view name);
  /// Records a successful sign-in: last_sign_in = now and identity_key = key (the user's
  /// current key). not_found if there is no such account. Given `if_hash`, only while the
  /// stored hash is still that one (the one the password was checked against), else
  /// hash_changed: a password changed while the old one was being checked no longer signs in.
  result<void> record_sign_in(std::string_view name, const std::array<std::uint8_t, 32>& key,
                              std::int64_t now, std::optional<std::string_view> if_hash = {});
  /// Replaces the stored hash (a password change, or a rehash on parameter change). not_found
  /// if there is no such account; given `if_hash`, hash_changed if the stored hash is no longer
  /// that one, so that two changes racing cannot undo each other.
  result<void> set_password_hash(std::string_view name, std::string_view hash,
                                 std::optional<std::string_view> if_hash = {});
  /// Deletes the account and, through the schema's cascade, its ban. not_found if there is no
  /// such account; given `if_hash`, hash_changed if its password hash is no longer that one.
  /// The name is free to be taken again.
  result<void> remove(std::string_view name, std::optional<std::string_view> if_hash = {});
  /// Every account, ordered by name (bytewise).
  std::vector<user_record> list();
  /// How many accounts there are.
  std::int64_t count();

 private:
  /// After an update matched no row: not_found, or hash_changed if the account is there.
  result<void> updated_or_why(std::string_view name);

  statement insert_;
  statement lookalike_of_;
  statement without_lookalike_;
  statement set_lookalike_;
  statement find_;
  statement sign_in_;
  statement set_hash_;
  statement remove_;
  statement list_;
  statement count_;
};

}  // namespace relay::store

template <>
struct std::is_error_code_enum<relay::store::store_errc> : std::true_type {};
