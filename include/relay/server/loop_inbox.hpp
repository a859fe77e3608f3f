// Hands work from other threads to the event loop without the loop ever waiting on them.
//
// Why not net::post(io_context, f): Asio wakes a sleeping reactor while it still holds the
// io_context's mutex. The woken loop preempts the poster and blocks on that mutex, and when
// the poster cannot run again at once the loop waits for the next scheduler tick (4 ms
// here). A SCHED_IDLE hashing thread never can while the other hashes; a normal thread
// (SQLite's) often cannot either, because on Linux 6.6+ (EEVDF) a thread that just ran
// ahead of its share is not eligible and the idle-priority hashes run first. During a
// sign-in storm that was most of the chat tail (docs/benchmarks.md). Here a producer pushes
// onto a lock-free list and then rings an eventfd the loop's reactor watches: nothing the
// loop needs is held by another thread when it wakes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "relay/net.hpp"

namespace relay::server {

class loop_inbox {
 public:
  /// Watches for work on `loop`; the thread running `loop` runs everything posted here.
  explicit loop_inbox(net::io_context& loop);
  /// Destroys, without running them, the jobs still waiting. Producers must be gone.
  ~loop_inbox();
  loop_inbox(const loop_inbox&) = delete;
  loop_inbox& operator=(const loop_inbox&) = delete;

  /// Any thread: `f()` runs on the loop's thread, after every job this thread posted before.
  template <class F>
  void post(F f) {
    push(std::make_unique<job<F>>(std::move(f)).release());
  }

  /// How many times a producer rang the loop's bell (a post to an empty inbox).
  std::uint64_t bells() const noexcept;

 private:
  struct node {
    node* next = nullptr;
    virtual ~node() = default;
    virtual void run() = 0;
  };
  template <class F>
  struct job final : node {
    explicit job(F fn) : f(std::move(fn)) {}
    void run() override { std::move(f)(); }
    F f;
  };
  struct state;  // shared with the pending read, which may outlive the inbox

  void push(node* n) noexcept;
  static void wait_for_bell(const std::shared_ptr<state>& s);
  static void run_all(state& s);

  std::shared_ptr<state> state_;
};

}  // namespace relay::server
