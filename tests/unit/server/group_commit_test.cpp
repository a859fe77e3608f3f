#include "relay/server/group_commit.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
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
  // Rows of t, read through a connection of its own: only committed rows show.
  std::vector<std::int64_t> committed_ids() {
    auto other = store::database::open(path);
    store::statement s{other, "SELECT id FROM t ORDER BY id"};
    std::vector<std::int64_t> ids;
    while (s.step() == store::statement::step_result::row) ids.push_back(s.column_int64(0));
    return ids;
  }
  // Runs `jobs` as writes from the loop, all queued before the strand takes the first (it is
  // held meanwhile, as by a commit waiting for the disk), so they make one batch. Each
  // outcome is "ok" or what its caller caught.
  std::vector<std::string> run_batch(const std::vector<std::function<void()>>& jobs) {
    auto gate = std::make_shared<std::promise<void>>();
    net::post(strand, [f = gate->get_future()]() mutable { f.wait(); });
    std::vector<std::string> outcomes(jobs.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      net::co_spawn(
          io,
          [&, i]() -> awaitable<void> {
            try {
              (void)co_await commits.write([&jobs, i] {
                jobs[i]();
                return true;
              });
              outcomes[i] = "ok";
            } catch (const std::exception& e) {
              outcomes[i] = e.what();
            }
            if (++done == jobs.size()) io.stop();
          },
          net::detached);
    }
    net::post(io, [gate] { gate->set_value(); });  // after every write above has queued
    io.restart();
    io.run();
    return outcomes;
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
  std::vector<std::function<void()>> jobs;
  for (int i = 1; i <= 5; ++i) jobs.push_back([&f, i] { f.insert(i); });
  EXPECT_EQ(f.run_batch(jobs), std::vector<std::string>(5, "ok"));
  EXPECT_EQ(f.committed_ids(), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(f.commits.commits(), 1u);
  EXPECT_EQ(f.commits.writes(), 5u);

  // Alone, a later write does not wait for company.
  EXPECT_EQ(f.run_batch({[&f] { f.insert(6); }}), std::vector<std::string>{"ok"});
  EXPECT_EQ(f.commits.commits(), 2u);
  EXPECT_EQ(f.commits.writes(), 6u);
}

TEST(GroupCommit, AJobThatThrowsLosesOnlyItsOwnChangesAndItsCallerGetsTheException) {
  fixture f;
  auto job = [&f](int i, bool fail) -> std::function<void()> {
    return [&f, i, fail] {
      f.insert(i);
      f.insert(100 + i);
      if (fail) throw std::runtime_error("job " + std::to_string(i) + " failed");
    };
  };
  EXPECT_EQ(f.run_batch({job(0, false), job(1, true), job(2, false)}),
            (std::vector<std::string>{"ok", "job 1 failed", "ok"}));
  EXPECT_EQ(f.committed_ids(), (std::vector<std::int64_t>{0, 2, 100, 102}));
  EXPECT_EQ(f.commits.commits(), 1u);
  EXPECT_EQ(f.commits.writes(), 2u);
  EXPECT_EQ(f.commits.failures(), 1u);
}

TEST(GroupCommit, WhenTheCommitFailsEveryCallerInTheBatchHearsItAndNothingIsKept) {
  fixture f;
  // The second job breaks a deferred foreign key: each statement succeeds, COMMIT fails.
  const auto outcomes = f.run_batch(
      {[&f] { f.insert(1); }, [&f] { f.db.exec("INSERT INTO child (pid) VALUES (99)"); }});
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& o : outcomes) {
    EXPECT_NE(o.find("'COMMIT' failed: FOREIGN KEY constraint failed"), std::string::npos) << o;
  }
  EXPECT_TRUE(f.committed_ids().empty());
  // Nothing reached the disk: no commit, no write, two failures (review 15: a full disk
  // counted its failed writes as written).
  EXPECT_EQ(f.commits.commits(), 0u);
  EXPECT_EQ(f.commits.writes(), 0u);
  EXPECT_EQ(f.commits.failures(), 2u);

  // The next batch starts clean.
  EXPECT_EQ(f.run_batch({[&f] { f.insert(2); }}), std::vector<std::string>{"ok"});
  EXPECT_EQ(f.committed_ids(), std::vector<std::int64_t>{2});
  EXPECT_EQ(f.commits.commits(), 1u);
  EXPECT_EQ(f.commits.writes(), 1u);
}

TEST(GroupCommit, AJobWhoseErrorEndedTheWholeTransactionFailsTheBatchWithThatError) {
  fixture f;
  const auto outcomes = f.run_batch({[&f] { f.insert(0); },
                                     [&f] {
                                       f.insert(1);
                                       // What SQLite does by itself after a full disk or an
                                       // I/O error.
                                       f.db.exec("ROLLBACK");
                                       throw std::runtime_error("disk full");
                                     }});
  EXPECT_EQ(outcomes, (std::vector<std::string>{"disk full", "disk full"}));
  EXPECT_TRUE(f.committed_ids().empty());
  EXPECT_EQ(f.commits.commits(), 0u);
  EXPECT_EQ(f.commits.writes(), 0u);
  EXPECT_EQ(f.commits.failures(), 2u);
  EXPECT_FALSE(f.db.in_transaction());
}

}  // namespace
}  // namespace relay::server
