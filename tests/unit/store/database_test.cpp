// database, statement and transaction: migrations, rollback, durability settings, failures.
#include "relay/store/database.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "relay/store/schema.hpp"

namespace relay::store {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 2> two_steps{
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    "ALTER TABLE t ADD COLUMN n INTEGER",
};

// A fresh directory per test, removed afterwards, so tests can run in parallel.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "relay-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::int64_t count_rows(database& db) {
  statement s{db, "SELECT count(*) FROM t"};
  s.step();
  return s.column_int64(0);
}

TEST(Database, MigrateSetsUserVersion) {
  auto db = database::open(":memory:");
  EXPECT_EQ(db.user_version(), 0);
  db.migrate(two_steps);
  EXPECT_EQ(db.user_version(), 2);
  db.exec("INSERT INTO t (v, n) VALUES ('x', 1)");  // both steps ran
}

TEST(Database, MigrateIsIdempotent) {
  auto db = database::open(":memory:");
  db.migrate(two_steps);
  db.exec("INSERT INTO t (v, n) VALUES ('x', 1)");
  db.migrate(two_steps);  // would fail on CREATE TABLE if it re-ran a step
  EXPECT_EQ(db.user_version(), 2);
  EXPECT_EQ(count_rows(db), 1);
}

TEST(Database, MigrateAppliesOnlyMissingSteps) {
  auto db = database::open(":memory:");
  db.migrate(std::span{two_steps}.first(1));
  EXPECT_EQ(db.user_version(), 1);
  db.migrate(two_steps);
  EXPECT_EQ(db.user_version(), 2);
}

TEST(Database, FailedMigrationLeavesOldVersion) {
  auto db = database::open(":memory:");
  constexpr std::array<std::string_view, 2> broken{"CREATE TABLE a (x)", "NOT SQL AT ALL"};
  EXPECT_THROW(db.migrate(broken), sqlite_error);
  EXPECT_EQ(db.user_version(), 0);
  db.exec("CREATE TABLE a (x)");  // the first step was rolled back too
}

