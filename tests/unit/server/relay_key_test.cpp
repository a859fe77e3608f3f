#include "relay/server/relay_key.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "relay/crypto/sodium.hpp"
#include "support/temp_dir.hpp"

namespace relay::server {
namespace {

TEST(RelayKey, DefaultPathIsBesideTheDatabase) {
  EXPECT_EQ(default_key_path("/var/lib/relay.db"), std::filesystem::path("/var/lib/relay.key"));
  EXPECT_EQ(default_key_path("relay.db"), std::filesystem::path("relay.key"));
}

TEST(RelayKey, CreatedOnceWithMode0600ThenReloaded) {
  crypto::init();
  test::temp_dir t;
  const auto path = t.path() / "relay.key";
  bool created = false;
  auto first = load_or_create_relay_key(path, created);
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_relay_key(path, created);
  EXPECT_FALSE(created);
  EXPECT_EQ(first.pub(), again.pub());
}

TEST(RelayKey, RefusesGroupReadableOrMalformedFiles) {
  crypto::init();
  test::temp_dir t;
  const auto path = t.path() / "relay.key";
  bool created = false;
  (void)load_or_create_relay_key(path, created);
  ::chmod(path.c_str(), 0644);
  EXPECT_THROW((void)load_or_create_relay_key(path, created), std::runtime_error);
  std::ofstream(path, std::ios::trunc) << "garbage\n";
  ::chmod(path.c_str(), 0600);
  EXPECT_THROW((void)load_or_create_relay_key(path, created), std::runtime_error);
}

// A directory where the key goes is said as such, not as "readable by others; chmod 600".
TEST(RelayKey, ADirectoryIsNotAKey) {
  crypto::init();
  test::temp_dir t;
  const auto path = t.path() / "relay.key";
  std::filesystem::create_directory(path);
  bool created = false;
  try {
    (void)load_or_create_relay_key(path, created);
    FAIL() << "a directory was taken as a key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a file (a directory)"), std::string::npos)
        << e.what();
  }
}

TEST(RelayKey, Parse) {
  crypto::init();
  const std::string good = "relaychat-relay-key-1\n" + std::string(64, 'a') + "\n";
  EXPECT_TRUE(parse_relay_key(good));
  for (const std::string& bad : {std::string(""), good.substr(0, good.size() - 1),
                                 "relaychat-relay-key-2\n" + std::string(64, 'a') + "\n",
                                 "relaychat-relay-key-1\n" + std::string(63, 'a') + "g\n",
                                 // all zeros: no key (found by a black-box operator review)
                                 "relaychat-relay-key-1\n" + std::string(64, '0') + "\n"}) {
    EXPECT_FALSE(parse_relay_key(bad)) << bad;
  }
}

}  // namespace
}  // namespace relay::server
