// Waiting on a forked child with a time limit, for tests that fork sessions of their own (a
// hung child must fail the test, not hang it).
#pragma once

#include <sys/types.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <thread>

namespace relay::test {

/// Polls waitpid(pid, options | WNOHANG) every 10 ms for `limit`: the child's status once it
/// exits (or, with WUNTRACED, is stopped); nullopt if it is still running at the limit.
inline std::optional<int> wait_status(pid_t pid, std::chrono::milliseconds limit, int options = 0) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG | options) == pid) return status;
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

/// wait_status(), and a child still running at the limit is killed (and reaped): nullopt.
inline std::optional<int> wait_or_kill(pid_t pid, std::chrono::milliseconds limit) {
  if (auto status = wait_status(pid, limit)) return status;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return std::nullopt;
}

/// Whether a status from wait_status() is a normal exit with code 0.
inline bool exited_cleanly(const std::optional<int>& status) {
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

}  // namespace relay::test
