// The operator console: reads lines from a file descriptor on its own thread, parses them
// against the command table and posts each command to the relay's io thread, printing the
// answer. It never reads relay state itself.
#pragma once

#include <atomic>
#include <cstdio>
#include <thread>

#include "relay/net.hpp"

namespace relay::server {

class relay_server;

class operator_console {
 public:
  /// Starts reading `in_fd` and writing answers to `out`.
  operator_console(net::io_context& io, relay_server& relay, int in_fd, std::FILE* out);
  /// Stops the thread (it polls, so this returns within a fraction of a second).
  ~operator_console();
  operator_console(const operator_console&) = delete;
  operator_console& operator=(const operator_console&) = delete;

 private:
  void run();
  /// Runs one line's command; false after `quit`.
  bool handle(const std::string& line);

  net::io_context& io_;
  relay_server& relay_;
  int in_fd_;
  std::FILE* out_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace relay::server
