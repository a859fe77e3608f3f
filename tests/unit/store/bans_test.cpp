// ban_store: ban, replace, expiry by `now`, unban, listing, unknown names, and migrating a
// version-1 database file (accounts only) to the schema with bans.
#include "relay/store/bans.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "relay/store/schema.hpp"
#include "relay/store/users.hpp"

namespace relay::store {
namespace {

namespace fs = std::filesystem;

const std::array<std::uint8_t, 32> some_key{1, 2, 3};
constexpr std::int64_t t0 = 1700000000;

class BanStore : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* n : {"alice", "bob", "carol"}) ASSERT_TRUE(users_.create(n, "h", some_key, 1));
  }
  database db_ = open(":memory:");
  user_store users_{db_};
  ban_store bans_{db_};
};

TEST_F(BanStore, NobodyIsBannedAtFirst) {
  EXPECT_FALSE(bans_.find_active("alice", t0));
  EXPECT_TRUE(bans_.list_active(t0).empty());
}

TEST_F(BanStore, PermanentBan) {
  ASSERT_TRUE(bans_.ban("bob", std::nullopt, "spamming", t0));
  const auto b = bans_.find_active("bob", t0 + std::int64_t{100} * 365 * 86400);
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, (ban_record{"bob", std::nullopt, "spamming", t0}));
  EXPECT_FALSE(bans_.find_active("alice", t0));
}

TEST_F(BanStore, TimedBanExpiresAtItsEnd) {
  ASSERT_TRUE(bans_.ban("bob", t0 + 60, "", t0));
  EXPECT_TRUE(bans_.find_active("bob", t0));
  EXPECT_TRUE(bans_.find_active("bob", t0 + 59));
  EXPECT_FALSE(bans_.find_active("bob", t0 + 60));  // `until` is the first free second
  EXPECT_FALSE(bans_.find_active("bob", t0 + 61));
  EXPECT_EQ(bans_.find_active("bob", t0)->reason, "");
}

TEST_F(BanStore, RemovingAnAccountTakesItsBanWithIt) {
  ASSERT_TRUE(bans_.ban("bob", std::nullopt, "spamming", t0));
  ASSERT_TRUE(users_.remove("bob"));
  EXPECT_FALSE(bans_.find_active("bob", t0));
  EXPECT_TRUE(bans_.list_active(t0).empty());
  // A new account of that name starts without the old one's ban.
  ASSERT_TRUE(users_.create("bob", "h", some_key, t0));
  EXPECT_FALSE(bans_.find_active("bob", t0));
}

TEST_F(BanStore, UnknownAccountCannotBeBanned) {
  const auto r = bans_.ban("mallory", std::nullopt, "x", t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), store_errc::not_found);
  EXPECT_TRUE(bans_.list_active(t0).empty());
  // Names compare exactly, as for sign-in.
  EXPECT_EQ(bans_.ban("Bob", std::nullopt, "x", t0).error(), store_errc::not_found);
}

TEST_F(BanStore, ANewBanReplacesTheOld) {
  ASSERT_TRUE(bans_.ban("bob", std::nullopt, "first", t0));
  ASSERT_TRUE(bans_.ban("bob", t0 + 10, "second", t0 + 5));
  EXPECT_EQ(*bans_.find_active("bob", t0 + 6), (ban_record{"bob", t0 + 10, "second", t0 + 5}));
  EXPECT_FALSE(bans_.find_active("bob", t0 + 10));  // shortened: no longer permanent
  EXPECT_EQ(bans_.list_active(t0 + 6).size(), 1u);
}

TEST_F(BanStore, UnbanLiftsTheBan) {
  ASSERT_TRUE(bans_.ban("bob", std::nullopt, "x", t0));
  ASSERT_TRUE(bans_.unban("bob", t0 + 1));
  EXPECT_FALSE(bans_.find_active("bob", t0 + 1));
  const auto again = bans_.unban("bob", t0 + 1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), store_errc::not_banned);
  EXPECT_EQ(bans_.unban("nobody", t0).error(), store_errc::not_banned);
}

TEST_F(BanStore, UnbanOfAnExpiredBanSaysNotBanned) {
  ASSERT_TRUE(bans_.ban("bob", t0 + 10, "x", t0));
  EXPECT_EQ(bans_.unban("bob", t0 + 10).error(), store_errc::not_banned);
  // The expired row is gone too: a later unban still says not banned, a new ban works.
  EXPECT_EQ(bans_.unban("bob", t0).error(), store_errc::not_banned);
  EXPECT_TRUE(bans_.ban("bob", t0 + 20, "y", t0 + 11));
}

