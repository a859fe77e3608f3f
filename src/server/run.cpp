// Foreground relay: io thread in main, signals and console wired to a clean shutdown.
#include "relay/server/run.hpp"

#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string_view>
#include <utility>
#include <vector>

#include "relay/console/layout.hpp"
#include "relay/crypto/keys.hpp"
#include "relay/crypto/sodium.hpp"
#include "relay/server/operator_console.hpp"
#include "relay/server/relay_server.hpp"
#include "relay/term/terminal.hpp"
#include "relay/term/wrap.hpp"
#include "relay/util/fd_limit.hpp"
#include "relay/util/log.hpp"
#include "relay/util/write_all.hpp"

namespace relay::server {

namespace {

/// Log lines on a terminal (standard error) wrap as the console wraps them, under their text
/// after the time and level, also before the console starts and after it ends: the first
/// line of every run (with the key's fingerprint) broke at column 0.
void wrap_log_on_terminal() {
  if (!term::interactive_terminal_available(STDERR_FILENO, STDERR_FILENO)) return;
  log::set_writer([](std::string_view lines) {
    if (!lines.empty() && lines.back() == '\n') lines.remove_suffix(1);
    const std::string rows =
        term::wrap(lines, term::terminal_columns(STDERR_FILENO), console::log_hang(lines)) + "\n";
    (void)util::write_all(STDERR_FILENO, rows);
  });
}

/// Descriptors the relay keeps open besides its connections: the database and its WAL and
/// shared-memory files, the audit log, the listening socket, epoll, timer and event fds, the
/// standard streams, the console's terminal and the spare one that refuses a connection when
/// all others are taken (19 at rest, measured), with room to spare.
constexpr std::size_t descriptors_besides_connections = 64;

}  // namespace

int run_relay(const relay_config& cfg) {
  crypto::init();
  wrap_log_on_terminal();
  // Only very large buffers (Argon2's 19 MiB on the worker threads) come from mmap and go back
  // to the system when freed. Chat buffers stay on the heap: with 1 KiB messages a client's
  // batch and write buffers are 16 to 100 KiB, and with thresholds of 64 and 256 KiB every
  // one was mmapped or brk'd, faulted in and handed back again: 15% of the relay's CPU in
  // page faults at 100 clients x 1 KiB (protocol-independent; docs/benchmarks.md). Freed
  // heap goes back to the system when chat is quiet (relay_server::maybe_trim_memory).
  ::mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  net::io_context io(1);
  std::unique_ptr<relay_server> relay;
  // Catch signals from the very start: a SIGTERM during start-up still ends cleanly. SIGHUP
  // (the terminal or ssh session the relay runs in went away) ends it cleanly too, clients
  // told, rather than killing it mid-write; there is no configuration file to reload. So does
  // SIGQUIT (Ctrl-\ on the console), which would otherwise end it unlogged.
  // A signal ignored when the relay was started stays ignored, as POSIX programs do: nohup
  // (and a script's background job, for SIGINT and SIGQUIT) asks for exactly that, and a
  // relay started so must outlive its terminal (review 15). SIGTERM always stops it.
  net::signal_set signals(io, SIGTERM);
  std::vector<const char*> kept_ignored;
  for (const auto& [sig, name] :
       {std::pair{SIGHUP, "SIGHUP"}, std::pair{SIGINT, "SIGINT"}, std::pair{SIGQUIT, "SIGQUIT"}}) {
    struct sigaction was {};
    if (::sigaction(sig, nullptr, &was) == 0 && was.sa_handler == SIG_IGN) {
      kept_ignored.push_back(name);
    } else {
      signals.add(sig);
    }
  }
  // SIGUSR1 and SIGUSR2 would end the relay silently, and log rotation scripts send SIGUSR1
  // to reopen logs: the relay has nothing to reopen (the audit log follows its rotation), so
  // it says so and serves on.
  net::signal_set ignored(io, SIGUSR1, SIGUSR2);
  std::function<void()> keep_ignoring = [&] {
    ignored.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      log::info() << (sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2")
                  << " ignored: nothing to reopen (the relay stops on SIGTERM, SIGINT, SIGHUP or "
                     "SIGQUIT)";
      keep_ignoring();
    });
  };
  keep_ignoring();
  // Every connection is a descriptor. Debian's soft limit (1024) is raised as far as the hard
  // one allows; a relay that still cannot have --max-connections refuses connections beyond
  // what it can hold, as it refuses those beyond the limit, rather than leave them waiting
  // unaccepted (accept() failing with EMFILE) until they give up.
  relay_config tuned = cfg;
  const std::uint64_t wanted = cfg.max_connections + descriptors_besides_connections;
  const std::uint64_t open_files = util::raise_open_file_limit(wanted);
  if (open_files < wanted) {
    // Below twice the reserve: half of what is left after 24 (the 19 the relay holds at
    // rest, and a few it opens now and then), at least one, so that a tiny limit (20) still
    // refuses rather than runs out (review 11).
    tuned.max_connections =
        open_files > 2 * descriptors_besides_connections
            ? open_files - descriptors_besides_connections
            : std::max<std::uint64_t>((open_files > 24 ? open_files - 24 : 0) / 2, 1);
  }
  try {
    relay = std::make_unique<relay_server>(io, tuned);
  } catch (const std::exception& e) {
    log::flush();  // what was logged before the failure comes first
    std::fprintf(stderr, "node: %s\n", e.what());
    return 1;
  }
  bool stopping = false;
  auto shutdown = [&](std::string_view why) {
    if (std::exchange(stopping, true)) return;
    log::info() << "shutting down (" << why << ")";
    relay->stop([&io] { io.stop(); });
  };
  relay->set_quit_handler([&] { shutdown("console: quit"); });
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    shutdown(sig == SIGINT    ? "SIGINT: Ctrl-C"
             : sig == SIGHUP  ? "SIGHUP: the terminal went away"
             : sig == SIGQUIT ? "SIGQUIT"
                              : "SIGTERM");
  });
  relay->start();
  // The log (often kept in a file: node -s 2>>relay.log) says where each run began, and with
  // which key, so that what follows can be told apart from the run before.
  // An IPv6 address in brackets, as the relay's other lines write addresses ([::1]:20001).
  const std::string listening =
      (cfg.listen.find(':') != std::string::npos ? "[" + cfg.listen + "]" : cfg.listen) + ":" +
      std::to_string(relay->port());
  log::info() << "relay started: relaychat " << RELAYCHAT_VERSION << ", listening on " << listening
              << ", key " << crypto::fingerprint(relay->static_key().pub())
              << (relay->key_created() ? " (new key created)" : "") << ", database " << cfg.db_path
              << ", audit log " << relay->audit_log_path()
              << (relay->audit_log_problem().empty()
                      ? std::string()
                      : " (cannot write it: " + relay->audit_log_problem() + ")");
  // After the start line, which begins every run's part of the log.
  if (!kept_ignored.empty()) {
    std::string names;
    for (const char* n : kept_ignored) names += (names.empty() ? "" : ", ") + std::string(n);
    log::info() << names << " ignored, as when the relay was started (nohup, a background job): "
                << (kept_ignored.front() == std::string_view("SIGHUP")
                        ? "it goes on when its terminal goes away; "
                        : "")
                << "SIGTERM stops it";
  }
  if (!relay->database_damage().empty()) {
    log::warn() << "the database " << cfg.db_path
                << " is damaged: SQLite's quick_check found: " << relay->database_damage()
                << "; sign-ins that read a damaged part fail. Stop the relay, keep a copy of the "
                   "file, and restore a backup (or recover with the sqlite3 tool's .recover)";
  }
  if (!relay->audit_log_problem().empty()) {
    log::warn() << "cannot write the audit log " << relay->audit_log_path() << ": "
                << relay->audit_log_problem() << "; console commands say so until it can be";
  }
  // Written before the lines on standard output (and the console's prompt): the log's writer
  // thread printed it between them, or over the prompt (a black-box review saw both).
  log::flush(std::chrono::milliseconds(500));
  // On a terminal, wrapped as the console wraps its answers (2 columns in), never at column
  // 0: the fingerprint is what operators copy to give their users.
  const std::size_t columns = term::interactive_terminal_available(STDOUT_FILENO, STDOUT_FILENO)
                                  ? term::terminal_columns(STDOUT_FILENO)
                                  : 0;
  auto say = [columns](const std::string& line) {
    std::fputs((term::wrap(line, columns, 2) + "\n").c_str(), stdout);
  };
  say("relaychat relay listening on " + listening);
  say("relay key fingerprint: " + crypto::fingerprint(relay->static_key().pub()) +
      (relay->key_created() ? " (new key created)" : ""));
  say("database: " + cfg.db_path);
  if (!relay->database_damage().empty()) {
    say("warning: the database is damaged (SQLite's quick_check: " + relay->database_damage() +
        "): stop the relay, keep a copy of the file, and restore a backup (or recover with "
        "the sqlite3 tool's .recover)");
  }
  // A database made before the relay created it private (or copied with wider modes).
  if (struct stat st{}; ::stat(cfg.db_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    log::warn() << "other users can read " << cfg.db_path << " (mode " << mode
                << "), which holds password hashes";
    say("warning: other users can read " + cfg.db_path + " (mode " + mode +
        "), which holds password hashes: chmod 600 " + cfg.db_path);
  }
  if (relay->audit_log_problem().empty()) {
    say("audit log: " + relay->audit_log_path());
  } else {
    // Said where the operator looks at start, not only in the log: commands still run, and
    // each answer repeats that it was not recorded until the file can be written.
    say("audit log: " + relay->audit_log_path() + " (cannot write it: " +
        relay->audit_log_problem() + "; commands will say so until it works)");
  }
  say("password hashing: Argon2id, " + std::to_string(cfg.argon2.m_cost_kib) + " KiB, " +
      std::to_string(cfg.argon2.t_cost) + (cfg.argon2.t_cost == 1 ? " pass, " : " passes, ") +
      std::to_string(cfg.argon2.parallelism) + " lane(s), on " +
      std::to_string(relay->hashing_threads()) + " thread(s)");
  if (tuned.max_connections < cfg.max_connections) {
    const std::string why = "the open-file limit is " + std::to_string(open_files) +
                            ", so at most " + std::to_string(tuned.max_connections) +
                            (tuned.max_connections == 1 ? " connection" : " connections") +
                            ", not the " + std::to_string(cfg.max_connections) +
                            " of --max-connections";
    log::warn() << why;
    say("warning: " + why +
        ": raise the hard limit (ulimit -Hn as root; LimitNOFILE= for a "
        "systemd service)");
  }
  std::fflush(stdout);                         // the console says whether it is ready
  log::flush(std::chrono::milliseconds(500));  // e.g. the warning above, before the prompt
  {
    operator_console console(io, *relay, STDIN_FILENO, stdout);
    io.run();
  }
  wrap_log_on_terminal();  // the console gave the log back: its last lines
  relay.reset();           // closes the database cleanly (WAL checkpoint on close)
  // In the log too: a log kept in a file (2>>relay.log) shows where each run ended, and
  // that it ended cleanly, before the next run's "relay started" (review 13).
  log::info() << "relay stopped";
  log::flush();  // the last log lines before the last line
  std::printf("relay stopped\n");
  return 0;
}

}  // namespace relay::server
