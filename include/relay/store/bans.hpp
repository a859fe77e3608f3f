// Operator bans: at most one per account, permanent or until a time; expired bans are inert.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/store/database.hpp"
#include "relay/store/users.hpp"
#include "relay/util/result.hpp"

namespace relay::store {

/// One ban as stored. Times are unix seconds.
struct ban_record {
  std::string name;
  std::optional<std::int64_t> until;  ///< nullopt: permanent
  std::string reason;                 ///< may be empty
  std::int64_t created = 0;

  /// In force at `now`: permanent, or `now` is before `until`.
  bool active_at(std::int64_t now) const noexcept { return !until || now < *until; }

  friend bool operator==(const ban_record&, const ban_record&) = default;
};

/// The bans table. Like user_store: holds prepared statements, must not outlive `db`, one
/// thread at a time, throws sqlite_error on a storage failure. Every reader takes `now` and
/// ignores bans that have expired by then, so expiry needs no background job.
class ban_store {
 public:
  /// Prepares its statements once; `db` must already be migrated to schema().
  explicit ban_store(database& db);

  /// Bans the account `name` until `until` (nullopt: permanently), replacing any earlier ban.
  /// not_found if there is no such account (a ban never names a stranger).
  result<void> ban(std::string_view name, std::optional<std::int64_t> until,
                   std::string_view reason, std::int64_t now);
  /// Lifts the ban on `name`. not_banned if no ban was in force at `now` (an expired one is
  /// removed all the same).
  result<void> unban(std::string_view name, std::int64_t now);
  /// The ban on `name` in force at `now`, if any.
  std::optional<ban_record> find_active(std::string_view name, std::int64_t now);
  /// Every ban in force at `now`, ordered by name.
  std::vector<ban_record> list_active(std::int64_t now);

 private:
  statement ban_;
  statement unban_;
  statement find_;
  statement list_;
};

/// One address block as stored (the `source` in the place of a name). Times are unix seconds.
using block_record = ban_record;

/// The address_blocks table: as ban_store, for source addresses, which need no account.
class block_store {
 public:
  explicit block_store(database& db);

  /// Blocks `source` until `until` (nullopt: permanently), replacing any earlier block.
  void block(std::string_view source, std::optional<std::int64_t> until, std::string_view reason,
             std::int64_t now);
  /// Lifts the block on `source`; not_banned if none was in force at `now`.
  result<void> unblock(std::string_view source, std::int64_t now);
  /// Every block in force at `now`, ordered by source.
  std::vector<block_record> list_active(std::int64_t now);

 private:
  statement block_;
  statement unblock_;
  statement list_;
};

}  // namespace relay::store
