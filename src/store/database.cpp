// SQLite connection, statement and transaction wrappers; every failure becomes sqlite_error.
#include "relay/store/database.hpp"

#include <sqlite3.h>
#include <sys/statvfs.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace relay::store {

namespace {

/// A few words on a full disk holding `file`, or nothing if it has 1 MiB free or more.
std::string full_disk_hint(const std::string& file) {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::absolute(file, ec).parent_path();
  struct statvfs fs {};
  if (ec || ::statvfs(dir.c_str(), &fs) != 0) return {};
  const auto free_bytes = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes >= 1024 * 1024) return {};
  return "; the disk holding it is full (" + std::to_string(free_bytes / 1024) +
         " KiB free): free some space, then start the relay again";
}

class sqlite_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int ev) const override { return sqlite3_errstr(ev); }
};

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view doing) {
  std::string what{doing};
  what += ": ";
  what += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw sqlite_error(rc, what);
}

}  // namespace

const std::error_category& sqlite_category() noexcept {
  static const sqlite_category_impl category;
  return category;
}

sqlite_error::sqlite_error(int code, const std::string& what)
    : std::runtime_error(what), code_(code, sqlite_category()) {}

void database::closer::operator()(sqlite3* d) const noexcept { sqlite3_close_v2(d); }

database database::open(std::string_view path) {
  const std::string name{path};
  const std::string where = "database '" + name + "'";
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(name.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  // sqlite3_open_v2 hands back a handle even on failure; own it before anything can throw.
  database db{std::unique_ptr<sqlite3, closer>(raw)};
  if (raw == nullptr) throw sqlite_error(SQLITE_NOMEM, "cannot open " + where + ": out of memory");
  if (rc != SQLITE_OK) {
    std::string what = "cannot open " + where + ": " + sqlite3_errmsg(raw);
    if (const int err = sqlite3_system_errno(raw); err != 0) {
      what += std::string(" (") + std::strerror(err) + ")";
    }
    throw sqlite_error(rc, what);
  }
  sqlite3_extended_result_codes(raw, 1);
  // SQLite silently falls back to read-only when the file is not writable; we need to write.
  if (sqlite3_db_readonly(raw, "main") == 1) {
    throw sqlite_error(SQLITE_READONLY, "cannot open " + where + ": file is read-only");
  }
  sqlite3_busy_timeout(raw, 5000);
  try {
    // An empty filename means an in-memory or temporary database, which has no WAL.
    const char* file = sqlite3_db_filename(raw, "main");
    if (file != nullptr && *file != '\0') db.exec("PRAGMA journal_mode=WAL");
    // WAL with NORMAL survives SIGKILL but may lose the last commits on power loss; FULL
    // syncs every commit, so an acknowledged sign-up survives both.
    db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
    // 128 KiB of page cache, not SQLite's default 2 MiB: a sign-in is one indexed lookup
    // (three or four pages of 4 KiB) behind a 50 ms hash, and the kernel caches the file
    // anyway; the relay's memory is for its connections (512 KiB was 45 KiB per 1000 idle
    // clients at 10,000 sign-ups).
    db.exec("PRAGMA cache_size=-128");
  } catch (const sqlite_error& e) {
    // Typically "file is not a database": the first read happens here, not in open. On a
    // full disk SQLite says "disk I/O error" (it cannot make its WAL index): said plainly.
    throw sqlite_error(e.code().value(),
                       "cannot open " + where + ": " + e.what() + full_disk_hint(name));
  }
  return db;
}

void database::exec(std::string_view sql) {
  const std::string text{sql};
  char* message = nullptr;
  const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string what = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw sqlite_error(rc, "'" + text + "' failed: " + what);
  }
}

void database::migrate(std::span<const std::string_view> steps) {
  transaction tx{*this};
  const std::int64_t version = user_version();
  const auto known = static_cast<std::int64_t>(steps.size());
  if (version < 0 || version > known) {
    const char* file = sqlite3_db_filename(db_.get(), "main");
    throw std::runtime_error("database '" + std::string(file != nullptr ? file : "") +
                             "' has schema version " + std::to_string(version) +
                             ", newer than this relay knows (" + std::to_string(known) +
                             "); refusing to open it");
  }
  if (version == known) return;
  for (auto i = static_cast<std::size_t>(version); i < steps.size(); ++i) exec(steps[i]);
  exec("PRAGMA user_version=" + std::to_string(known));
  tx.commit();
}

bool database::in_transaction() const noexcept { return sqlite3_get_autocommit(db_.get()) == 0; }

std::int64_t database::user_version() {
  statement s{*this, "PRAGMA user_version"};
  s.step();
  return s.column_int64(0);
}

std::string database::journal_mode() {
  statement s{*this, "PRAGMA journal_mode"};
  s.step();
  return s.column_text(0);
}

std::string database::integrity_check() { return check("PRAGMA integrity_check"); }

std::string database::quick_check() { return check("PRAGMA quick_check"); }

std::string database::check(std::string_view pragma) {
  statement s{*this, pragma};
  std::string out;
  while (s.step() == statement::step_result::row) {
    if (!out.empty()) out += '\n';
    out += s.column_text(0);
  }
  return out;
}

void statement::finalizer::operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }

statement::statement(database& db, std::string_view sql) : db_(db.handle()) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  stmt_.reset(raw);
  if (rc != SQLITE_OK) fail(db_, rc, "preparing '" + std::string(sql) + "'");
}

void statement::check_bind(int rc, int index) {
  if (rc != SQLITE_OK) fail(db_, rc, "binding parameter " + std::to_string(index));
}

statement& statement::bind(int index, std::int64_t v) {
  check_bind(sqlite3_bind_int64(stmt_.get(), index, v), index);
  return *this;
}

statement& statement::bind(int index, std::string_view text) {
  // A null data pointer would bind SQL NULL; an empty string must stay an empty string.
  const char* data = text.data() != nullptr ? text.data() : "";
  check_bind(
      sqlite3_bind_text64(stmt_.get(), index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}

statement& statement::bind(int index, byte_view blob) {
  // Same trap as text: an empty span may have a null data pointer, which binds NULL.
  const int rc = blob.empty() ? sqlite3_bind_zeroblob(stmt_.get(), index, 0)
                              : sqlite3_bind_blob64(stmt_.get(), index, blob.data(), blob.size(),
                                                    SQLITE_TRANSIENT);
  check_bind(rc, index);
  return *this;
}

statement& statement::bind(int index, std::nullptr_t) {
  check_bind(sqlite3_bind_null(stmt_.get(), index), index);
  return *this;
}

statement::step_result statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return step_result::row;
  if (rc == SQLITE_DONE) return step_result::done;
  fail(db_, rc, std::string("running '") + sqlite3_sql(stmt_.get()) + "'");
}

bool statement::is_null(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

std::int64_t statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string statement::column_text(int column) const {
  // Fetch the pointer before the size, as SQLite documents.
  const auto* p = sqlite3_column_text(stmt_.get(), column);
  const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column));
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), n};
}

bytes statement::column_blob(int column) const {
  const auto* p = static_cast<const byte*>(sqlite3_column_blob(stmt_.get(), column));
  const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column));
  if (p == nullptr) return {};
  return {p, p + n};
}

void statement::reset() noexcept {
  // The return value repeats the last step()'s error, which step() already reported.
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

transaction::transaction(database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

transaction::~transaction() {
  if (!open_) return;
  // Errors are ignored: SQLite may already have rolled back (e.g. after SQLITE_FULL), and a
  // destructor has no one to tell.
  sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace relay::store
