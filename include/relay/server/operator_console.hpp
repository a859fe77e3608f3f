// The operator console: reads lines from a file descriptor on its own thread, parses them
// against the command table and posts each command to the relay's io thread, printing the
// answer. It never reads relay state itself. On a terminal it uses the client's line editor:
// log lines (when standard error is the same terminal) and answers are printed above the
// half-typed command, which stays intact below them.
#pragma once

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "relay/net.hpp"

namespace relay::term {
class interactive_terminal;
}

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
  /// Says the console is ready and sets up the line editor on a terminal.
  void open();
  void run();
  /// Runs one line's command; false after `quit`.
  bool handle(const std::string& line);
  /// Prints an answer (whole lines).
  void emit(std::string_view text);
  /// Gives the terminal back (modes restored) and log lines their own output again.
  void release_terminal();
  /// For Tab: the accounts' names from the database thread, or the last list if it does not
  /// answer within 300 ms (a Tab must never hang the console). Console thread.
  std::vector<std::string> names_to_complete();

  net::io_context& io_;
  relay_server& relay_;
  int in_fd_;
  std::FILE* out_;
  // Shared with the logging thread's writer, which may be printing a batch right now.
  std::shared_ptr<term::interactive_terminal> term_;
  std::atomic<bool> stop_{false};
  std::vector<std::string> last_names_;  // console thread
  std::thread thread_;
};

}  // namespace relay::server
