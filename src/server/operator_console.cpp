// Console thread: poll stdin, parse, post to the io thread, wait for the answer.
#include "relay/server/operator_console.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "relay/console/command.hpp"
#include "relay/console/layout.hpp"
#include "relay/server/relay_server.hpp"
#include "relay/term/terminal.hpp"
#include "relay/util/line_reader.hpp"
#include "relay/util/log.hpp"
#include "relay/util/thread_name.hpp"

namespace relay::server {

namespace {

/// Whether two descriptors are the same terminal (stderr and stdout both on the console's).
bool same_terminal(int a, int b) {
  struct stat sa {
  }, sb{};
  return ::isatty(a) && ::isatty(b) && ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 &&
         sa.st_rdev == sb.st_rdev;
}

}  // namespace

operator_console::operator_console(net::io_context& io, relay_server& relay, int in_fd,
                                   std::FILE* out)
    : io_(io), relay_(relay), in_fd_(in_fd), out_(out) {
  // Standard input is /dev/null (a service manager's default, or `<&-`): there will never
  // be a console, and "console ready" then "console closed" at once contradicted itself.
  if (struct stat in{}, null{}; ::fstat(in_fd, &in) == 0 && S_ISCHR(in.st_mode) &&
                                ::stat("/dev/null", &null) == 0 && in.st_rdev == null.st_rdev) {
    std::fprintf(out_,
                 "console: none (standard input is /dev/null, as under a service manager); "
                 "stop the relay with SIGTERM\n");
    std::fflush(out_);
    return;
  }
  // Started in the background (`node -s &`): reading the terminal, or setting its modes,
  // would stop the whole relay (SIGTTIN, SIGTTOU) until `fg`. It serves without a console
  // until `fg` makes it the terminal's foreground job (a review typed commands after `fg`
  // that went nowhere).
  if (::isatty(in_fd) && ::tcgetpgrp(in_fd) != ::getpgrp()) {
    std::fprintf(out_,
                 "console: none, the relay runs in the background (`fg` gives it its console; "
                 "or stop it with SIGTERM)\n");
    std::fflush(out_);
    thread_ = std::thread([this] {
      util::name_this_thread(util::console_thread_name);
      while (!stop_) {
        const pid_t foreground = ::tcgetpgrp(in_fd_);
        if (foreground == ::getpgrp()) {
          open();
          run();
          return;
        }
        if (foreground < 0) return;  // the terminal went away
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
    return;
  }
  open();
  thread_ = std::thread([this] { run(); });
}

void operator_console::open() {
  std::fprintf(out_, "console ready: type help for commands\n");
  std::fflush(out_);
  const int out_fd = ::fileno(out_);
  if (term::interactive_terminal_available(in_fd_, out_fd)) {
    try {
      std::fflush(out_);
      // Ctrl-C drops a half-typed command, as a shell does; on an empty line it stops the
      // relay (SIGINT), as it always has.
      term_ = std::make_shared<term::interactive_terminal>(
          in_fd_, out_fd, "relay> ", term::interactive_terminal::ctrl_c::line_or_signal);
      // A shell habit must not leave the relay without its console: `quit` stops the relay.
      term_->ignore_eof_key(
          "console: Ctrl-D does not close the console here; quit (or Ctrl-C on an empty line) "
          "stops the relay");
      term_->ignore_suspend_key();  // Ctrl-Z would stop the relay for everyone
      // Tab completes commands (`ki` -> `kick `) and account names (`ban al` -> `ban alice `).
      std::vector<std::string> words;
      for (const auto& c : console::commands()) words.emplace_back(c.name);
      term_->set_commands(std::move(words));
      term_->set_bare_commands(true);
      term_->set_candidate_source([this] { return names_to_complete(); });
      if (same_terminal(STDERR_FILENO, out_fd)) {
        log::set_writer(
            [t = term_](std::string_view lines) { t->print(lines, console::log_hang(lines)); });
      }
    } catch (const std::exception& e) {
      std::fprintf(out_, "console: no line editor (%s); reading plain lines\n", e.what());
      term_.reset();
    }
  }
}

operator_console::~operator_console() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  release_terminal();
}

void operator_console::release_terminal() {
  if (!term_) return;
  log::set_writer({});
  term_.reset();
}

std::vector<std::string> operator_console::names_to_complete() {
  auto names = std::make_shared<std::promise<std::vector<std::string>>>();
  auto future = names->get_future();
  relay_.account_names([names](std::vector<std::string> list) { names->set_value(list); });
  if (future.wait_for(std::chrono::milliseconds(300)) == std::future_status::ready) {
    last_names_ = future.get();
  }
  return last_names_;
}

void operator_console::run() {
  util::name_this_thread(util::console_thread_name);
  if (term_) {
    while (auto line = term_->next_line(&stop_)) {
      if (!handle(*line)) return;  // quit: the relay is stopping, nothing more to read
    }
  } else {
    line_reader lines(in_fd_, console::max_line + 1);
    while (auto line = lines.next(&stop_)) {
      if (!handle(*line)) return;
    }
  }
  // End of input (Ctrl-D, </dev/null, a service manager): the relay keeps running without
  // its console. Said, so an operator who pressed Ctrl-D knows how to stop it now.
  if (!stop_) {
    release_terminal();
    emit(
        "console closed (end of input); the relay keeps running: stop it with Ctrl-C or "
        "SIGTERM\n");
  }
}

void operator_console::emit(std::string_view text) {
  if (term_) {
    term_->print(text, console::answer_hang(text));
    return;
  }
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

bool operator_console::handle(const std::string& typed) {
  // One command pasted with the line break after it (a triple-click copy carries one): the
  // break is dropped and the command runs. A break before more text is refused below.
  std::string_view line = typed;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  auto cmd = console::parse_command(line);
  if (!cmd) {
    if (cmd.error() == console::command_errc::empty) return true;
    // A known command used wrongly gets its own usage line; anything else, one line that
    // points at `help` (the whole list after every typo buries the log).
    const bool misused = cmd.error() == console::command_errc::too_few_args ||
                         cmd.error() == console::command_errc::too_many_args;
    std::string_view word = line;
    word.remove_prefix(std::min(word.size(), word.find_first_not_of(" \t")));
    word = word.substr(0, word.find_first_of(" \t"));
    const console::command_spec* spec = misused ? console::find_command(word) : nullptr;
    if (spec != nullptr) {
      emit("console: " + cmd.error().message() + "; usage: " + std::string(spec->usage) + "\n");
    } else if (cmd.error() == console::command_errc::unknown_command) {
      emit("console: unknown command '" + std::string(word) + "' (try 'help')\n");
    } else {
      std::string text = cmd.error().message();
      if (text.find("'help'") == std::string::npos) text += " (try 'help')";
      emit("console: " + text + "\n");
    }
    return true;
  }
  auto answer = std::make_shared<std::promise<std::string>>();
  auto future = answer->get_future();
  net::post(io_, [this, c = *cmd, answer] {
    relay_.run_command(c.name, c.args, [answer](std::string text) { answer->set_value(text); });
  });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    emit("console: the relay did not answer within 5 s\n");
  } else {
    emit(future.get());
  }
  return cmd->name != "quit";
}

}  // namespace relay::server
