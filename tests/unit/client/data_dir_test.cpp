#include "relay/client/data_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

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
}

}  // namespace
}  // namespace relay::client
