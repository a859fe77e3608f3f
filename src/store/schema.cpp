// Migration steps for the relay's database, oldest first.
#include "relay/store/schema.hpp"

#include <array>

namespace relay::store {

namespace {

constexpr std::array<std::string_view, 2> steps{
    // 1: accounts. Names compare exactly (BINARY); the relay only accepts lowercase names.
    R"sql(
CREATE TABLE users (
  name          TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  identity_key  BLOB CHECK (identity_key IS NULL OR length(identity_key) = 32),
  created       INTEGER NOT NULL,
  last_sign_in  INTEGER
);
)sql",
    // 2: operator bans, one per account (a new ban replaces the old). `until` is unix seconds,
    // NULL for a permanent ban; expired rows are simply ignored by every reader.
    R"sql(
CREATE TABLE bans (
  name    TEXT PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
  until   INTEGER,
  reason  TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL
);
)sql",
};

}  // namespace

std::span<const std::string_view> schema() { return steps; }

database open(std::string_view path) {
  auto db = database::open(path);
  db.migrate(schema());
  return db;
}

}  // namespace relay::store
