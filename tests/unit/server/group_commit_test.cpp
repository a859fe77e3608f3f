#include "relay/server/group_commit.hpp"

#include <gtest/gtest.h>

#include <future>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace relay::server {
namespace {

// A real database file (WAL, synchronous=FULL), its strand on a thread of its own, and a loop
// that the writers run on, as in the relay.
struct fixture {
  test::temp_dir dir;
  std::string path = dir.file("g.db");
  store::database db = store::database::open(path);
  net::io_context io;
  loop_inbox inbox{io};
  net::thread_pool db_thread{1};
  group_commit::executor strand = net::make_strand(db_thread.get_executor());
  group_commit commits{db, strand, inbox};

  fixture() {
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    db.exec("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
    db.exec(
        "CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)");
  }
  ~fixture() {
    db_thread.stop();
    db_thread.join();
  }
  // Holds the strand until release(), so that writes queue up behind it.
  std::promise<void> gate;
  void hold_strand() {
    net::post(strand, [f = gate.get_future()]() mutable { f.wait(); });
  }
  void release() { gate.set_value(); }
  // Rows of t, read through a connection of its own: only committed rows show.
  std::vector<std::int64_t> committed_ids() {
    auto other = store::database::open(path);
    store::statement s{other, "SELECT id FROM t ORDER BY id"};
    std::vector<std::int64_t> ids;
    while (s.step() == store::statement::step_result::row) ids.push_back(s.column_int64(0));
    return ids;
  }
  void insert(std::int64_t id) {
    db.exec("INSERT INTO t (id) VALUES (" + std::to_string(id) + ")");
  }
};

TEST(GroupCommit, AWriteResumesItsCallerOnTheLoopOnlyOnceItIsCommitted) {
  fixture f;
  std::vector<std::int64_t> seen_on_resume;
  std::thread::id resumed_on;
  int got = 0;
  net::co_spawn(
      f.io,
      [&]() -> awaitable<void> {
        got = co_await f.commits.write([&] {
          f.insert(7);
          return 42;
        });
        resumed_on = std::this_thread::get_id();
        seen_on_resume = f.committed_ids();
        f.io.stop();
      },
      net::detached);
  f.io.run();
  EXPECT_EQ(got, 42);
  EXPECT_EQ(seen_on_resume, std::vector<std::int64_t>{7});
  EXPECT_TRUE(resumed_on == std::this_thread::get_id());
  EXPECT_EQ(f.commits.commits(), 1u);
  EXPECT_EQ(f.commits.writes(), 1u);
}

TEST(GroupCommit, WritesThatArriveWhileTheStrandIsBusyShareOneCommit) {
  fixture f;
  f.hold_strand();  // as a commit waiting for the disk would
  int done = 0;
  for (int i = 1; i <= 5; ++i) {
    net::co_spawn(
        f.io,
        [&, i]() -> awaitable<void> {
          const int r = co_await f.commits.write([&f, i] {
            f.insert(i);
            return i * 10;
          });
          EXPECT_EQ(r, i * 10);
          if (++done == 5) f.io.stop();
        },
        net::detached);
  }
  // Runs after all five have queued their writes.
  net::post(f.io, [&] { f.release(); });
  f.io.run();
  EXPECT_EQ(done, 5);
  EXPECT_EQ(f.committed_ids(), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(f.commits.commits(), 1u);
  EXPECT_EQ(f.commits.writes(), 5u);

  // Alone, a later write does not wait for company.
  net::co_spawn(
      f.io,
      [&]() -> awaitable<void> {
        (void)co_await f.commits.write([&] {
          f.insert(6);
          return true;
        });
        f.io.stop();
      },
      net::detached);
  f.io.restart();
  f.io.run();
  EXPECT_EQ(f.commits.commits(), 2u);
  EXPECT_EQ(f.commits.writes(), 6u);
}

TEST(GroupCommit, AJobThatThrowsLosesOnlyItsOwnChangesAndItsCallerGetsTheException) {
  fixture f;
  f.hold_strand();
  std::vector<std::string> outcomes(3);
  int done = 0;
  auto spawn = [&](int i, bool fail) {
    net::co_spawn(
        f.io,
        [&, i, fail]() -> awaitable<void> {
          try {
            (void)co_await f.commits.write([&f, i, fail] {
              f.insert(i);
              f.insert(100 + i);
              if (fail) throw std::runtime_error("job " + std::to_string(i) + " failed");
              return true;
            });
            outcomes[i] = "ok";
          } catch (const std::exception& e) {
            outcomes[i] = e.what();
          }
          if (++done == 3) f.io.stop();
        },
        net::detached);
  };
  spawn(0, false);
  spawn(1, true);
  spawn(2, false);
  net::post(f.io, [&] { f.release(); });
  f.io.run();
  EXPECT_EQ(outcomes, (std::vector<std::string>{"ok", "job 1 failed", "ok"}));
  EXPECT_EQ(f.committed_ids(), (std::vector<std::int64_t>{0, 2, 100, 102}));
  EXPECT_EQ(f.commits.commits(), 1u);
}

TEST(GroupCommit, WhenTheCommitFailsEveryCallerInTheBatchHearsItAndNothingIsKept) {
  fixture f;
  f.hold_strand();
  std::vector<std::string> outcomes(2);
  int done = 0;
  // The second job breaks a deferred foreign key: each statement succeeds, COMMIT fails.
  for (int i = 0; i < 2; ++i) {
    net::co_spawn(
        f.io,
        [&, i]() -> awaitable<void> {
          try {
            (void)co_await f.commits.write([&f, i] {
              if (i == 0) f.insert(1);
              if (i == 1) f.db.exec("INSERT INTO child (pid) VALUES (99)");
              return true;
            });
            outcomes[i] = "ok";
          } catch (const store::sqlite_error& e) {
            outcomes[i] = "sqlite_error";
            EXPECT_NE(std::string(e.what()).find("COMMIT"), std::string::npos) << e.what();
          }
          if (++done == 2) f.io.stop();
        },
        net::detached);
  }
  net::post(f.io, [&] { f.release(); });
  f.io.run();
  EXPECT_EQ(outcomes, (std::vector<std::string>{"sqlite_error", "sqlite_error"}));
  EXPECT_TRUE(f.committed_ids().empty());

  // The next batch starts clean.
  bool later = false;
  net::co_spawn(
      f.io,
      [&]() -> awaitable<void> {
        later = co_await f.commits.write([&] {
          f.insert(2);
          return true;
        });
        f.io.stop();
      },
      net::detached);
  f.io.restart();
  f.io.run();
  EXPECT_TRUE(later);
  EXPECT_EQ(f.committed_ids(), std::vector<std::int64_t>{2});
}

TEST(GroupCommit, AJobWhoseErrorEndedTheWholeTransactionFailsTheBatchWithThatError) {
  fixture f;
  f.hold_strand();
  std::vector<std::string> outcomes(2);
  int done = 0;
  for (int i = 0; i < 2; ++i) {
    net::co_spawn(
        f.io,
        [&, i]() -> awaitable<void> {
          try {
            (void)co_await f.commits.write([&f, i] {
              f.insert(i);
              if (i == 1) {
                // What SQLite does by itself after a full disk or an I/O error.
                f.db.exec("ROLLBACK");
                throw std::runtime_error("disk full");
              }
              return true;
            });
            outcomes[i] = "ok";
          } catch (const std::exception& e) {
            outcomes[i] = e.what();
          }
          if (++done == 2) f.io.stop();
        },
        net::detached);
  }
  net::post(f.io, [&] { f.release(); });
  f.io.run();
  EXPECT_EQ(outcomes, (std::vector<std::string>{"disk full", "disk full"}));
  EXPECT_TRUE(f.committed_ids().empty());
  EXPECT_FALSE(f.db.in_transaction());
}

}  // namespace
}  // namespace relay::server
