// End-to-end: the operator types kick, ban, bans, unban and help on the real relay's console
// (a pseudo-terminal) while real clients in their own pseudo-terminals show what they are told.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>

#include "support/chat_driver.hpp"
#include "support/pty_process.hpp"
#include "support/temp_dir.hpp"

namespace relay::test {
namespace {

const std::string alice_password = "alice-Pw-0c41d7e2";
const std::string bob_password = "bob-Pw-9a3f1b65";

class ConsoleE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { relay_ = start_relay(dir_.path() / "relay.db"); }

  /// Types `line` on the relay's console.
  void type(const std::string& line) { relay_.proc->send_line(line); }

  std::string audit_log() const {
    std::ifstream in(dir_.path() / "relay.audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  temp_dir dir_;
  relay_process relay_;
};

TEST_F(ConsoleE2eTest, KickShowsTheReasonOnTheKickedUsersScreen) {
  // start_relay() read up to "console ready"; the audit log's path is printed before it.
  EXPECT_NE(
      relay_.proc->transcript().find("audit log: " + (dir_.path() / "relay.audit.log").string()),
      std::string::npos)
      << relay_.proc->transcript();
  auto [alice, bob, alice_key, bob_key] =
      sign_up_pair(dir_, relay_.port, {"alice", alice_password}, {"bob", bob_password});
  ASSERT_FALSE(alice_key.empty());
  ASSERT_FALSE(bob_key.empty());
  ASSERT_TRUE(saw(*alice, "* bob joined"));

  bob->send("alice:half a sentence");  // typed, not sent, when the kick comes
  ASSERT_TRUE(saw(*bob, "half a sentence"));
  type("kick BOB being rude");  // names are lowered, as the client lowers them
  EXPECT_TRUE(saw(*relay_.proc, "kicked bob"));
  EXPECT_TRUE(saw(*bob, "the relay closed the connection: kicked by the operator: being rude"));
  EXPECT_TRUE(saw(*bob, "! not sent (you were still typing it): \"alice:half a sentence\""));
  EXPECT_TRUE(exited_with(*bob, 1));
  EXPECT_TRUE(saw(*alice, "* bob left"));
  EXPECT_TRUE(relay_.proc->running());
  EXPECT_NE(audit_log().find(" kick bob \"being rude\" => ok \"kicked bob\"\n"), std::string::npos)
      << audit_log();
}

TEST_F(ConsoleE2eTest, DeleteAsksThenRemovesTheAccountAndANewOwnerIsAKeyChange) {
  auto [alice, bob, alice_key, bob_key] =
      sign_up_pair(dir_, relay_.port, {"alice", alice_password}, {"bob", bob_password});
  ASSERT_FALSE(alice_key.empty());
  ASSERT_FALSE(bob_key.empty());
  ASSERT_TRUE(saw(*alice, "* bob joined"));

  type("delete bob");
  EXPECT_TRUE(saw(*relay_.proc, "nothing deleted yet: 'delete bob confirm' removes for good"));
  EXPECT_TRUE(saw(*relay_.proc, "  its key " + bob_key));
  EXPECT_TRUE(bob->running());
  type("delete Bob CONFIRM");
  EXPECT_TRUE(saw(*relay_.proc, "deleted the account bob"));
  EXPECT_TRUE(saw(*bob,
                  "the relay closed the connection: kicked: the operator deleted this "
                  "account"));
  EXPECT_TRUE(exited_with(*bob, 1));
  EXPECT_TRUE(saw(*alice, "* bob left"));

  // Someone else signs up as bob: alice's client pinned the old bob, and says so.
  auto other = start_client(dir_, relay_.port, "someone-else");
  const auto other_key = sign_up(*other, "bob", "another-Pw-55e1c0");
  ASSERT_FALSE(other_key.empty());
  EXPECT_NE(other_key, bob_key);
  EXPECT_TRUE(saw(*alice, "!!! WARNING: bob's identity key has CHANGED !!!"));
  EXPECT_NE(audit_log().find(" delete bob CONFIRM => ok \"deleted the account bob (key " + bob_key +
                             ")\"\n"),
            std::string::npos)
      << audit_log();
}

TEST_F(ConsoleE2eTest, BanRefusesSignInWithTheRightPasswordUntilUnban) {
  auto [alice, bob, alice_key, bob_key] =
      sign_up_pair(dir_, relay_.port, {"alice", alice_password}, {"bob", bob_password});
  ASSERT_FALSE(alice_key.empty());
  ASSERT_FALSE(bob_key.empty());
  ASSERT_TRUE(saw(*alice, "* bob joined"));

  // Online: disconnected at once, told why and for how long.
  type("ban bob 1h spamming the room");
  EXPECT_TRUE(saw(*relay_.proc, "banned bob until "));
  EXPECT_TRUE(saw(*relay_.proc, "disconnected bob"));
  EXPECT_TRUE(
      saw(*bob,
          std::regex("the relay closed the connection: you are banned until "
                     "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\(1h left\\): spamming the room"),
          "the ban notice"));
  EXPECT_TRUE(exited_with(*bob, 1));
  EXPECT_TRUE(saw(*alice, "* bob left"));

  // Signing in again with the right password: refused with the ban, no sign-up offer.
  auto again = start_client(dir_, relay_.port, "bob");
  ASSERT_TRUE(type_credentials(*again, "bob", bob_password));
  EXPECT_TRUE(saw(*again,
                  std::regex("sign-in failed: you are banned until [^\n]*: spamming the room"),
                  "the refusal"));
  EXPECT_TRUE(exited_with(*again, 2));
  EXPECT_EQ(again->transcript().find("Create a new account"), std::string::npos)
      << again->transcript();

  type("bans");
  EXPECT_TRUE(saw(*relay_.proc, std::regex("\nbob +[^\n]*spamming the room"), "bob in bans"));
  EXPECT_TRUE(saw(*relay_.proc, "1 ban in force"));

  type("ban bob -1h");  // a signed duration is a typo, not a reason for a permanent ban
  EXPECT_TRUE(saw(*relay_.proc, "bad duration: a positive whole number and a unit"));
  type("help ban");
  EXPECT_TRUE(saw(*relay_.proc, std::regex(R"(ban USER \[DURATION\] \[reason\] +keep USER out)"),
                  "help ban"));
  type("unban Bob");
  EXPECT_TRUE(saw(*relay_.proc, "unbanned bob"));
  auto third = start_client(dir_, relay_.port, "bob");
  EXPECT_EQ(sign_in(*third, "bob", bob_password), bob_key);
  EXPECT_TRUE(saw(*alice, "* bob joined"));

  const auto log = audit_log();
  EXPECT_NE(log.find(" ban bob \"1h spamming the room\" => ok \"banned bob until "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" bans => ok\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" unban bob => ok \"unbanned bob\"\n"), std::string::npos) << log;
  EXPECT_TRUE(never_printed(*relay_.proc, bob_password));
}

TEST_F(ConsoleE2eTest, HelpAndStatsOnTheConsole) {
  type("help");
  // In table order: saw() moves past each match.
  for (const char* usage :
       {"kick USER [reason]", "ban USER [DURATION] [reason]", "unban USER", "bans ", "quit "}) {
    EXPECT_TRUE(saw(*relay_.proc, usage)) << usage;
  }
  type("stats");
  EXPECT_TRUE(saw(*relay_.proc, std::regex("messages/s \\(10 s\\) +\\d+\\.\\d\\d"), "the rate"));
  type("ban nobody");
  EXPECT_TRUE(saw(*relay_.proc, "no registered user named nobody"));
  // A known command used wrongly: its usage line, not the whole list.
  type("kick");
  EXPECT_TRUE(saw(*relay_.proc, "console: too few arguments; usage: kick USER [reason]\n"));
  type("  UNBAN a b");
  EXPECT_TRUE(saw(*relay_.proc, "console: too many arguments; usage: unban USER\n"));
  type("frobnicate");
  EXPECT_TRUE(saw(*relay_.proc, "console: unknown command 'frobnicate' (try 'help')\n"));
  type("quit");
  EXPECT_TRUE(saw(*relay_.proc, "relay stopped"));
  // The list came once, for `help`; a typo gets one line, not the whole list again.
  const std::string out = relay_.proc->transcript();
  EXPECT_EQ(out.find("list these commands"), out.rfind("list these commands")) << out;
  EXPECT_TRUE(exited_with(*relay_.proc, 0));
  const auto log = audit_log();
  EXPECT_NE(log.find(" help => ok\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" ban nobody => error \"no registered user named nobody\"\n"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" quit => ok\n"), std::string::npos) << log;
}

}  // namespace
}  // namespace relay::test
