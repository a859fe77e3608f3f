// forkpty()-backed child process with a reader thread that collects its terminal output.
#include "support/pty_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace relay::test {

namespace {

using clock_type = std::chrono::steady_clock;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Built before fork(): other test threads may hold locks, so the child may only call
// async-signal-safe functions between fork() and execve().
std::vector<std::string> merged_environment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    auto name = entry.substr(0, entry.find('='));
    bool replaced =
        std::any_of(extra.begin(), extra.end(), [&](const auto& kv) { return kv.first == name; });
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

pty_process::pty_process(pty_options opts)
    : label_(opts.label.empty() && !opts.argv.empty() ? opts.argv.front() : opts.label) {
  if (opts.argv.empty()) throw std::invalid_argument("pty_process: empty argv");
  auto env_strings = merged_environment(opts.env);
  auto envp = pointers(env_strings);
  auto argv = pointers(opts.argv);
  std::string dir = opts.working_dir.string();

  winsize size{};
  size.ws_row = 50;
  size.ws_col = opts.columns;
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) throw std::runtime_error(errno_text("forkpty"));
  if (pid == 0) {
    if (!dir.empty() && ::chdir(dir.c_str()) != 0) ::_exit(126);
    // As a terminal's shell would start it: signals the tests' runner ignores (nohup, a
    // background job) would otherwise stay ignored in the programs under test.
    for (const int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) ::signal(sig, SIG_DFL);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  pid_ = pid;
  fd_ = master;
  ::fcntl(fd_, F_SETFD, FD_CLOEXEC);
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  reader_ = std::thread([this] { read_loop(); });
}

pty_process::~pty_process() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reap(0);
  }
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  if (reader_.joinable()) reader_.join();
  if (fd_ >= 0) ::close(fd_);
}

void pty_process::read_loop() {
  char buf[4096];
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 50);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    std::lock_guard lock(mutex_);
    if (n <= 0) {
      // Linux reports EIO on the master once every slave descriptor is closed.
      eof_ = true;
      changed_.notify_all();
      return;
    }
    for (ssize_t i = 0; i < n; ++i)
      if (buf[i] != '\r') output_.push_back(buf[i]);
    changed_.notify_all();
  }
}

void pty_process::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, 100);
        continue;
      }
      throw std::runtime_error(errno_text(("write to " + label_).c_str()));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void pty_process::send_line(std::string_view line) {
  std::string s(line);
  s.push_back('\r');
  send(s);
}

void pty_process::send_signal(int sig) {
  if (!status_ && pid_ > 0) ::kill(pid_, sig);
}

void pty_process::interrupt() { send_signal(SIGINT); }

void pty_process::resize(unsigned short columns) {
  winsize size{};
  ::ioctl(fd_, TIOCGWINSZ, &size);
  size.ws_col = columns;
  ::ioctl(fd_, TIOCSWINSZ, &size);
}

void pty_process::terminate() { send_signal(SIGTERM); }

std::optional<std::string> pty_process::wait_match(
    const std::function<std::optional<std::pair<std::size_t, std::size_t>>(const std::string&,
                                                                           std::size_t)>& find,
    std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    if (auto m = find(output_, cursor_)) {
      std::string text = output_.substr(cursor_, m->second - cursor_);
      cursor_ = m->second;
      return text;
    }
    if (eof_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (auto m = find(output_, cursor_)) {
        std::string text = output_.substr(cursor_, m->second - cursor_);
        cursor_ = m->second;
        return text;
      }
      return std::nullopt;
    }
  }
}

std::optional<std::string> pty_process::read_until(std::string_view text,
                                                   std::chrono::milliseconds timeout) {
  return wait_match(
      [text](const std::string& out,
             std::size_t from) -> std::optional<std::pair<std::size_t, std::size_t>> {
        auto at = out.find(text, from);
        if (at == std::string::npos) return std::nullopt;
        return std::pair{at, at + text.size()};
      },
      timeout);
}

