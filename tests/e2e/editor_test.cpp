// End-to-end: two real clients in tmux, a real terminal emulator, read back with capture-pane:
// a half-typed line survives an incoming message intact and is then sent whole; Tab completion,
// history and colours as a person sees them.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/pty_process.hpp"
#include "support/temp_dir.hpp"

namespace relay::test {
namespace {

using namespace std::chrono_literals;

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Runs a shell command; its stdout.
std::string run(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    ::pclose(p);
  }
  return out;
}

bool have_tmux() { return std::system("tmux -V >/dev/null 2>&1") == 0; }

/// A tmux server of our own (-L: a private socket), one session per client.
class tmux_server {
 public:
  tmux_server() {
    static std::atomic<int> counter{0};
    socket_ = "relaychat-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  }
  ~tmux_server() { run(tmux() + " kill-server >/dev/null 2>&1"); }

  std::string tmux() const { return "env TERM=xterm tmux -L " + socket_; }

  void start(const std::string& session, const std::string& command) {
    run(tmux() + " new-session -d -s " + session + " -x 120 -y 40 " + quoted(command));
  }
  /// Types `text` literally (no key names).
  void type(const std::string& session, const std::string& text) {
    run(tmux() + " send-keys -t " + session + " -l " + quoted(text));
  }
  /// Presses named keys: Enter, Tab, Up...
  void keys(const std::string& session, const std::string& names) {
    run(tmux() + " send-keys -t " + session + " " + names);
  }
  /// The visible screen as text (-e: with colour escape sequences).
  std::string screen(const std::string& session, bool escapes = false) {
    return run(tmux() + " capture-pane -p " + (escapes ? "-e " : "") + "-t " + session);
  }
  int cursor_x(const std::string& session) {
    return std::stoi("0" + run(tmux() + " display-message -p -t " + session + " '#{cursor_x}'"));
  }
  /// The last non-empty row of the screen (the input line).
  std::string input_row(const std::string& session) {
    auto s = screen(session);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
  }

  /// Waits until `pred(screen)` holds; the last screen seen goes to `last`.
  template <class Pred>
  bool wait(const std::string& session, Pred pred, std::string& last,
            std::chrono::milliseconds timeout = 10s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (true) {
      last = screen(session);
      if (pred(last)) return true;
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(50ms);
    }
  }
  ::testing::AssertionResult shows(const std::string& session, const std::string& text,
                                   int times = 1) {
    std::string last;
    auto count = [&](const std::string& s) {
      int n = 0;
      for (auto at = s.find(text); at != std::string::npos; at = s.find(text, at + 1)) ++n;
      return n;
    };
    if (wait(
            session, [&](const std::string& s) { return count(s) >= times; }, last))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << session << " never showed '" << text << "' (x" << times << "); screen:\n"
           << last;
  }
  ::testing::AssertionResult input_is(const std::string& session, const std::string& row) {
    std::string last;
    auto ok = wait(
        session, [&](const std::string&) { return input_row(session) == row; }, last);
    if (ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << session << ": input row is '" << input_row(session)
                                         << "', expected '" << row << "'; screen:\n"
                                         << last;
  }

 private:
  std::string socket_;
};

class EditorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_tmux()) GTEST_SKIP() << "tmux is not installed";
    relay_ = start_relay(dir_.path() / "relay.db");
  }

  /// Starts `name`'s client in its own tmux session, signing up with a password file (and
  /// given the relay's key, so that it does not ask whether to trust it).
  void start_client(const std::string& name, bool colour = false) {
    const std::string pw = dir_.file(name + ".pw");
    std::ofstream(pw) << name << "-password-1\n";
    ::chmod(pw.c_str(), 0600);
    std::string env = "env -u NO_COLOR HOME=" + quoted(dir_.path().string()) +
                      " XDG_DATA_HOME=" + quoted(dir_.file("xdg"));
    if (!colour) env += " NO_COLOR=1";
    tmux_.start(name, env + " " + RELAY_NODE_BINARY + " --port " + std::to_string(relay_.port) +
                          " --home " + quoted(dir_.file(name)) + " --user " + name +
                          " --password-file " + quoted(pw) + " --sign-up --relay-key " +
                          relay_.fingerprint);
  }

