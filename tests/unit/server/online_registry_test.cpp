// The registry of who is online: found by name, walked, and its arrays grow with a crowd and
// come back after it leaves.
#include "relay/server/online_registry.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <set>
#include <string>

namespace relay::server {
namespace {

struct user {
  explicit user(std::string n) : name_(std::move(n)) {}
  const std::string& name() const noexcept { return name_; }
  online_hook hook;
  std::string name_;
  std::uint32_t slot = 0;
};
using registry = online_registry<user, &user::hook, &user::slot>;

/// Every entry for_each visits; a failure if it visits one twice.
std::set<const user*> walk(const registry& r) {
  std::set<const user*> seen;
  r.for_each([&](const user& u) { EXPECT_TRUE(seen.insert(&u).second) << u.name() << " twice"; });
  return seen;
}

TEST(OnlineRegistry, FindsEntriesByNameAndForgetsThemWhenTheyLeave) {
  registry r;
  user alice("alice"), bob("bob");
  EXPECT_FALSE(r.contains(alice));
  r.insert(alice);
  r.insert(bob);
  EXPECT_TRUE(r.contains(alice));
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.find("alice"), &alice);
  EXPECT_EQ(r.find(std::string_view("bob!").substr(0, 3)), &bob);  // any string_view
  EXPECT_EQ(r.find("carol"), nullptr);
  EXPECT_EQ(r.find(""), nullptr);

  EXPECT_TRUE(r.erase(alice));
  EXPECT_FALSE(r.contains(alice));
  EXPECT_FALSE(r.erase(alice));  // a second leave is a no-op
  EXPECT_EQ(r.find("alice"), nullptr);
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(walk(r), (std::set<const user*>{&bob}));

  // Room made ahead: the insert that follows only links the entry.
  user dave("dave");
  r.reserve_one();
  r.insert(dave);
  EXPECT_EQ(r.find("dave"), &dave);
  r.erase(dave);

  // Re-registered after a rename while out (the relay's replacement: a new entry, same name).
  user alice2("alice");
  r.insert(alice2);
  EXPECT_EQ(r.find("alice"), &alice2);
  r.erase(alice2);
  r.erase(bob);
  EXPECT_TRUE(r.empty());
}

// 10,000 entries: every one is found after the arrays have doubled many times, the walk visits
// each exactly once, also after leaves from anywhere, and the buckets shrink back as the
// crowd leaves.
TEST(OnlineRegistry, GrowsWithACrowdAndGivesTheBucketsBackWhenItLeaves) {
  registry r;
  std::deque<user> crowd;  // stable addresses
  for (int i = 0; i < 10000; ++i) {
    crowd.emplace_back("user" + std::to_string(i));
    r.insert(crowd.back());
  }
  EXPECT_EQ(r.size(), 10000u);
  EXPECT_GE(r.bucket_count(), 10000u);
  EXPECT_LE(r.bucket_count(), 16384u);
  for (auto& u : crowd) ASSERT_EQ(r.find(u.name()), &u) << u.name();
  EXPECT_EQ(walk(r).size(), 10000u);

  // Leaving from the middle, the front and the back: the walk sees exactly who is left.
  for (std::size_t i = 10; i < crowd.size(); i += 2) EXPECT_TRUE(r.erase(crowd[i]));
  EXPECT_TRUE(r.erase(crowd[11]));
  EXPECT_TRUE(r.erase(crowd.back()));
  std::set<const user*> left;
  for (std::size_t i = 0; i < 10; ++i) left.insert(&crowd[i]);
  for (std::size_t i = 13; i + 1 < crowd.size(); i += 2) left.insert(&crowd[i]);
  EXPECT_EQ(walk(r), left);
  for (const user* u : left) EXPECT_EQ(r.find(u->name()), u);

  for (std::size_t i = 10; i < crowd.size(); ++i) r.erase(crowd[i]);
  EXPECT_EQ(r.size(), 10u);
  EXPECT_LE(r.bucket_count(), 128u);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(r.find(crowd[i].name()), &crowd[i]);
  EXPECT_EQ(r.find("user10"), nullptr);
  for (std::size_t i = 0; i < 10; ++i) r.erase(crowd[i]);
  EXPECT_EQ(r.bucket_count(), registry::min_buckets);
}

}  // namespace
}  // namespace relay::server
