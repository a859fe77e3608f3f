#include "relay/client/data_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "relay/crypto/sodium.hpp"
#include "support/temp_dir.hpp"

namespace relay::client {
namespace {

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

TEST(DataDir, HomeResolution) {
  EXPECT_EQ(default_home("/x/y"), std::filesystem::path("/x/y"));
  ::setenv("XDG_DATA_HOME", "/xdg", 1);
  EXPECT_EQ(default_home(""), std::filesystem::path("/xdg/relaychat"));
  ::unsetenv("XDG_DATA_HOME");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_home(""), std::filesystem::path("/home/u/.local/share/relaychat"));
}

TEST(DataDir, IdentityFilesArePrivate) {
  test::temp_dir t;
  data_dir d(t.path() / "home");
  EXPECT_FALSE(d.read_identity("127.0.0.1:20001", "alice"));
  const bytes content{1, 2, 3};
  d.write_identity("127.0.0.1:20001", "alice", content);
  EXPECT_EQ(*d.read_identity("127.0.0.1:20001", "alice"), content);
  EXPECT_EQ(mode_of(d.identity_path("127.0.0.1:20001", "alice")), 0600u);
  EXPECT_EQ(mode_of(t.path() / "home"), 0700u);
  // Per relay and per user.
  EXPECT_FALSE(d.read_identity("127.0.0.1:20002", "alice"));
  EXPECT_FALSE(d.read_identity("127.0.0.1:20001", "bob"));
}

// From a black-box review: a scripted sign-in that failed left an empty directory for the
// name it tried. The check that a key could be kept leaves nothing behind.
TEST(DataDir, CheckingThatAKeyCanBeKeptLeavesNoDirectoryBehind) {
  test::temp_dir t;
  std::filesystem::create_directories(t.path() / "home");
  data_dir d(t.path() / "home");
  d.check_identity_writable("127.0.0.1:20001", "newguy");
  EXPECT_TRUE(std::filesystem::is_empty(t.path() / "home"));
  // A directory there before stays, and the key is written as before.
  d.write_identity("127.0.0.1:20001", "alice", bytes{1});
  d.check_identity_writable("127.0.0.1:20001", "alice");
  EXPECT_TRUE(d.read_identity("127.0.0.1:20001", "alice"));
  d.check_identity_writable("127.0.0.1:20001", "bob");
  EXPECT_FALSE(std::filesystem::exists(d.identity_path("127.0.0.1:20001", "bob").parent_path()));
  EXPECT_TRUE(std::filesystem::exists(d.identity_path("127.0.0.1:20001", "alice")));
}

TEST(DataDir, LastUserIsPerRelayAndOnlyAValidName) {
  test::temp_dir t;
  data_dir d(t.path());
  EXPECT_EQ(d.read_last_user("a:1"), "");
  d.write_last_user("a:1", "alice");
  d.write_last_user("a:1", "bob");
  EXPECT_EQ(d.read_last_user("a:1"), "bob");
  EXPECT_EQ(d.read_last_user("b:2"), "");
  EXPECT_EQ(mode_of(t.path() / "relays" / "a_1" / "last_user"), 0600u);
  // It is printed in the prompt: anything but a valid name is ignored.
  std::ofstream(t.path() / "relays" / "a_1" / "last_user") << "\x1b[2Jevil\n";
  EXPECT_EQ(d.read_last_user("a:1"), "");
}

TEST(DataDir, RelayPins) {
  crypto::init();
  test::temp_dir t;
  data_dir d(t.path());
  auto k1 = crypto::key_pair::generate(crypto::os_random()).pub();
  auto k2 = crypto::key_pair::generate(crypto::os_random()).pub();
  EXPECT_FALSE(d.pinned_relay("a:1"));
  d.pin_relay("a:1", k1);
  d.pin_relay("b:2", k2);
  EXPECT_EQ(*d.pinned_relay("a:1"), k1);
  EXPECT_EQ(*d.pinned_relay("b:2"), k2);
  EXPECT_EQ(mode_of(d.known_relays_path()), 0600u);
}

TEST(DataDir, DamagedKnownRelaysIsAnError) {
  test::temp_dir t;
  data_dir d(t.path());
  std::ofstream(d.known_relays_path()) << "a:1 nothex\n";
  EXPECT_THROW((void)d.pinned_relay("a:1"), std::runtime_error);
  // Said the same way whatever is wrong with the line, with the reason after (a review).
  std::ofstream(d.known_relays_path()) << "# pins\na:1 " << std::string(63, 'a') << "\n";
  try {
    (void)d.pinned_relay("a:1");
    ADD_FAILURE() << "63 hex digits were taken as a key";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              d.known_relays_path().string() +
                  ":2: malformed line (the key of a:1 is not 64 hex digits)");
  }
}