  temp_dir dir_;
  relay_process relay_;
  tmux_server tmux_;
};

TEST_F(EditorTest, HalfTypedLineSurvivesAnIncomingMessageAndIsSentWhole) {
  start_client("alice");
  ASSERT_TRUE(tmux_.shows("alice", "nobody else is online"));
  start_client("bob");
  ASSERT_TRUE(tmux_.shows("bob", "online: alice"));
  ASSERT_TRUE(tmux_.shows("alice", "bob joined"));

  tmux_.type("alice", "bob:half typ");
  ASSERT_TRUE(tmux_.input_is("alice", "alice> bob:half typ"));
  tmux_.type("bob", "alice:incoming while you type");
  tmux_.keys("bob", "Enter");
  ASSERT_TRUE(tmux_.shows("alice", "bob: incoming while you type"));
  // The message is above, the half-typed line intact below it, the cursor at its end.
  EXPECT_TRUE(tmux_.input_is("alice", "alice> bob:half typ"));
  const std::string screen = tmux_.screen("alice");
  EXPECT_LT(screen.find("bob: incoming while you type"), screen.rfind("alice> bob:half typ"))
      << screen;
  EXPECT_EQ(tmux_.cursor_x("alice"), static_cast<int>(std::string("alice> bob:half typ").size()));

  tmux_.type("alice", "ed, then sent");
  tmux_.keys("alice", "Enter");
  EXPECT_TRUE(tmux_.shows("bob", "alice: half typed, then sent"));
}

TEST_F(EditorTest, TabCompletesNamesAndUpRecallsHistory) {
  start_client("alice");
  ASSERT_TRUE(tmux_.shows("alice", "nobody else is online"));
  start_client("bob");
  ASSERT_TRUE(tmux_.shows("alice", "bob joined"));

  tmux_.type("alice", "bo");
  tmux_.keys("alice", "Tab");
  ASSERT_TRUE(tmux_.input_is("alice", "alice> bob:"));
  tmux_.type("alice", "completed");
  tmux_.keys("alice", "Enter");
  ASSERT_TRUE(tmux_.shows("bob", "alice: completed"));
  tmux_.type("alice", "bob:second");
  tmux_.keys("alice", "Enter");
  ASSERT_TRUE(tmux_.shows("bob", "alice: second"));

  tmux_.keys("alice", "Up");
  ASSERT_TRUE(tmux_.input_is("alice", "alice> bob:second"));
  tmux_.keys("alice", "Up");
  ASSERT_TRUE(tmux_.input_is("alice", "alice> bob:completed"));
  tmux_.keys("alice", "Enter");
  EXPECT_TRUE(tmux_.shows("bob", "alice: completed", 2));
}

TEST_F(EditorTest, ColoursOnATerminalWithoutNoColor) {
  start_client("alice", true);
  ASSERT_TRUE(tmux_.shows("alice", "nobody else is online"));
  start_client("bob", true);
  ASSERT_TRUE(tmux_.shows("alice", "bob joined"));
  // Typed once bob is signed in: keys typed before are dropped (they may be a password).
  ASSERT_TRUE(tmux_.shows("bob", "online: alice"));
  tmux_.type("bob", "alice:in colour");
  tmux_.keys("bob", "Enter");
  ASSERT_TRUE(tmux_.shows("alice", "in colour"));
  // bob's stable colour is magenta (SGR 35, see ui_test); the timestamp is there too.
  const std::string screen = tmux_.screen("alice", true);
  EXPECT_NE(screen.find("\x1b[35mbob"), std::string::npos) << screen;
  EXPECT_TRUE(std::regex_search(tmux_.screen("alice"), std::regex("\\d\\d:\\d\\d bob: in colour")))
      << tmux_.screen("alice");
}

}  // namespace
}  // namespace relay::test
