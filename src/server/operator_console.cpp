// Console thread: poll stdin, parse, post to the io thread, wait for the answer.
#include "relay/server/operator_console.hpp"

#include <chrono>
#include <future>
#include <string>

#include "relay/console/command.hpp"
#include "relay/server/relay_server.hpp"
#include "relay/util/line_reader.hpp"
#include "relay/util/thread_name.hpp"

namespace relay::server {

operator_console::operator_console(net::io_context& io, relay_server& relay, int in_fd,
                                   std::FILE* out)
    : io_(io), relay_(relay), in_fd_(in_fd), out_(out), thread_([this] { run(); }) {}

operator_console::~operator_console() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void operator_console::run() {
  util::name_this_thread(util::console_thread_name);
  line_reader lines(in_fd_, console::max_line + 1);
  while (auto line = lines.next(&stop_)) {
    if (!handle(*line)) return;  // quit: the relay is stopping, nothing more to read
  }
  // End of input (Ctrl-D, </dev/null, a service manager): the relay keeps running without
  // its console. Said, so an operator who pressed Ctrl-D knows how to stop it now.
  if (!stop_) {
    std::fprintf(out_,
                 "console closed (end of input); the relay keeps running: stop it with "
                 "Ctrl-C or SIGTERM\n");
    std::fflush(out_);
  }
}

bool operator_console::handle(const std::string& line) {
  auto cmd = console::parse_command(line);
  if (!cmd) {
    if (cmd.error() == console::command_errc::empty) return true;
    // A known command used wrongly gets its own usage line; anything else, the whole list.
    const bool misused = cmd.error() == console::command_errc::too_few_args ||
                         cmd.error() == console::command_errc::too_many_args;
    std::string_view word = line;
    word.remove_prefix(std::min(word.size(), word.find_first_not_of(" \t")));
    word = word.substr(0, word.find_first_of(" \t"));
    const console::command_spec* spec = misused ? console::find_command(word) : nullptr;
    if (spec != nullptr) {
      std::fprintf(out_, "console: %s; usage: %.*s\n", cmd.error().message().c_str(),
                   static_cast<int>(spec->usage.size()), spec->usage.data());
    } else {
      std::fprintf(out_, "console: %s\n%s", cmd.error().message().c_str(),
                   console::help_text().c_str());
    }
    std::fflush(out_);
    return true;
  }
  auto answer = std::make_shared<std::promise<std::string>>();
  auto future = answer->get_future();
  net::post(io_, [this, c = *cmd, answer] {
    relay_.run_command(c.name, c.args, [answer](std::string text) { answer->set_value(text); });
  });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    std::fputs("console: the relay did not answer within 5 s\n", out_);
  } else {
    std::fputs(future.get().c_str(), out_);
  }
  std::fflush(out_);
  return cmd->name != "quit";
}

}  // namespace relay::server