TEST_F(BanStore, ListShowsOnlyActiveBansByName) {
  ASSERT_TRUE(bans_.ban("carol", std::nullopt, "c", t0));
  ASSERT_TRUE(bans_.ban("alice", t0 + 100, "a", t0));
  ASSERT_TRUE(bans_.ban("bob", t0 + 10, "b", t0));
  auto all = bans_.list_active(t0 + 5);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[1].name, "bob");
  EXPECT_EQ(all[2].name, "carol");
  all = bans_.list_active(t0 + 50);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[1].name, "carol");
  EXPECT_EQ(bans_.list_active(t0 + 1000).size(), 1u);
}

// Address blocks (console `block`): no account needed; replaced, lifted and expired as bans.
TEST(BlockStore, AddressesAreBlockedReplacedListedAndLifted) {
  database db = open(":memory:");
  block_store blocks{db};
  EXPECT_TRUE(blocks.list_active(t0).empty());
  blocks.block("203.0.113.9", t0 + 100, "flooding", t0);
  blocks.block("2001:db8:1:2::/64", std::nullopt, "", t0);
  blocks.block("203.0.113.9", t0 + 10, "flooding again", t0 + 1);  // replaces
  auto all = blocks.list_active(t0 + 5);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "2001:db8:1:2::/64");
  EXPECT_FALSE(all[0].until);
  EXPECT_EQ(all[1].name, "203.0.113.9");
  EXPECT_EQ(all[1].until, t0 + 10);
  EXPECT_EQ(all[1].reason, "flooding again");
  EXPECT_EQ(blocks.list_active(t0 + 50).size(), 1u);     // expired on its own
  EXPECT_FALSE(blocks.unblock("203.0.113.9", t0 + 50));  // no longer in force
  EXPECT_TRUE(blocks.unblock("2001:db8:1:2::/64", t0 + 50));
  EXPECT_FALSE(blocks.unblock("2001:db8:1:2::/64", t0 + 50));
  EXPECT_TRUE(blocks.list_active(t0).empty());
}

TEST_F(BanStore, ReasonsAreStoredLiterally) {
  const std::string evil = "x'); DROP TABLE bans; -- caf\xc3\xa9";
  ASSERT_TRUE(bans_.ban("alice", std::nullopt, evil, t0));
  EXPECT_EQ(bans_.find_active("alice", t0)->reason, evil);
  EXPECT_EQ(db_.integrity_check(), "ok");
}

TEST_F(BanStore, BanIsRolledBackWithEnclosingTransaction) {
  {
    transaction tx{db_};
    ASSERT_TRUE(bans_.ban("bob", std::nullopt, "x", t0));
  }
  EXPECT_FALSE(bans_.find_active("bob", t0));
}

// A directory removed afterwards, so tests can run in parallel.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "relay-bans-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

TEST(BanMigration, VersionOneFileGainsBansAndKeepsAccounts) {
  temp_dir dir;
  const auto path = dir.file("relay.db");
  {
    // What a relay from before bans left behind: schema version 1 with an account.
    auto db = database::open(path);
    db.migrate(schema().first(1));
    ASSERT_EQ(db.user_version(), 1);
    // Written as that relay did (today's user_store expects today's columns).
    statement insert{db, "INSERT INTO users (name, password_hash, created) VALUES (?1, ?2, ?3)"};
    insert.bind(1, "alice").bind(2, "hash-a").bind(3, std::int64_t{42});
    insert.step();
    EXPECT_THROW(ban_store{db}, sqlite_error);  // no bans table yet
  }
  {
    auto db = open(path);
    EXPECT_EQ(db.user_version(), static_cast<std::int64_t>(schema().size()));
    EXPECT_EQ(db.integrity_check(), "ok");
    user_store users{db};
    ban_store bans{db};
    const auto alice = users.find("alice");
    ASSERT_TRUE(alice);
    EXPECT_EQ(alice->password_hash, "hash-a");
    EXPECT_EQ(alice->created, 42);
    EXPECT_TRUE(bans.list_active(t0).empty());
    ASSERT_TRUE(bans.ban("alice", std::nullopt, "kept", t0));
  }
  // The ban survives closing and reopening the file.
  auto db = open(path);
  ban_store bans{db};
  EXPECT_EQ(bans.find_active("alice", t0 + 1)->reason, "kept");
}

TEST(BanMigration, SchemaVersionTwoHasBans) {
  EXPECT_GE(schema().size(), 2u);
  auto db = open(":memory:");
  statement s{db, "SELECT count(*) FROM bans"};
  EXPECT_EQ(s.step(), statement::step_result::row);
}

}  // namespace
}  // namespace relay::store