// From a black-box review: a line that is not HOST:PORT KEY after the line asked for, or a
// third field on it, was accepted; protocol.md 10.2 refuses any such line.
TEST(DataDir, AnyDamagedLineOfKnownRelaysIsAnErrorWhereverItIs) {
  crypto::init();
  test::temp_dir t;
  data_dir d(t.path());
  const auto key = crypto::key_pair::generate(crypto::os_random()).pub();
  d.pin_relay("a:1", key);
  ASSERT_EQ(*d.pinned_relay("a:1"), key);
  { std::ofstream(d.known_relays_path(), std::ios::app) << "garbage\n"; }
  EXPECT_THROW((void)d.pinned_relay("a:1"), std::runtime_error);
  std::ofstream(d.known_relays_path()) << "a:1 " << to_hex(key) << " extra\n";
  try {
    (void)d.pinned_relay("a:1");
    ADD_FAILURE() << "a third field was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("known_relays:1: malformed line"), std::string::npos)
        << e.what();
  }
}

TEST(DataDir, TheFirstPinForARelayWinsAndAllAreListedInOrder) {
  crypto::init();
  test::temp_dir t;
  data_dir d(t.path());
  const auto k1 = crypto::key_pair::generate(crypto::os_random()).pub();
  const auto k2 = crypto::key_pair::generate(crypto::os_random()).pub();
  std::ofstream(d.known_relays_path())
      << "# pins\n\n   # an indented comment\n \t\na:1 " << to_hex(k1) << "\nb:2 " << to_hex(k1)
      << "\na:1 " << to_hex(k2) << "\n";
  EXPECT_EQ(*d.pinned_relay("a:1"), k1);
  const auto pins = d.relay_pins();
  ASSERT_EQ(pins.size(), 3U);
  EXPECT_EQ(pins[1].relay, "b:2");
  EXPECT_EQ(pins[1].key, k1);
}

// From a black-box review: a directory in place of `seen` or `contacts` ended the client
// with std::terminate (exit 134) after it had signed in. Reading one is now an error that
// names the file.
TEST(DataDir, AFileThatIsADirectoryIsAnErrorNamingIt) {
  test::temp_dir t;
  data_dir d(t.path());
  EXPECT_EQ(d.read_seen("a:1", "alice"), "");  // missing: nothing seen yet
  EXPECT_EQ(d.read_contacts("a:1", "alice"), "");
  std::filesystem::create_directories(d.contacts_path("a:1", "alice"));
  std::filesystem::create_directories(d.contacts_path("a:1", "alice").parent_path() / "seen");
  std::filesystem::create_directories(d.identity_path("a:1", "alice"));
  std::filesystem::create_directories(d.known_relays_path());
  for (const auto& read : std::vector<std::function<void()>>{
           [&] { (void)d.read_seen("a:1", "alice"); },
           [&] { (void)d.read_contacts("a:1", "alice"); },
           [&] { (void)d.read_identity("a:1", "alice"); }, [&] { (void)d.pinned_relay("a:1"); }}) {
    try {
      read();
      ADD_FAILURE() << "a directory was read as a file";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("Is a directory"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(t.path().string()), std::string::npos) << e.what();
    }
  }
  // A FIFO is refused at once, not waited on for a writer (a second review's finding).
  const auto sent = d.contacts_path("a:1", "alice").parent_path() / "sent";
  ASSERT_EQ(::mkfifo(sent.c_str(), 0600), 0);
  try {
    (void)d.read_sent("a:1", "alice");
    ADD_FAILURE() << "a FIFO was read";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read " + sent.string() + ": not a regular file (a FIFO, socket or device)");
  }
  EXPECT_EQ(d.read_last_user("a:1"), "");
  std::filesystem::create_directories(t.path() / "relays" / "a_1" / "last_user");
  EXPECT_EQ(d.read_last_user("a:1"), "");  // only a convenience: no error
}

