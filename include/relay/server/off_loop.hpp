// Runs a slow job (Argon2, SQLite) off the event loop and resumes the awaiting coroutine on
// the loop with its result, without the loop ever waiting on the thread that ran it.
#pragma once

#include <concepts>
#include <exception>
#include <type_traits>
#include <utility>

#include "relay/net.hpp"
#include "relay/server/loop_inbox.hpp"

namespace relay::server {

/// Runs `job` on `where` (a thread pool or a strand on one), then resumes the caller, which
/// runs on the loop that `back` serves, with the job's result or rethrows its exception.
/// The result travels through `back`, never through net::post to the loop's io_context
/// (loop_inbox.hpp says why).
template <class Executor, class F>
requires std::default_initializable<std::invoke_result_t<F>> awaitable<std::invoke_result_t<F>>
off_loop(Executor where, loop_inbox& back, F job) {
  // Not a coroutine itself: written as one (co_return co_await), GCC 12 freed a by-value
  // executor's shared state while it was still owned (ASan, heap-use-after-free); this
  // returns the operation's awaitable instead.
  using R = std::invoke_result_t<F>;
  return net::async_initiate<const net::use_awaitable_t<>&, void(std::exception_ptr, R)>(
      [where, &back](auto handler, F fn) {
        net::post(where, [&back, fn = std::move(fn), handler = std::move(handler)]() mutable {
          std::exception_ptr failed;
          R result{};
          try {
            result = fn();
          } catch (...) {
            failed = std::current_exception();
          }
          back.post([failed, result = std::move(result), handler = std::move(handler)]() mutable {
            std::move(handler)(failed, std::move(result));
          });
        });
      },
      net::use_awaitable, std::move(job));
}

}  // namespace relay::server
