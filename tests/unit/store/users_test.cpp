// user_store over an in-memory database: create, find, sign-in, rehash, list, count.
#include "relay/store/users.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

#include "relay/store/schema.hpp"

namespace relay::store {
namespace {

using key = std::array<std::uint8_t, 32>;

key make_key(std::uint8_t fill) {
  key k{};
  k.fill(fill);
  k[0] = 0x00;  // a leading zero byte must survive the BLOB round trip
  return k;
}

const std::string hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

class UserStore : public ::testing::Test {
 protected:
  database db_ = open(":memory:");
  user_store users_{db_};
};

TEST_F(UserStore, CreateThenFind) {
  ASSERT_TRUE(users_.create("alice", hash, make_key(0xa1), 1700000000));
  const auto r = users_.find("alice");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->name, "alice");
  EXPECT_EQ(r->password_hash, hash);
  EXPECT_EQ(r->identity_key, make_key(0xa1));
  EXPECT_EQ(r->created, 1700000000);
  EXPECT_FALSE(r->last_sign_in.has_value());
}

TEST_F(UserStore, FindMissingIsEmpty) { EXPECT_FALSE(users_.find("nobody").has_value()); }

TEST_F(UserStore, DuplicateIsNameTaken) {
  ASSERT_TRUE(users_.create("alice", hash, make_key(1), 10));
  const auto again = users_.create("alice", "other", make_key(2), 20);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), store_errc::name_taken);
  EXPECT_EQ(again.error().category().name(), std::string("store"));
  // The first account is untouched.
  EXPECT_EQ(users_.find("alice")->password_hash, hash);
  EXPECT_EQ(users_.find("alice")->identity_key, make_key(1));
  EXPECT_EQ(users_.count(), 1);
}

TEST_F(UserStore, NamesCompareExactly) {
  ASSERT_TRUE(users_.create("alice", hash, make_key(1), 10));
  EXPECT_FALSE(users_.find("Alice").has_value());
  EXPECT_FALSE(users_.find("alice ").has_value());
  EXPECT_TRUE(users_.create("Alice", hash, make_key(2), 10));
}

TEST_F(UserStore, RecordSignInUpdatesKeyAndTime) {
  ASSERT_TRUE(users_.create("bob", hash, make_key(1), 100));
  ASSERT_TRUE(users_.record_sign_in("bob", make_key(2), 200));
  const auto r = users_.find("bob");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->identity_key, make_key(2));
  EXPECT_EQ(r->last_sign_in, 200);
  EXPECT_EQ(r->created, 100);
  EXPECT_EQ(r->password_hash, hash);
}

TEST_F(UserStore, RecordSignInUnknownIsNotFound) {
  const auto r = users_.record_sign_in("ghost", make_key(1), 5);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), store_errc::not_found);
  EXPECT_EQ(users_.count(), 0);
}

TEST_F(UserStore, SetPasswordHash) {
  ASSERT_TRUE(users_.create("carol", hash, make_key(1), 1));
  ASSERT_TRUE(users_.set_password_hash("carol", "$argon2id$v=19$new"));
  EXPECT_EQ(users_.find("carol")->password_hash, "$argon2id$v=19$new");
  const auto r = users_.set_password_hash("ghost", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), store_errc::not_found);
}

TEST_F(UserStore, UpdatesGivenTheHashCheckedAgainstRefuseOnceItWasReplaced) {
  ASSERT_TRUE(users_.create("carol", hash, make_key(1), 1));
  // The hash the password was checked against is still stored: both go through.
  ASSERT_TRUE(users_.record_sign_in("carol", make_key(2), 5, hash));
  ASSERT_TRUE(users_.set_password_hash("carol", "$argon2id$v=19$new", hash));
  // A sign-in or a second change checked against the old hash changes nothing.
  const auto late_sign_in = users_.record_sign_in("carol", make_key(3), 9, hash);
  ASSERT_FALSE(late_sign_in);
  EXPECT_EQ(late_sign_in.error(), store_errc::hash_changed);
  const auto late_change = users_.set_password_hash("carol", "$argon2id$v=19$other", hash);
  ASSERT_FALSE(late_change);
  EXPECT_EQ(late_change.error(), store_errc::hash_changed);
  const auto r = users_.find("carol");
  EXPECT_EQ(r->password_hash, "$argon2id$v=19$new");
  EXPECT_EQ(r->identity_key, make_key(2));
  EXPECT_EQ(r->last_sign_in, 5);
  // Nor does a deletion.
  EXPECT_EQ(users_.remove("carol", hash).error(), store_errc::hash_changed);
  ASSERT_TRUE(users_.find("carol").has_value());
  ASSERT_TRUE(users_.remove("carol", "$argon2id$v=19$new"));
  // No account at all is still not_found, whatever hash was expected.
  EXPECT_EQ(users_.record_sign_in("ghost", make_key(1), 5, hash).error(), store_errc::not_found);
  EXPECT_EQ(users_.set_password_hash("ghost", "x", hash).error(), store_errc::not_found);
}

