// End-to-end: /password and /delete-account in the real client, typed at a terminal, against
// the real relay; and a second device whose key is still sealed with the old password.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "support/chat_driver.hpp"
#include "support/pty_process.hpp"
#include "support/temp_dir.hpp"

namespace relay::test {
namespace {

const std::string old_password = "alice-Pw-7f3e9c21";
const std::string new_password = "alice-New-Pw-0b8d44e2";
const std::string bob_password = "bob-Pw-51d0aa86";

class E2eAccount : public ::testing::Test {
 protected:
  void SetUp() override { relay_ = start_relay(dir_.path() / "relay.db"); }

  std::unique_ptr<pty_process> client(const std::string& home) {
    return start_client(dir_, relay_.port, home);
  }
  /// The data directory of `user` under the client home `home`.
  std::filesystem::path user_dir(const std::string& home, const std::string& user) const {
    return dir_.path() / home / "relays" / ("127.0.0.1_" + std::to_string(relay_.port)) / user;
  }

  temp_dir dir_;
  relay_process relay_;
};

TEST_F(E2eAccount, APasswordChangedInTheChatIsNeverShownAndSignsInOnEveryDevice) {
  auto pair = sign_up_pair(dir_, relay_.port, {"alice", old_password}, {"bob", bob_password});
  ASSERT_FALSE(pair.second_key.empty());
  auto& alice = *pair.first;
  // alice's laptop: the same key, sealed with the same (old) password.
  for (const char* device : {"alice-laptop", "alice-tablet"}) {
    std::filesystem::copy(dir_.path() / "alice", dir_.path() / device,
                          std::filesystem::copy_options::recursive);
  }

  // Two new passwords that differ change nothing, and nothing is sent.
  ASSERT_TRUE(type_password_change(alice, old_password, new_password, new_password + "x"));
  ASSERT_TRUE(saw(alice, "! the two new passwords differ: password not changed"));

  // A wrong current password is the relay's to refuse.
  ASSERT_TRUE(type_password_change(alice, "not-the-password", new_password, new_password));
  ASSERT_TRUE(saw(alice, "! wrong password: the password was not changed"));

  ASSERT_TRUE(type_password_change(alice, old_password, new_password, new_password));
  ASSERT_TRUE(saw(alice, "* password changed: this device's key is sealed with the new one."));
  ASSERT_TRUE(saw(*relay_.proc, "user alice changed their password"));
  // Still in the chat, on the same connection.
  alice.send_line("bob:still here");
  ASSERT_TRUE(saw(*pair.second, "alice: still here"));
  alice.send_line("/quit");
  EXPECT_TRUE(exited_with(alice, 0));
  for (const std::string& secret : {old_password, new_password, new_password + "x"}) {
    EXPECT_TRUE(never_printed(alice, secret)) << secret;
    EXPECT_TRUE(never_printed(*relay_.proc, secret)) << secret;
  }
  EXPECT_TRUE(never_printed(alice, "not-the-password"));

  // This device: the new password opens the key and signs in, with the same key.
  auto again = client("alice");
  EXPECT_EQ(sign_in(*again, "alice", new_password), pair.first_key);
  again->send_line("/quit");
  EXPECT_TRUE(exited_with(*again, 0));
  auto stale = client("alice-old");
  ASSERT_TRUE(reach_sign_up_offer(*stale, "alice", old_password));  // a new device, old password
  stale->send_line("n");

  // The laptop: its key opens only with the old password, and the relay takes only the new.
  auto laptop = client("alice-laptop");
  ASSERT_TRUE(type_credentials(*laptop, "alice", new_password));
  ASSERT_TRUE(saw(*laptop, "Changed it on another device? Then type the OLD one here"));
  ASSERT_TRUE(type_password(*laptop, "a typo of the old one"));  // a typo between: still found
  ASSERT_TRUE(saw(*laptop, "type it again"));
  ASSERT_TRUE(type_password(*laptop, old_password));
  ASSERT_TRUE(saw(*laptop,
                  "* signed in with the new password; alice's key on this device, "
                  "sealed with the old"));
  ASSERT_TRUE(saw(*laptop, "signed in as alice (key " + pair.first_key));
  laptop->send_line("/quit");
  EXPECT_TRUE(exited_with(*laptop, 0));
  // Sealed with the new one now: it opens at the first try.
  auto laptop_again = client("alice-laptop");
  EXPECT_EQ(sign_in(*laptop_again, "alice", new_password), pair.first_key);
  EXPECT_TRUE(never_printed(*laptop_again, "does not unlock"));

  // The tablet, with the old password alone: it opens the key there, and the relay refuses
  // it. The client says what that means rather than only offering a new account.
  auto tablet = client("alice-tablet");
  ASSERT_TRUE(type_credentials(*tablet, "alice", old_password));
  EXPECT_TRUE(saw(*tablet, "sign-in failed: invalid credentials"));
  EXPECT_TRUE(saw(*tablet, "This password opens alice's key on this device, so it was alice's"));
  EXPECT_TRUE(saw(*tablet, "Sign in with the new password"));
}

TEST_F(E2eAccount, ADeletedAccountEndsTheClientRemovesItsKeyAndFreesTheName) {
  auto pair = sign_up_pair(dir_, relay_.port, {"alice", old_password}, {"bob", bob_password});
  ASSERT_FALSE(pair.second_key.empty());
  auto& alice = *pair.first;
  const auto key_file = user_dir("alice", "alice") / "identity.key";
  ASSERT_TRUE(std::filesystem::exists(key_file));

  // 60 columns: the prompt used to be drawn only on a row of 135 or more, and a person typed
  // chat lines into it as the password (review 14). What is asked is said above it.
  alice.resize(60);
  alice.send_line("/delete-account");
  ASSERT_TRUE(saw(alice, "* to delete the account alice for good,"));
  ASSERT_TRUE(saw(alice, "password: "));  // drawn now, before anything is typed
  alice.send("\x03");                     // Ctrl-C: kept
  ASSERT_TRUE(saw(alice, "* nothing deleted"));
  alice.send_line("/delete-account");
  ASSERT_TRUE(saw(alice, "* to delete the account alice"));
  ASSERT_TRUE(saw(alice, "password: "));
  alice.send_line("not-the-password");
  ASSERT_TRUE(saw(alice, "! wrong password: the account was not deleted"));
  alice.send_line("/delete-account");
  ASSERT_TRUE(saw(alice, "* to delete the account alice"));
  ASSERT_TRUE(saw(alice, "password: "));
  alice.send_line(old_password);
  ASSERT_TRUE(saw(alice, "* your account alice was deleted from the relay;"));
  ASSERT_TRUE(saw(alice, "its key on this device was removed"));
  EXPECT_TRUE(exited_with(alice, 0));
  EXPECT_TRUE(saw(*pair.second, "* alice left"));
  EXPECT_TRUE(saw(*relay_.proc, "user alice deleted their account"));
  EXPECT_FALSE(std::filesystem::exists(key_file));
  EXPECT_TRUE(never_printed(alice, old_password));
  EXPECT_TRUE(never_printed(alice, "not-the-password"));

  // The name is free: anyone may sign up with it (here, alice again, with a new key). It is
  // not offered as the name last used.
  auto fresh = client("alice");
  const std::string key = sign_up(*fresh, "alice", new_password);
  EXPECT_FALSE(key.empty());
  EXPECT_TRUE(never_printed(*fresh, "user name [alice]"));
  EXPECT_NE(key, pair.first_key);
}

// Review 13: three mistyped current passwords at /password ended the chat (exit 1), the
// relay having closed the connection as protocol.md 5.15 says. The second warns, and after
// the third the client signs in again and the chat goes on.
TEST_F(E2eAccount, ThreeWrongCurrentPasswordsAtPasswordSignInAgainAndTheChatGoesOn) {
  auto pair = sign_up_pair(dir_, relay_.port, {"alice", old_password}, {"bob", bob_password});
  ASSERT_FALSE(pair.second_key.empty());
  auto& alice = *pair.first;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(type_password_change(alice, "not-the-password", new_password, new_password));
    ASSERT_TRUE(saw(alice, "! wrong password: the password was not changed")) << i;
    if (i == 2) {
      EXPECT_TRUE(saw(alice,
                      "(a third wrong password closes this connection to the relay; the chat "
                      "then signs in again)"));
    }
  }
  ASSERT_TRUE(saw(alice,
                  "the relay closed the connection: too many failed attempts on this "
                  "connection"));
  ASSERT_TRUE(saw(alice, "* reconnected to the relay"));
  EXPECT_TRUE(never_printed(alice, "may or may not"));  // nothing was changed, and it knows
  alice.send_line("bob:still here");
  ASSERT_TRUE(saw(*pair.second, "alice: still here"));
  alice.send_line("/quit");
  EXPECT_TRUE(exited_with(alice, 0));
  auto again = client("alice");
  EXPECT_EQ(sign_in(*again, "alice", old_password), pair.first_key);  // the old one still
}

// From a black-box review: the relay ended the chat (a kick) while a password prompt was up;
// the client exited, and the password typed next went to the shell, on screen and into its
// history. The prompt now stays until Enter or Ctrl-C.
TEST_F(E2eAccount, APasswordPromptOutlivesTheChatUntilEnterSoNothingTypedReachesTheShell) {
  auto pair = sign_up_pair(dir_, relay_.port, {"alice", old_password}, {"bob", bob_password});
  ASSERT_FALSE(pair.second_key.empty());
  auto& alice = *pair.first;
  alice.send_line("/password");
  ASSERT_TRUE(saw(alice, "current password: "));
  relay_.proc->send_line("kick alice");
  ASSERT_TRUE(saw(alice, "the relay closed the connection: kicked by the operator"));
  ASSERT_TRUE(saw(alice,
                  "* the chat has ended: press Enter (or Ctrl-C) to leave; nothing typed "
                  "at this prompt is used"));
  EXPECT_FALSE(alice.wait_exit(std::chrono::milliseconds(500)).has_value());
  alice.send_line(old_password);
  EXPECT_TRUE(exited_with(alice, 1));
  EXPECT_TRUE(never_printed(alice, old_password));
  EXPECT_TRUE(never_printed(*relay_.proc, "password change"));  // nothing was sent
}

}  // namespace
}  // namespace relay::test
