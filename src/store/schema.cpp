// Migration steps for the relay's database, oldest first.
#include "relay/store/schema.hpp"

#include <array>

namespace relay::store {

namespace {

constexpr std::array<std::string_view, 1> steps{
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
};

}  // namespace

std::span<const std::string_view> schema() { return steps; }

database open(std::string_view path) {
  auto db = database::open(path);
  db.migrate(schema());
  return db;
}

}  // namespace relay::store
