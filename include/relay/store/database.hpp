// Small RAII over the SQLite C API: one connection, prepared statements, IMMEDIATE transactions
// and schema migrations keyed by PRAGMA user_version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "relay/util/bytes.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace relay::store {

/// The "sqlite" error category: values are SQLite (extended) result codes.
const std::error_category& sqlite_category() noexcept;

/// What every SQLite failure throws: code() is the SQLite result code in sqlite_category(),
/// what() says what we were doing and SQLite's own message. Storage failures (disk full, I/O,
/// busy beyond the timeout, corruption) are not expected outcomes, so they are exceptions.
class sqlite_error : public std::runtime_error {
 public:
  sqlite_error(int code, const std::string& what);
  std::error_code code() const noexcept { return code_; }

 private:
  std::error_code code_;
};

/// One open connection. Move-only; not for concurrent use from several threads.
class database {
 public:
  /// Opens (creating if needed) the database at `path`; ":memory:" gives a private in-memory
  /// one. Sets WAL (file databases), synchronous=FULL, foreign_keys=ON and a 5 s busy timeout.
  /// Throws sqlite_error (a std::runtime_error) naming the path and the reason on failure,
  /// including when the file can only be opened read-only.
  static database open(std::string_view path);

  /// Runs one or more SQL statements that return no rows we need. Throws sqlite_error.
  void exec(std::string_view sql);

  /// Brings the schema to version steps.size(): step i moves PRAGMA user_version from i to
  /// i + 1. The missing steps run in one IMMEDIATE transaction, so a crash leaves the old
  /// version intact; running it again is a no-op. Throws std::runtime_error, touching nothing,
  /// if the database is newer than `steps` knows (written by a later relay).
  void migrate(std::span<const std::string_view> steps);

  /// PRAGMA user_version.
  std::int64_t user_version();
  /// PRAGMA journal_mode, lowercase ("wal" for file databases, "memory" for ":memory:").
  std::string journal_mode();
  /// The result of PRAGMA integrity_check: "ok" when fine, else SQLite's findings, one a line.
  std::string integrity_check();
  /// PRAGMA quick_check: the same without the index checks, in time linear in the file.
  std::string quick_check();

  /// True between BEGIN and COMMIT or ROLLBACK (false again if SQLite rolled back by itself,
  /// as it may after a full disk or an I/O error).
  bool in_transaction() const noexcept;

  /// The raw handle, for statement; never null.
  sqlite3* handle() const noexcept { return db_.get(); }

 private:
  struct closer {
    void operator()(sqlite3* d) const noexcept;
  };
  explicit database(std::unique_ptr<sqlite3, closer> db) : db_(std::move(db)) {}
  /// The rows of an integrity pragma, one a line.
  std::string check(std::string_view pragma);

  std::unique_ptr<sqlite3, closer> db_;
};

/// A prepared statement. Indices are 1-based for bind and 0-based for columns, as in SQLite.
/// Move-only; must not outlive its database.
class statement {
 public:
  /// The outcome of one step().
  enum class step_result { row, done };

  /// Prepares one SQL statement. Throws sqlite_error on a syntax error or unknown table.
  statement(database& db, std::string_view sql);

  /// Bind a parameter; each returns *this so binds chain. Throws sqlite_error.
  statement& bind(int index, std::int64_t v);
  statement& bind(int index, std::string_view text);
  statement& bind(int index, byte_view blob);
  statement& bind(int index, std::nullptr_t);

  /// Runs to the next row or to completion. Throws sqlite_error (e.g. constraint violation).
  step_result step();

  /// Column readers for the current row. Text and blob are copied out.
  bool is_null(int column) const;
  std::int64_t column_int64(int column) const;
  std::string column_text(int column) const;
  bytes column_blob(int column) const;

  /// Makes the statement ready to run again and clears its bindings; ends any read it held.
  void reset() noexcept;

 private:
  struct finalizer {
    void operator()(sqlite3_stmt* s) const noexcept;
  };
  void check_bind(int rc, int index);

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, finalizer> stmt_;
};

/// BEGIN IMMEDIATE on construction (takes the write lock now, so a later write cannot fail
/// with SQLITE_BUSY halfway); ROLLBACK on destruction unless commit() succeeded.
class transaction {
 public:
  /// Throws sqlite_error if the transaction cannot begin (e.g. busy beyond the timeout).
  explicit transaction(database& db);
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  /// Makes the changes durable. Throws sqlite_error; the destructor then rolls back.
  void commit();

 private:
  database& db_;
  bool open_ = true;
};

}  // namespace relay::store
