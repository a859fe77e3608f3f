// Sign-ins that write at about the same time share one SQLite commit, and so one fsync.
//
// The database runs with synchronous=FULL: every commit waits for fdatasync. While a crowd
// signed in, the database thread (mostly in fdatasync) took 29% of the relay's CPU samples,
// on the core the loop and the hashing threads share, and 1000 sign-ups took 3.6 times as
// long as they do now (docs/benchmarks.md, "One commit for many sign-ins"). A write still
// resumes its caller only once the commit that holds it is on disk, so an acknowledged
// sign-up or key change survives a power loss as before. A batch is whatever writes arrived
// while the previous commit ran: a write alone commits at once, and nothing ever waits for
// company.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "relay/net.hpp"
#include "relay/server/loop_inbox.hpp"
#include "relay/store/database.hpp"

namespace relay::server {

class group_commit {
 public:
  using executor = net::strand<net::thread_pool::executor_type>;

  /// `db` must be used on `strand` only, here and everywhere else; results come back through
  /// `back`.
  group_commit(store::database& db, executor strand, loop_inbox& back)
      : db_(db), strand_(std::move(strand)), back_(back) {}
  group_commit(const group_commit&) = delete;
  group_commit& operator=(const group_commit&) = delete;

  /// Runs `job` on the strand inside the next batch's transaction, under a savepoint of its
  /// own, and resumes the caller on the loop once that transaction has committed, with the
  /// job's result. If the job throws, its own changes are rolled back, the rest of the batch
  /// commits, and the caller gets its exception. If the commit fails, every caller in the
  /// batch gets the commit's exception, whatever its job returned.
  template <class F>
  requires std::default_initializable<std::invoke_result_t<F>> awaitable<std::invoke_result_t<F>>
  write(F job) {
    using R = std::invoke_result_t<F>;
    return net::async_initiate<const net::use_awaitable_t<>&, void(std::exception_ptr, R)>(
        [this](auto handler, F fn) {
          using H = decltype(handler);
          auto w = std::make_unique<pending_job<R, F, H>>(std::move(fn), std::move(handler), back_);
          net::post(strand_, [this, w = std::move(w)]() mutable { enqueue(std::move(w)); });
        },
        net::use_awaitable, std::move(job));
  }

  /// Transactions committed and the writes they carried: writes() / commits() is the mean
  /// batch. failures(): writes not on disk (their own error, or their commit failed). Any
  /// thread.
  std::uint64_t commits() const noexcept { return commits_.load(std::memory_order_relaxed); }
  std::uint64_t writes() const noexcept { return writes_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

 private:
  struct pending {
    virtual ~pending() = default;
    /// Runs the job; returns what it threw, or null.
    virtual std::exception_ptr run() noexcept = 0;
    /// Hands the caller its result, or `failed` if the batch did not commit.
    virtual void finish(std::exception_ptr failed) = 0;
  };

  template <class R, class F, class H>
  struct pending_job final : pending {
    pending_job(F f, H h, loop_inbox& b) : fn(std::move(f)), handler(std::move(h)), back(b) {}
    std::exception_ptr run() noexcept override {
      try {
        result = fn();
      } catch (...) {
        thrown = std::current_exception();
      }
      return thrown;
    }
    void finish(std::exception_ptr failed) override {
      // Moved, never copied, to the loop: the strand keeps no reference, so the exception
      // is freed where it is read (libstdc++'s reference count is invisible to TSan).
      if (thrown) failed = std::exchange(thrown, nullptr);
      back.post([failed = std::move(failed), r = std::move(result),
                 h = std::move(handler)]() mutable { std::move(h)(failed, std::move(r)); });
    }
    F fn;
    H handler;
    loop_inbox& back;
    R result{};
    std::exception_ptr thrown;
  };

  /// Strand: queues `w` for the next commit, and schedules that commit behind the writes
  /// already waiting on the strand.
  void enqueue(std::unique_ptr<pending> w);
  /// Strand: runs every queued write in one transaction and answers them all.
  void commit_queued();

  store::database& db_;
  executor strand_;
  loop_inbox& back_;
  std::vector<std::unique_ptr<pending>> queued_;  // strand only
  bool commit_posted_ = false;                    // strand only
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace relay::server
