// The bans table through prepared statements; each write is one atomic statement.
#include "relay/store/bans.hpp"

#include <string>

namespace relay::store {

namespace {

// Same reason as in users.cpp: no read may stay open between calls.
class run {
 public:
  explicit run(statement& s) : s_(s) {}
  ~run() { s_.reset(); }
  run(const run&) = delete;
  run& operator=(const run&) = delete;
  statement& operator*() { return s_; }
  statement* operator->() { return &s_; }

 private:
  statement& s_;
};

ban_record read_ban(const statement& s) {
  ban_record b;
  b.name = s.column_text(0);
  if (!s.is_null(1)) b.until = s.column_int64(1);
  b.reason = s.column_text(2);
  b.created = s.column_int64(3);
  return b;
}

// A ban is in force while it is permanent or its end lies ahead; `now` names the parameter.
std::string in_force(std::string_view now) {
  return "(until IS NULL OR until > " + std::string(now) + ")";
}

}  // namespace

ban_store::ban_store(database& db)
    // INSERT ... SELECT with a WHERE: an unknown name inserts nothing and returns no row, in
    // the same statement (no check-then-insert race). SQLite needs the WHERE for the upsert.
    : ban_(db,
           "INSERT INTO bans (name, until, reason, created) SELECT ?1, ?3, ?4, ?2 WHERE EXISTS "
           "(SELECT 1 FROM users WHERE name = ?1) ON CONFLICT (name) DO UPDATE SET until = "
           "excluded.until, reason = excluded.reason, created = excluded.created RETURNING 1"),
      unban_(db, "DELETE FROM bans WHERE name = ?1 RETURNING " + in_force("?2")),
      find_(db,
            "SELECT name, until, reason, created FROM bans WHERE name = ?1 AND " + in_force("?2")),
      list_(db, "SELECT name, until, reason, created FROM bans WHERE " + in_force("?1") +
                    " ORDER BY name") {}

result<void> ban_store::ban(std::string_view name, std::optional<std::int64_t> until,
                            std::string_view reason, std::int64_t now) {
  run s{ban_};
  s->bind(1, name).bind(2, now).bind(4, reason);
  if (until) {
    s->bind(3, *until);
  } else {
    s->bind(3, nullptr);
  }
  if (s->step() != statement::step_result::row) return store_errc::not_found;
  s->step();  // to completion, so a failing autocommit is reported (see user_store::create)
  return {};
}

result<void> ban_store::unban(std::string_view name, std::int64_t now) {
  run s{unban_};
  s->bind(1, name).bind(2, now);
  if (s->step() != statement::step_result::row) return store_errc::not_banned;
  const bool was_active = s->column_int64(0) != 0;
  s->step();
  if (!was_active) return store_errc::not_banned;
  return {};
}

std::optional<ban_record> ban_store::find_active(std::string_view name, std::int64_t now) {
  run s{find_};
  s->bind(1, name).bind(2, now);
  if (s->step() != statement::step_result::row) return std::nullopt;
  return read_ban(*s);
}

std::vector<ban_record> ban_store::list_active(std::int64_t now) {
  run s{list_};
  s->bind(1, now);
  std::vector<ban_record> out;
  while (s->step() == statement::step_result::row) out.push_back(read_ban(*s));
  return out;
}

block_store::block_store(database& db)
    : block_(db,
             "INSERT INTO address_blocks (source, until, reason, created) VALUES (?1, ?3, ?4, ?2) "
             "ON CONFLICT (source) DO UPDATE SET until = excluded.until, reason = "
             "excluded.reason, created = excluded.created"),
      unblock_(db, "DELETE FROM address_blocks WHERE source = ?1 RETURNING " + in_force("?2")),
      list_(db, "SELECT source, until, reason, created FROM address_blocks WHERE " +
                    in_force("?1") + " ORDER BY source") {}

void block_store::block(std::string_view source, std::optional<std::int64_t> until,
                        std::string_view reason, std::int64_t now) {
  run s{block_};
  s->bind(1, source).bind(2, now).bind(4, reason);
  if (until) {
    s->bind(3, *until);
  } else {
    s->bind(3, nullptr);
  }
  s->step();
}

result<void> block_store::unblock(std::string_view source, std::int64_t now) {
  run s{unblock_};
  s->bind(1, source).bind(2, now);
  if (s->step() != statement::step_result::row) return store_errc::not_banned;
  const bool was_active = s->column_int64(0) != 0;
  s->step();
  if (!was_active) return store_errc::not_banned;
  return {};
}

std::vector<block_record> block_store::list_active(std::int64_t now) {
  run s{list_};
  s->bind(1, now);
  std::vector<block_record> out;
  while (s->step() == statement::step_result::row) out.push_back(read_ban(*s));
  return out;
}

}  // namespace relay::store
