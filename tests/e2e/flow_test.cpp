// End-to-end: the real `node` binary, the relay and each client in its own pseudo-terminal, typed
// into and read back as a person would.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>

#include "support/pty_process.hpp"
#include "support/temp_dir.hpp"

namespace relay::test {
namespace {

const std::string alice_password = "alice-Pw-7f3e9c21";
const std::string bob_password = "bob-Pw-51d0aa86";

const std::regex db_end("no registered users|\\d+ users? registered");
const std::regex active_end("nobody is online|\\d+ users? online");

::testing::AssertionResult saw(pty_process& p, std::string_view text) {
  if (p.wait_for(text)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << p.describe("never printed: " + std::string(text));
}

::testing::AssertionResult saw(pty_process& p, const std::regex& re, std::string_view what) {
  if (p.wait_for(re)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << p.describe("never printed: " + std::string(what));
}

::testing::AssertionResult exited_with(pty_process& p, int code) {
  auto status = p.wait_exit();
  if (status == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << p.describe("expected exit code " + std::to_string(code) + ", got " +
                       (status ? std::to_string(*status) : std::string("still running")));
}

::testing::AssertionResult never_printed(const pty_process& p, std::string_view secret) {
  if (p.transcript().find(secret) == std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << p.describe("printed the secret " + std::string(secret));
}

/// The first capture group of `re` in `text`, or empty.
std::string capture(const std::string& text, const std::regex& re) {
  std::smatch m;
  return std::regex_search(text, m, re) ? m[1].str() : std::string();
}

/// `text` without the relay's log lines, which interleave with console answers.
std::string without_log_lines(const std::string& text) {
  static const std::regex log_line("^\\d{4}-\\d\\d-\\d\\dT");
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (!std::regex_search(line, log_line)) out += line + "\n";
  return out;
}

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override { relay_ = start_relay(dir_.path() / "relay.db"); }

  std::unique_ptr<pty_process> client(const std::string& home) {
    auto home_dir = dir_.path() / home;
    return std::make_unique<pty_process>(
        pty_options{.argv = {RELAY_NODE_BINARY, "--port", std::to_string(relay_.port), "--home",
                             home_dir.string()},
                    .working_dir = dir_.path(),
                    // Keeps the client away from the real home even if --home were ignored.
                    .env = {{"HOME", dir_.path().string()}, {"XDG_DATA_HOME", dir_.file("xdg")}},
                    .label = home});
  }

  /// Answers the user-name and password prompts; the password only once echo is off.
  ::testing::AssertionResult type_credentials(pty_process& c, const std::string& name,
                                              const std::string& password) {
    if (auto r = saw(c, "user name: "); !r) return r;
    c.send_line(name);
    if (auto r = saw(c, "password: "); !r) return r;
    if (!c.wait_echo_off()) return ::testing::AssertionFailure() << c.describe("echo stays on");
    c.send_line(password);
    return ::testing::AssertionSuccess();
  }

  /// Signs up through the "Create a new account" dialogue; the new key fingerprint, or empty
  /// after recording a failure (at the first step that fails, so a hung client costs one wait).
  std::string sign_up(pty_process& c, const std::string& name, const std::string& password) {
    auto failed = [](const ::testing::AssertionResult& r) {
      if (!r) ADD_FAILURE() << r.message();
      return !r;
    };
    if (failed(type_credentials(c, name, password)) ||
        failed(saw(c, "sign-in failed: invalid credentials")) ||
        failed(saw(c, "Create a new account named '" + name + "'? [y/N] ")))
      return {};
    c.send_line("y");
    if (failed(saw(c, "confirm password: "))) return {};
    if (!c.wait_echo_off()) {
      ADD_FAILURE() << c.describe("echo stays on at the confirmation prompt");
      return {};
    }
    c.send_line(password);
    auto out = c.read_until(
        std::regex("account created; signed in as " + name + " \\(your key [0-9a-f ]+\\)"));
    if (!out) ADD_FAILURE() << c.describe("sign-up of " + name + " did not finish");
    return out ? capture(*out, key_re_) : std::string();
  }

  /// Signs in to an existing account; the key fingerprint, or empty after recording a failure.
  std::string sign_in(pty_process& c, const std::string& name, const std::string& password) {
    if (auto r = type_credentials(c, name, password); !r) {
      ADD_FAILURE() << r.message();
      return {};
    }
    auto out = c.read_until(std::regex("signed in as " + name + " \\(your key [0-9a-f ]+\\)|" +
                                       "Create a new account|sign-in failed"));
    if (!out || out->find("your key") == std::string::npos) {
      ADD_FAILURE() << c.describe("sign-in of " + name + " did not succeed");
      return {};
    }
    return capture(*out, key_re_);
  }

  /// Runs a console command and returns its answer without the interleaved log lines.
  std::string console(const std::string& command, const std::regex& end) {
    relay_.proc->send_line(command);
    auto out = relay_.proc->read_until(end);
    EXPECT_TRUE(out) << relay_.proc->describe("no answer to console command " + command);
    return out ? without_log_lines(*out) : std::string();
  }

  const std::regex key_re_{"your key ([0-9a-f]{4}(?: [0-9a-f]{4})*)\\)"};
  temp_dir dir_;
  relay_process relay_;
};

TEST_F(E2eTest, SignUpChatAndLeave) {
  auto alice = client("alice");
  auto alice_key = sign_up(*alice, "alice", alice_password);
  ASSERT_FALSE(alice_key.empty());
  ASSERT_TRUE(saw(*alice, "* nobody else is online"));

  auto bob = client("bob");
  auto bob_key = sign_up(*bob, "bob", bob_password);
  ASSERT_FALSE(bob_key.empty());
  EXPECT_NE(alice_key, bob_key);
  ASSERT_TRUE(saw(*bob, "* online: alice"));
  ASSERT_TRUE(saw(*alice, "* bob joined (key " + bob_key + ")"));

  alice->send_line("/who");
  ASSERT_TRUE(saw(*alice, std::regex("\n[^\n]*\\bbob\\b"), "bob in alice's /who"));

  alice->send_line("bob:see you at 10:30: ok");
  ASSERT_TRUE(saw(*bob, "alice: see you at 10:30: ok"));
  bob->send_line("alice:hello alice");
  ASSERT_TRUE(saw(*alice, "bob: hello alice"));

  alice->send_line("carol:hi");
  ASSERT_TRUE(saw(*alice, "! carol is not online: nothing sent"));
  alice->send_line("bad name:hi");
  ASSERT_TRUE(saw(*alice, "! invalid recipient 'bad name'"));
  alice->send_line(":hi");
  ASSERT_TRUE(saw(*alice, "! invalid recipient ''"));

  alice->send_line("/quit");
  EXPECT_TRUE(exited_with(*alice, 0));
  EXPECT_TRUE(saw(*bob, "* alice left"));

  EXPECT_TRUE(never_printed(*alice, alice_password));
  EXPECT_TRUE(never_printed(*bob, bob_password));
  EXPECT_TRUE(never_printed(*relay_.proc, alice_password));
  EXPECT_TRUE(never_printed(*relay_.proc, bob_password));
}

TEST_F(E2eTest, WrongPasswordDeclinedExitsTwoAndCreatesNothing) {
  auto alice = client("alice");
  ASSERT_FALSE(sign_up(*alice, "alice", alice_password).empty());
  alice->send_line("/quit");
  ASSERT_TRUE(exited_with(*alice, 0));
  auto before = console("db", db_end);

  auto intruder = client("intruder");
  ASSERT_TRUE(type_credentials(*intruder, "alice", "not-alice-password"));
  ASSERT_TRUE(saw(*intruder, "sign-in failed: invalid credentials"));
  ASSERT_TRUE(saw(*intruder, "Create a new account named 'alice'? [y/N] "));
  intruder->send_line("");  // Enter alone means the default, N
  EXPECT_TRUE(exited_with(*intruder, 2));
  EXPECT_TRUE(never_printed(*intruder, "not-alice-password"));
  EXPECT_TRUE(never_printed(*relay_.proc, "not-alice-password"));

  auto after = console("db", db_end);
  EXPECT_NE(after.find("1 user registered"), std::string::npos) << after;
  EXPECT_EQ(capture(after, std::regex("(alice[^\n]*)")),
            capture(before, std::regex("(alice[^\n]*)")));

  auto again = client("alice");
  EXPECT_FALSE(sign_in(*again, "alice", alice_password).empty());
}

TEST_F(E2eTest, SignUpUnderATakenNameIsRefusedAndKeepsTheAccount) {
  auto alice = client("alice");
  auto alice_key = sign_up(*alice, "alice", alice_password);
  alice->send_line("/quit");
  ASSERT_TRUE(exited_with(*alice, 0));

  auto intruder = client("intruder");
  ASSERT_TRUE(type_credentials(*intruder, "alice", "not-alice-password"));
  ASSERT_TRUE(saw(*intruder, "Create a new account named 'alice'? [y/N] "));
  intruder->send_line("y");
  ASSERT_TRUE(saw(*intruder, "confirm password: "));
  ASSERT_TRUE(intruder->wait_echo_off());
  intruder->send_line("not-alice-password");
  EXPECT_TRUE(saw(*intruder, "taken"));
  EXPECT_TRUE(exited_with(*intruder, 2));

  auto again = client("alice");
  EXPECT_EQ(sign_in(*again, "alice", alice_password), alice_key);
}

TEST_F(E2eTest, UnknownUserDeclinedCreatesNothing) {
  auto erin = client("erin");
  ASSERT_TRUE(type_credentials(*erin, "erin", "erin-password-1"));
  ASSERT_TRUE(saw(*erin, "sign-in failed: invalid credentials"));
  ASSERT_TRUE(saw(*erin, "Create a new account named 'erin'? [y/N] "));
  erin->send_line("n");
  EXPECT_TRUE(exited_with(*erin, 2));

  auto db = console("db", db_end);
  EXPECT_NE(db.find("no registered users"), std::string::npos) << db;
  EXPECT_EQ(db.find("erin"), std::string::npos) << db;
}

TEST_F(E2eTest, MismatchedConfirmationCreatesNothing) {
  auto dave = client("dave");
  ASSERT_TRUE(type_credentials(*dave, "dave", "dave-password-1"));
  ASSERT_TRUE(saw(*dave, "Create a new account named 'dave'? [y/N] "));
  dave->send_line("y");
  ASSERT_TRUE(saw(*dave, "confirm password: "));
  ASSERT_TRUE(dave->wait_echo_off());
  dave->send_line("dave-password-2");
  EXPECT_TRUE(saw(*dave, "do not match"));
  EXPECT_TRUE(exited_with(*dave, 2));
  EXPECT_TRUE(dave->echo_enabled()) << dave->describe("the terminal was left with echo off");
  EXPECT_TRUE(never_printed(*dave, "dave-password-"));

  auto db = console("db", db_end);
  EXPECT_EQ(db.find("dave"), std::string::npos) << db;
}

TEST_F(E2eTest, ConsoleListsAccountsAndWhoIsOnline) {
  auto alice = client("alice");
  auto bob = client("bob");
  auto alice_key = sign_up(*alice, "alice", alice_password);
  auto bob_key = sign_up(*bob, "bob", bob_password);
  ASSERT_FALSE(alice_key.empty());
  ASSERT_FALSE(bob_key.empty());

  auto db = console("db", db_end);
  EXPECT_TRUE(std::regex_search(db, std::regex("(^|\n)alice [^\n]*" + alice_key))) << db;
  EXPECT_TRUE(std::regex_search(db, std::regex("(^|\n)bob [^\n]*" + bob_key))) << db;
  EXPECT_NE(db.find("2 users registered"), std::string::npos) << db;
  EXPECT_EQ(db.find("$argon2"), std::string::npos) << db;

  auto active = console("active", active_end);
  EXPECT_TRUE(std::regex_search(active, std::regex("(^|\n)alice +127\\.0\\.0\\.1:\\d+"))) << active;
  EXPECT_TRUE(std::regex_search(active, std::regex("(^|\n)bob +127\\.0\\.0\\.1:\\d+"))) << active;

  bob->send_line("/quit");
  ASSERT_TRUE(exited_with(*bob, 0));
  ASSERT_TRUE(saw(*alice, "* bob left"));
  active = console("active", active_end);
  EXPECT_NE(active.find("alice"), std::string::npos) << active;
  EXPECT_EQ(active.find("bob"), std::string::npos) << active;

  EXPECT_EQ(relay_.proc->transcript().find("$argon2"), std::string::npos);
}

TEST_F(E2eTest, ConsoleGarbageGetsHelpAndTheRelayKeepsServing) {
  for (std::string garbage : {"foo bar", "\x1b[2J"}) {
    relay_.proc->send_line(garbage);
    ASSERT_TRUE(saw(*relay_.proc, "console: "));
    // The command list follows the error.
    for (const char* command : {"help", "db", "active", "quit"})
      ASSERT_TRUE(saw(*relay_.proc, std::regex(std::string("\n") + command + " "), command));
  }
  // The pty echoes ESC as "^["; a raw one would be the relay writing it back to the operator.
  EXPECT_EQ(relay_.proc->transcript().find("\x1b[2J"), std::string::npos)
      << relay_.proc->describe("the escape sequence reached the operator's terminal");
  EXPECT_TRUE(relay_.proc->running());

  auto alice = client("alice");
  ASSERT_FALSE(sign_up(*alice, "alice", alice_password).empty());
  auto db = console("db", db_end);
  EXPECT_NE(db.find("1 user registered"), std::string::npos) << db;
}

TEST_F(E2eTest, RelayRestartKeepsAccountsAndKeys) {
  auto alice = client("alice");
  auto bob = client("bob");
  auto alice_key = sign_up(*alice, "alice", alice_password);
  ASSERT_FALSE(alice_key.empty());
  ASSERT_FALSE(sign_up(*bob, "bob", bob_password).empty());
  ASSERT_TRUE(saw(*alice, "* bob joined"));

  relay_.proc->terminate();
  EXPECT_TRUE(saw(*relay_.proc, "relay stopped"));
  EXPECT_TRUE(exited_with(*relay_.proc, 0));
  EXPECT_TRUE(saw(*alice, "the relay closed the connection"));
  EXPECT_TRUE(saw(*bob, "the relay closed the connection"));
  EXPECT_TRUE(exited_with(*alice, 1));
  EXPECT_TRUE(exited_with(*bob, 1));
  EXPECT_TRUE(never_printed(*relay_.proc, alice_password));

  const auto fingerprint = relay_.fingerprint;
  relay_ = start_relay(dir_.path() / "relay.db", relay_.port);
  EXPECT_EQ(relay_.fingerprint, fingerprint);

  auto again = client("alice");
  EXPECT_EQ(sign_in(*again, "alice", alice_password), alice_key);
  // The relay's key is already pinned, so no first-use notice and no mismatch.
  EXPECT_EQ(again->transcript().find("pinned the key"), std::string::npos) << again->transcript();
  EXPECT_TRUE(saw(*again, "* nobody else is online"));
  EXPECT_TRUE(never_printed(*again, alice_password));
  EXPECT_TRUE(never_printed(*relay_.proc, alice_password));
}

TEST_F(E2eTest, SecondSignInReplacesTheFirst) {
  auto first = client("alice");
  auto alice_key = sign_up(*first, "alice", alice_password);
  ASSERT_FALSE(alice_key.empty());

  auto second = client("alice");
  EXPECT_EQ(sign_in(*second, "alice", alice_password), alice_key);
  EXPECT_TRUE(saw(*first, "signed in from"));
  EXPECT_TRUE(exited_with(*first, 1));

  auto active = console("active", active_end);
  EXPECT_NE(active.find("1 user online"), std::string::npos) << active;
  second->send_line("/quit");
  EXPECT_TRUE(exited_with(*second, 0));
}

TEST_F(E2eTest, CtrlDAndQuitBangLeaveCleanly) {
  auto alice = client("alice");
  auto bob = client("bob");
  ASSERT_FALSE(sign_up(*alice, "alice", alice_password).empty());
  ASSERT_FALSE(sign_up(*bob, "bob", bob_password).empty());
  ASSERT_TRUE(saw(*alice, "* bob joined"));

  alice->send_eof();
  EXPECT_TRUE(exited_with(*alice, 0));
  EXPECT_TRUE(saw(*bob, "* alice left"));
  bob->send_line("q!");
  EXPECT_TRUE(exited_with(*bob, 0));
  EXPECT_TRUE(saw(*relay_.proc, "user bob left"));
  EXPECT_TRUE(relay_.proc->running());
}

TEST_F(E2eTest, CtrlCAtThePasswordPromptRestoresEcho) {
  auto alice = client("alice");
  ASSERT_TRUE(saw(*alice, "user name: "));
  alice->send_line("alice");
  ASSERT_TRUE(saw(*alice, "password: "));
  ASSERT_TRUE(alice->wait_echo_off());
  alice->send("\x03");  // the terminal turns it into SIGINT
  EXPECT_TRUE(alice->wait_exit().has_value()) << alice->describe("Ctrl-C did not end the client");
  // Otherwise the shell the user returns to keeps echo off.
  EXPECT_TRUE(alice->echo_enabled()) << alice->describe("the terminal was left with echo off");
}

TEST_F(E2eTest, SignUpCountsAsASignInInTheDb) {
  auto alice = client("alice");
  ASSERT_FALSE(sign_up(*alice, "alice", alice_password).empty());
  auto db = console("db", db_end);
  auto row = capture(db, std::regex("(\nalice [^\n]*)"));
  ASSERT_FALSE(row.empty()) << db;
  // The relay logs "user alice signed in" after a sign-up, and alice is online.
  EXPECT_EQ(row.find("never"), std::string::npos) << "last sign-in of an online user: " << db;
}

}  // namespace
}  // namespace relay::test