TEST(Database, NewerUserVersionIsRefused) {
  auto db = database::open(":memory:");
  db.exec("PRAGMA user_version = 7");
  try {
    db.migrate(two_steps);
    FAIL() << "expected migrate to refuse a newer schema";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
  EXPECT_EQ(db.user_version(), 7);
}

TEST(Database, OpenRefusesNewerFile) {
  temp_dir dir;
  const auto path = dir.file("relay.db");
  {
    auto db = open(path);
    db.exec("PRAGMA user_version = 99");
  }
  EXPECT_THROW(open(path), std::runtime_error);
}

TEST(Database, TransactionRollsBackOnDestruction) {
  auto db = database::open(":memory:");
  db.migrate(two_steps);
  {
    transaction tx{db};
    db.exec("INSERT INTO t (v) VALUES ('gone')");
    EXPECT_EQ(count_rows(db), 1);
  }
  EXPECT_EQ(count_rows(db), 0);
}

TEST(Database, TransactionRollsBackOnException) {
  auto db = database::open(":memory:");
  db.migrate(two_steps);
  try {
    transaction tx{db};
    db.exec("INSERT INTO t (v) VALUES ('gone')");
    db.exec("INSERT INTO nowhere VALUES (1)");
    tx.commit();
  } catch (const sqlite_error&) {
  }
  EXPECT_EQ(count_rows(db), 0);
}

TEST(Database, CommitPersists) {
  auto db = database::open(":memory:");
  db.migrate(two_steps);
  {
    transaction tx{db};
    db.exec("INSERT INTO t (v) VALUES ('kept')");
    tx.commit();
  }
  EXPECT_EQ(count_rows(db), 1);
}

TEST(Database, StatementBindsAndReads) {
  auto db = database::open(":memory:");
  db.exec("CREATE TABLE v (i INTEGER, s TEXT, b BLOB, z)");
  const std::array<byte, 3> blob{0x00, 0xff, 0x10};
  statement ins{db, "INSERT INTO v VALUES (?1, ?2, ?3, ?4)"};
  ins.bind(1, std::int64_t{-5}).bind(2, std::string_view{"a\0b", 3}).bind(3, byte_view{blob});
  ins.bind(4, nullptr);
  EXPECT_EQ(ins.step(), statement::step_result::done);
  ins.reset();
  ins.bind(1, std::int64_t{1}).bind(2, std::string_view{}).bind(3, byte_view{});
  EXPECT_EQ(ins.step(), statement::step_result::done);

  statement sel{db, "SELECT i, s, b, z FROM v ORDER BY i"};
  ASSERT_EQ(sel.step(), statement::step_result::row);
  EXPECT_EQ(sel.column_int64(0), -5);
  EXPECT_EQ(sel.column_text(1), std::string("a\0b", 3));
  EXPECT_EQ(sel.column_blob(2), (bytes{0x00, 0xff, 0x10}));
  EXPECT_TRUE(sel.is_null(3));
  ASSERT_EQ(sel.step(), statement::step_result::row);
  // Empty text and blob stay empty values, not NULL; reset() cleared the old ?4 to NULL.
  EXPECT_FALSE(sel.is_null(1));
  EXPECT_EQ(sel.column_text(1), "");
  EXPECT_FALSE(sel.is_null(2));
  EXPECT_TRUE(sel.column_blob(2).empty());
  EXPECT_TRUE(sel.is_null(3));
  EXPECT_EQ(sel.step(), statement::step_result::done);
}

TEST(Database, BadSqlThrowsWithCode) {
  auto db = database::open(":memory:");
  try {
    statement s{db, "SELECT * FROM missing"};
    FAIL() << "prepare should throw";
  } catch (const sqlite_error& e) {
    EXPECT_EQ(e.code().category(), sqlite_category());
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST(Database, ConstraintViolationThrows) {
  auto db = database::open(":memory:");
  db.exec("CREATE TABLE u (k TEXT PRIMARY KEY)");
  statement ins{db, "INSERT INTO u VALUES (?1)"};
  ins.bind(1, std::string_view{"a"});
  ins.step();
  ins.reset();
  ins.bind(1, std::string_view{"a"});
  EXPECT_THROW(ins.step(), sqlite_error);
}

TEST(Database, PragmasAreSet) {
  auto db = database::open(":memory:");
  statement fk{db, "PRAGMA foreign_keys"};
  fk.step();
  EXPECT_EQ(fk.column_int64(0), 1);
  statement sync{db, "PRAGMA synchronous"};
  sync.step();
  EXPECT_EQ(sync.column_int64(0), 2);  // FULL
  statement busy{db, "PRAGMA busy_timeout"};
  busy.step();
  EXPECT_EQ(busy.column_int64(0), 5000);
  statement cache{db, "PRAGMA cache_size"};
  cache.step();
  EXPECT_EQ(cache.column_int64(0), -128);  // KiB: the relay's memory is for connections
}

TEST(Database, IntegrityCheckOk) {
  auto db = open(":memory:");
  EXPECT_EQ(db.integrity_check(), "ok");
}

TEST(Database, FileSurvivesReopenWithWal) {
  temp_dir dir;
  const auto path = dir.file("relay.db");
  {
    auto db = database::open(path);
    EXPECT_EQ(db.journal_mode(), "wal");
    db.migrate(two_steps);
    db.exec("INSERT INTO t (v) VALUES ('kept')");
  }
  EXPECT_TRUE(fs::exists(path));
  auto db = database::open(path);
  EXPECT_EQ(db.journal_mode(), "wal");
  EXPECT_EQ(db.user_version(), 2);
  db.migrate(two_steps);
  EXPECT_EQ(count_rows(db), 1);
  statement s{db, "PRAGMA synchronous"};
  s.step();
  EXPECT_EQ(s.column_int64(0), 2);  // FULL is per connection, so it must be set on every open
  EXPECT_EQ(db.integrity_check(), "ok");
}

TEST(Database, UnwritablePathThrowsWithMessage) {
  temp_dir dir;
  const auto path = dir.file("no/such/dir/relay.db");
  try {
    auto db = database::open(path);
    FAIL() << "open should throw";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("unable to open"), std::string::npos) << what;
  }
}

TEST(Database, DirectoryPathThrows) {
  temp_dir dir;
  EXPECT_THROW(database::open(dir.file("")), std::runtime_error);
}

TEST(Database, NotADatabaseThrowsWithMessage) {
  temp_dir dir;
  const auto path = dir.file("garbage.db");
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string junk(4096, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  try {
    auto db = database::open(path);
    FAIL() << "open should throw";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("not a database"), std::string::npos) << what;
  }
}

TEST(Database, SchemaOpenCreatesUsers) {
  auto db = open(":memory:");
  EXPECT_EQ(db.user_version(), static_cast<std::int64_t>(schema().size()));
  statement s{db, "SELECT count(*) FROM users"};
  EXPECT_EQ(s.step(), statement::step_result::row);
}

}  // namespace
}  // namespace relay::store
