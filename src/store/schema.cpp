// Migration steps for the relay's database, oldest first.
#include "relay/store/schema.hpp"

#include <array>

namespace relay::store {

namespace {

constexpr std::array<std::string_view, 6> steps{
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
    // 3: what each name looks like (proto::lookalike_key, filled in by the relay), so that a
    // new name mistakable for a taken one ("b0b" for "bob") is found by index. Not unique:
    // accounts made before may already look alike.
    R"sql(
ALTER TABLE users ADD COLUMN lookalike TEXT;
CREATE INDEX users_lookalike ON users (lookalike);
)sql",
    // 4: the lookalike rule grew (a run of separators reads as one, a separator at the end
    // as none): every key is made again by the relay at its next start.
    R"sql(
UPDATE users SET lookalike = NULL;
)sql",
    // 5: "cl" reads as "d" too: made again the same way.
    R"sql(
UPDATE users SET lookalike = NULL;
)sql",
    // 6: operator blocks of a source address (server::source_of: an IPv4 address, or an IPv6
    // /64 as "2001:db8:1:2::/64"), as bans are of accounts.
    R"sql(
CREATE TABLE address_blocks (
  source  TEXT PRIMARY KEY,
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
