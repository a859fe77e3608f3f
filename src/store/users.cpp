// The users table through prepared statements; single-statement writes are atomic by themselves.
#include "relay/store/users.hpp"

#include <algorithm>
#include <stdexcept>

namespace relay::store {

namespace {

class store_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "store"; }
  std::string message(int ev) const override {
    switch (static_cast<store_errc>(ev)) {
      case store_errc::name_taken:
        return "that name is already registered";
      case store_errc::not_found:
        return "no such user";
      case store_errc::not_banned:
        return "not banned";
      case store_errc::hash_changed:
        return "the password was changed meanwhile";
    }
    return "unknown store error";
  }
};

// Resets a shared statement however the method leaves, so no read stays open between calls
// (an unfinished SELECT would pin the WAL and keep checkpoints from completing).
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

constexpr std::string_view columns = "name, password_hash, identity_key, created, last_sign_in";

user_record read_record(const statement& s) {
  user_record r;
  r.name = s.column_text(0);
  r.password_hash = s.column_text(1);
  if (!s.is_null(2)) {
    const bytes key = s.column_blob(2);
    // The schema's CHECK makes this impossible unless the file was edited behind our back.
    if (key.size() != 32) throw std::runtime_error("users: corrupt identity key for " + r.name);
    r.identity_key.emplace();
    std::copy(key.begin(), key.end(), r.identity_key->begin());
  }
  r.created = s.column_int64(3);
  if (!s.is_null(4)) r.last_sign_in = s.column_int64(4);
  return r;
}

}  // namespace

const std::error_category& store_category() noexcept {
  static const store_category_impl category;
  return category;
}

std::error_code make_error_code(store_errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

user_store::user_store(database& db)
    : insert_(db,
              "INSERT INTO users (name, password_hash, identity_key, created, lookalike) VALUES "
              "(?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING RETURNING 1"),
      lookalike_of_(db,
                    "SELECT name FROM users WHERE lookalike = ?1 AND name <> ?2 ORDER BY name "
                    "LIMIT 1"),
      without_lookalike_(db, "SELECT name FROM users WHERE lookalike IS NULL"),
      set_lookalike_(db, "UPDATE users SET lookalike = ?2 WHERE name = ?1"),
      find_(db, "SELECT " + std::string(columns) + " FROM users WHERE name = ?1"),
      sign_in_(db,
               "UPDATE users SET last_sign_in = ?2, identity_key = ?3 WHERE name = ?1 AND (?4 IS "
               "NULL OR password_hash = ?4) RETURNING 1"),
      set_hash_(db,
                "UPDATE users SET password_hash = ?2 WHERE name = ?1 AND (?3 IS NULL OR "
                "password_hash = ?3) RETURNING 1"),
      remove_(
          db,
          "DELETE FROM users WHERE name = ?1 AND (?2 IS NULL OR password_hash = ?2) RETURNING 1"),
      list_(db, "SELECT " + std::string(columns) + " FROM users ORDER BY name"),
      count_(db, "SELECT count(*) FROM users") {}

result<void> user_store::create(std::string_view name, std::string_view password_hash,
                                const std::array<std::uint8_t, 32>& identity_key, std::int64_t now,
                                std::optional<std::string_view> lookalike) {
  run s{insert_};
  s->bind(1, name).bind(2, password_hash).bind(3, byte_view{identity_key}).bind(4, now);
  if (lookalike) {
    s->bind(5, *lookalike);
  } else {
    s->bind(5, nullptr);
  }
  // ON CONFLICT DO NOTHING returns no row when the name exists: one atomic statement, no
  // check-then-insert race and no constraint error to parse.
  if (s->step() != statement::step_result::row) return store_errc::name_taken;
  // Run to completion: the autocommit COMMIT happens here, and if it fails the caller must
  // hear about it (reset() would swallow the error).
  s->step();
  return {};
}

std::optional<std::string> user_store::lookalike_of(std::string_view lookalike,
                                                    std::string_view name) {
  run s{lookalike_of_};
  s->bind(1, lookalike).bind(2, name);
  if (s->step() != statement::step_result::row) return std::nullopt;
  return s->column_text(0);
}

std::size_t user_store::fill_lookalikes(
    const std::function<std::string(std::string_view)>& key_of) {
  std::vector<std::string> names;
  {
    run s{without_lookalike_};
    while (s->step() == statement::step_result::row) names.push_back(s->column_text(0));
  }
  for (const auto& n : names) {
    run s{set_lookalike_};
    s->bind(1, n).bind(2, key_of(n));
    s->step();
  }
  return names.size();
}

std::optional<user_record> user_store::find(std::string_view name) {
  run s{find_};
  s->bind(1, name);
  if (s->step() != statement::step_result::row) return std::nullopt;
  return read_record(*s);
}

namespace {
// Binds the optional expected hash (NULL: any).
void bind_if_hash(statement& s, int index, std::optional<std::string_view> if_hash) {
  if (if_hash) {
    s.bind(index, *if_hash);
  } else {
    s.bind(index, nullptr);
  }
}
}  // namespace

result<void> user_store::updated_or_why(std::string_view name) {
  // Which condition failed; the caller's transaction keeps this consistent with the update.
  return find(name) ? store_errc::hash_changed : store_errc::not_found;
}

result<void> user_store::record_sign_in(std::string_view name,
                                        const std::array<std::uint8_t, 32>& key, std::int64_t now,
                                        std::optional<std::string_view> if_hash) {
  {
    run s{sign_in_};
    s->bind(1, name).bind(2, now).bind(3, byte_view{key});
    bind_if_hash(*s, 4, if_hash);
    if (s->step() == statement::step_result::row) {
      s->step();
      return {};
    }
  }
  return updated_or_why(name);
}

result<void> user_store::set_password_hash(std::string_view name, std::string_view hash,
                                           std::optional<std::string_view> if_hash) {
  {
    run s{set_hash_};
    s->bind(1, name).bind(2, hash);
    bind_if_hash(*s, 3, if_hash);
    if (s->step() == statement::step_result::row) {
      s->step();
      return {};
    }
  }
  return updated_or_why(name);
}

result<void> user_store::remove(std::string_view name, std::optional<std::string_view> if_hash) {
  {
    run s{remove_};
    s->bind(1, name);
    bind_if_hash(*s, 2, if_hash);
    if (s->step() == statement::step_result::row) {
      s->step();
      return {};
    }
  }
  return updated_or_why(name);
}

std::vector<user_record> user_store::list() {
  run s{list_};
  std::vector<user_record> out;
  while (s->step() == statement::step_result::row) out.push_back(read_record(*s));
  return out;
}

std::int64_t user_store::count() {
  run s{count_};
  s->step();
  return s->column_int64(0);
}

}  // namespace relay::store