std::optional<std::string> pty_process::read_until(const std::regex& re,
                                                   std::chrono::milliseconds timeout) {
  return wait_match(
      [&re](const std::string& out,
            std::size_t from) -> std::optional<std::pair<std::size_t, std::size_t>> {
        std::smatch m;
        auto begin = out.begin() + static_cast<std::ptrdiff_t>(from);
        if (!std::regex_search(begin, out.end(), m, re)) return std::nullopt;
        auto start = from + static_cast<std::size_t>(m.position(0));
        return std::pair{start, start + static_cast<std::size_t>(m.length(0))};
      },
      timeout);
}

bool pty_process::echo_enabled() const {
  // On Linux the master reports the slave's termios, which the program switches.
  termios t{};
  return ::tcgetattr(fd_, &t) != 0 || (t.c_lflag & ECHO) != 0;
}

bool pty_process::fully_quiet() const {
  termios t{};
  return ::tcgetattr(fd_, &t) == 0 && (t.c_lflag & (ECHO | ECHONL)) == 0;
}

bool pty_process::wait_echo_off(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (echo_enabled()) {
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string pty_process::transcript() const {
  std::lock_guard lock(mutex_);
  return output_;
}

std::string pty_process::unread() const {
  std::lock_guard lock(mutex_);
  return output_.substr(cursor_);
}

std::string pty_process::describe(std::string_view why) const {
  std::lock_guard lock(mutex_);
  std::string out = "[" + label_ + "] " + std::string(why) + "\n--- transcript of " + label_ +
                    " (" + std::to_string(output_.size()) + " bytes, unmatched part after >>>)\n";
  out += output_.substr(0, cursor_);
  out += ">>>";
  out += output_.substr(cursor_);
  out += "\n--- end of transcript\n";
  return out;
}

bool pty_process::reap(int flags) {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, flags);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool pty_process::running() { return !status_ && !reap(WNOHANG); }

std::optional<int> pty_process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (!status_ && !reap(WNOHANG)) {
    if (clock_type::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
  // The last output may still sit in the pty; the reader sees EOF once it has drained it.
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, clock_type::now() + 2s, [this] { return eof_; });
  return status_;
}

std::uint16_t free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) throw std::runtime_error(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    auto msg = errno_text("bind 127.0.0.1:0");
    ::close(s);
    throw std::runtime_error(msg);
  }
  ::close(s);
  return ntohs(addr.sin_port);
}

relay_process start_relay(const std::filesystem::path& db, std::uint16_t port,
                          const std::filesystem::path& node, const std::vector<std::string>& extra,
                          bool line_editor) {
  const bool pick = port == 0;
  for (int attempt = 0;; ++attempt) {
    relay_process r;
    r.port = pick ? free_port() : port;
    std::vector<std::string> argv = {node.string(), "-s",     "--db",
                                     db.string(),   "--port", std::to_string(r.port)};
    // Cheap Argon2 unless the test sets its own.
    if (std::find(extra.begin(), extra.end(), "--argon2-memory") == extra.end()) {
      for (const char* a : {"--argon2-memory", "1024", "--argon2-iterations", "1"}) {
        argv.emplace_back(a);
      }
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    r.proc =
        std::make_unique<pty_process>(pty_options{.argv = argv,
                                                  .working_dir = db.parent_path(),
                                                  .env = {{"TERM", line_editor ? "xterm" : "dumb"}},
                                                  .label = "relay:" + std::to_string(r.port)});
    static const std::regex ready("console ready|Address already in use");
    auto out = r.proc->read_until(ready);
    if (out && out->find("Address already in use") == std::string::npos) {
      std::smatch m;
      static const std::regex fp("relay key fingerprint: ([0-9a-f]{64})");
      if (std::regex_search(*out, m, fp)) r.fingerprint = m[1];
      return r;
    }
    if (out && attempt == 0) {
      r.proc->wait_exit(2s);
      // A fixed port (a restart) may still be held by the process that just exited.
      if (!pick) std::this_thread::sleep_for(200ms);
      continue;
    }
    throw std::runtime_error(r.proc->describe("the relay did not become ready"));
  }
}

}  // namespace relay::test