TEST_F(UserStore, RemoveDeletesTheAccountAndFreesTheName) {
  ASSERT_TRUE(users_.create("carol", hash, make_key(1), 1));
  ASSERT_TRUE(users_.create("dave", hash, make_key(2), 1));
  ASSERT_TRUE(users_.remove("carol"));
  EXPECT_FALSE(users_.find("carol").has_value());
  EXPECT_TRUE(users_.find("dave").has_value());  // only the one named
  EXPECT_EQ(users_.count(), 1);
  const auto again = users_.remove("carol");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), store_errc::not_found);
  EXPECT_TRUE(users_.create("carol", hash, make_key(3), 2));  // the name is free again
  EXPECT_EQ(users_.find("carol")->identity_key, make_key(3));
}

TEST_F(UserStore, ListIsOrderedByName) {
  for (const char* n : {"mallory", "alice", "zed", "bob"}) {
    ASSERT_TRUE(users_.create(n, hash, make_key(1), 1));
  }
  const auto all = users_.list();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[1].name, "bob");
  EXPECT_EQ(all[2].name, "mallory");
  EXPECT_EQ(all[3].name, "zed");
  EXPECT_EQ(all[1], *users_.find("bob"));
}

TEST_F(UserStore, ListEmpty) { EXPECT_TRUE(users_.list().empty()); }

TEST_F(UserStore, Count) {
  EXPECT_EQ(users_.count(), 0);
  ASSERT_TRUE(users_.create("a", hash, make_key(1), 1));
  ASSERT_TRUE(users_.create("b", hash, make_key(1), 1));
  EXPECT_FALSE(users_.create("a", hash, make_key(1), 1));
  EXPECT_EQ(users_.count(), 2);
}

TEST_F(UserStore, InjectionLookingNamesAreStoredLiterally) {
  const std::string evil = "x'); DROP TABLE users; --";
  const std::string quote = "o'brien\"";
  ASSERT_TRUE(users_.create(evil, hash, make_key(1), 1));
  ASSERT_TRUE(users_.create(quote, "' OR '1'='1", make_key(2), 2));
  EXPECT_EQ(users_.count(), 2);
  EXPECT_EQ(users_.find(evil)->name, evil);
  EXPECT_EQ(users_.find(quote)->password_hash, "' OR '1'='1");
  EXPECT_FALSE(users_.find("' OR '1'='1").has_value());
  EXPECT_EQ(db_.integrity_check(), "ok");
}

// Lookalike keys are the caller's (proto::lookalike_key); the store finds another account
// with the same one, never the name itself.
TEST_F(UserStore, LookalikeOfFindsAnotherAccountWithTheSameKey) {
  ASSERT_TRUE(users_.create("bob", hash, make_key(1), 1, "bob"));
  ASSERT_TRUE(users_.create("mallory", hash, make_key(2), 1, "mallory"));
  EXPECT_EQ(users_.lookalike_of("bob", "b0b"), "bob");
  EXPECT_EQ(users_.lookalike_of("mallory", "rnallory"), "mallory");
  EXPECT_FALSE(users_.lookalike_of("bob", "bob"));  // itself: not another account
  EXPECT_FALSE(users_.lookalike_of("carol", "carol"));
}

// A database from before lookalike keys (schema step 3): its accounts get theirs once, and
// are found by them afterwards.
TEST(UserStoreMigration, AccountsFromBeforeLookalikeKeysGetThemOnce) {
  auto db = database::open(":memory:");
  db.migrate(schema().first(2));
  {
    statement insert{db, "INSERT INTO users (name, password_hash, created) VALUES (?1, 'h', 1)"};
    for (const char* n : {"bob", "mallory"}) {
      insert.bind(1, n);
      insert.step();
      insert.reset();
    }
  }
  db.migrate(schema());
  user_store users{db};
  const auto key_of = [](std::string_view n) { return "key:" + std::string(n); };
  EXPECT_EQ(users.fill_lookalikes(key_of), 2u);
  EXPECT_EQ(users.fill_lookalikes(key_of), 0u);
  EXPECT_EQ(users.lookalike_of("key:bob", "b0b"), "bob");
  EXPECT_EQ(db.integrity_check(), "ok");
}

TEST_F(UserStore, IntegrityCheckOk) {
  ASSERT_TRUE(users_.create("alice", hash, make_key(1), 1));
  EXPECT_EQ(db_.integrity_check(), "ok");
}

TEST_F(UserStore, SchemaRejectsWrongKeyLength) {
  EXPECT_THROW(db_.exec("INSERT INTO users VALUES ('bad', 'h', x'0102', 1, NULL)"), sqlite_error);
}

TEST_F(UserStore, CreateIsRolledBackWithEnclosingTransaction) {
  {
    transaction tx{db_};
    ASSERT_TRUE(users_.create("temp", hash, make_key(1), 1));
    EXPECT_EQ(users_.count(), 1);
  }
  EXPECT_EQ(users_.count(), 0);
  EXPECT_TRUE(users_.create("temp", hash, make_key(1), 1));
}

}  // namespace
}  // namespace relay::store
