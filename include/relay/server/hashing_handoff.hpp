// Runs an Argon2 job on a hashing thread and brings its result back to the event loop
// without the loop ever waiting on a hashing thread.
//
// Why not a plain co_spawn on the worker pool: the hashing threads run as SCHED_IDLE
// (thread_priority.hpp), and a worker that posted its result to the io_context itself woke
// the event loop while still holding the io_context's mutex (Asio interrupts the reactor
// under it). The loop preempted the poster at once, blocked on that mutex, and sat out a
// scheduler tick (4 ms here) behind the other hashing thread, about 30 times a second
// during a sign-in storm (about half of that storm's chat tail, docs/benchmarks.md). So the
// worker hands the result to `handoff`, a pool whose
// thread runs at normal priority and sleeps on a condition variable (Asio signals it after
// unlocking), and that thread posts to the event loop.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "relay/net.hpp"

namespace relay::server {

/// Runs `job` on `workers`, then resumes the awaiting coroutine through `handoff` and
/// `loop` (the event loop's executor) with the job's result, or rethrows its exception.
template <class LoopExecutor, class F>
awaitable<std::invoke_result_t<F>> on_hashing_thread(net::thread_pool& workers,
                                                     net::thread_pool& handoff, LoopExecutor loop,
                                                     F job) {
  // Not a coroutine itself: written as one (co_return co_await), GCC 12 freed a by-value
  // executor's shared state while it was still owned (ASan, heap-use-after-free); this
  // returns the operation's awaitable instead.
  using R = std::invoke_result_t<F>;
  return net::async_initiate<const net::use_awaitable_t<>&, void(std::exception_ptr, R)>(
      [&workers, &handoff, loop](auto handler, F fn) {
        net::post(workers, [&handoff, loop, fn = std::move(fn), handler = std::move(handler),
                            work = net::make_work_guard(loop)]() mutable {
          std::exception_ptr failed;
          R result{};
          try {
            result = fn();
          } catch (...) {
            failed = std::current_exception();
          }
          net::post(handoff, [loop, failed, result = std::move(result),
                              handler = std::move(handler), work = std::move(work)]() mutable {
            net::post(loop,
                      [failed, result = std::move(result), handler = std::move(handler)]() mutable {
                        std::move(handler)(failed, std::move(result));
                      });
          });
        });
      },
      net::use_awaitable, std::move(job));
}

}  // namespace relay::server
