#include "relay/server/group_commit.hpp"

namespace relay::server {

void group_commit::enqueue(std::unique_ptr<pending> w) {
  queued_.push_back(std::move(w));
  if (commit_posted_) return;
  // Posted behind whatever the strand already holds: writes that arrived while the previous
  // commit waited for the disk are queued by then and join this one.
  commit_posted_ = true;
  net::post(strand_, [this] { commit_queued(); });
}

void group_commit::commit_queued() {
  commit_posted_ = false;
  auto batch = std::exchange(queued_, {});
  std::exception_ptr failed;
  std::uint64_t kept = 0;  // writes that did not fail on their own
  try {
    store::transaction tx{db_};
    for (auto& w : batch) {
      db_.exec("SAVEPOINT one_write");
      const std::exception_ptr thrown = w->run();
      if (!thrown) {
        db_.exec("RELEASE one_write");
        ++kept;
        continue;
      }
      // Some errors (disk full, I/O) make SQLite roll back the whole transaction: then the
      // batch fails with the error that ended it.
      if (!db_.in_transaction()) std::rethrow_exception(thrown);
      db_.exec("ROLLBACK TO one_write");
      db_.exec("RELEASE one_write");
    }
    tx.commit();
  } catch (...) {
    failed = std::current_exception();
    kept = 0;  // nothing of the batch is on disk
  }
  // Only what reached the disk counts as written (a full disk counted its failures too:
  // review 15); the rest is counted apart.
  if (!failed) commits_.fetch_add(1, std::memory_order_relaxed);
  writes_.fetch_add(kept, std::memory_order_relaxed);
  failures_.fetch_add(batch.size() - kept, std::memory_order_relaxed);
  // The last answer takes the strand's own reference (see pending_job::finish).
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i]->finish(i + 1 == batch.size() ? std::move(failed) : failed);
  }
}

}  // namespace relay::server