// From a black-box review: files others could write (mode 0666) were used without a word,
// though whoever can write known_relays or contacts can swap the keys pinned in them.
TEST(DataDir, AFileOthersCanWriteIsRefusedNamingItsMode) {
  crypto::init();
  test::temp_dir t;
  data_dir d(t.path());
  d.pin_relay("a:1", crypto::key_pair::generate(crypto::os_random()).pub());
  d.write_contacts("a:1", "alice", "# relaychat contacts: name identity-key state\n");
  ASSERT_TRUE(d.pinned_relay("a:1"));
  for (const auto& p : {d.known_relays_path(), d.contacts_path("a:1", "alice")}) {
    for (mode_t mode : {0620, 0602, 0666}) {
      ASSERT_EQ(::chmod(p.c_str(), mode), 0);
      try {
        (void)d.pinned_relay("a:1");
        (void)d.read_contacts("a:1", "alice");
        ADD_FAILURE() << p << " was used at mode " << std::oct << mode;
      } catch (const std::runtime_error& e) {
        char text[8];
        std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
        EXPECT_NE(std::string(e.what()).find(p.string() + " can be changed by other users (mode " +
                                             text + ")"),
                  std::string::npos)
            << e.what();
      }
    }
    ASSERT_EQ(::chmod(p.c_str(), 0644), 0);  // readable is not refused
  }
  EXPECT_TRUE(d.pinned_relay("a:1"));
  EXPECT_NE(d.read_contacts("a:1", "alice"), "");
}

// ssh's rule for ~/.ssh, from a review: a file 0600 in a directory others can write can be
// renamed away and replaced by theirs, and a file another user owns is theirs to change. Up
// to the data directory itself; above it (a --home under /tmp) is the user's choice.
TEST(DataDir, ADirectoryOthersCanWriteOrAFileAnotherUserOwnsIsRefused) {
  crypto::init();
  test::temp_dir t;
  const auto root = t.path() / "home";
  data_dir d(root.string() + "/");  // "--home DIR/" is the same directory
  d.pin_relay("a:1", crypto::key_pair::generate(crypto::os_random()).pub());
  d.write_contacts("a:1", "alice", "# relaychat contacts: name identity-key state\n");
  const auto user_dir = d.contacts_path("a:1", "alice").parent_path();
  const auto expect_refused = [&](const std::function<void()>& read, const std::string& says) {
    try {
      read();
      ADD_FAILURE() << "not refused: " << says;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  const auto contacts = [&] { (void)d.read_contacts("a:1", "alice"); };
  const auto relay = [&] { (void)d.pinned_relay("a:1"); };
  for (const auto& [dir, read] :
       std::vector<std::pair<std::filesystem::path, std::function<void()>>>{
           {user_dir, contacts}, {user_dir.parent_path(), contacts}, {root, relay}}) {
    ASSERT_EQ(::chmod(dir.c_str(), 0775), 0);
    expect_refused(read, dir.string() +
                             " can be changed by other users (mode 0775): whoever "
                             "can write it can replace the files in it");
    ASSERT_EQ(::chmod(dir.c_str(), 01777), 0);  // sticky, as /tmp: only owners rename
    EXPECT_NO_THROW(read());
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  }
  ASSERT_EQ(::chmod(t.path().c_str(), 0777), 0);  // above the data directory: not ours to say
  EXPECT_NO_THROW(relay());
  EXPECT_NO_THROW(contacts());
  // A data directory reached through a symbolic link (whose own mode is always 0777) is
  // judged by the directory it leads to.
  const auto link = t.path() / "link";
  std::filesystem::create_directory_symlink(root, link);
  data_dir through(link);
  EXPECT_NO_THROW((void)through.pinned_relay("a:1"));
  EXPECT_NO_THROW((void)through.read_contacts("a:1", "alice"));
  ASSERT_EQ(::chmod(root.c_str(), 0775), 0);
  EXPECT_THROW((void)through.pinned_relay("a:1"), std::runtime_error);
  ASSERT_EQ(::chmod(root.c_str(), 0755), 0);
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file to another user needs root";
  ASSERT_EQ(::chown(d.contacts_path("a:1", "alice").c_str(), 4321, 4321), 0);
  expect_refused(contacts,
                 d.contacts_path("a:1", "alice").string() + " belongs to another user (uid 4321)");
  ASSERT_EQ(::chown(user_dir.c_str(), 4321, 4321), 0);
  expect_refused(contacts, user_dir.string() + " belongs to another user (uid 4321)");
  ASSERT_EQ(::chown(user_dir.c_str(), 0, 0), 0);  // root's own are fine, as for ssh
  ASSERT_EQ(::chown(d.contacts_path("a:1", "alice").c_str(), 0, 0), 0);
  EXPECT_NO_THROW(contacts());
}

}  // namespace
}  // namespace relay::client
