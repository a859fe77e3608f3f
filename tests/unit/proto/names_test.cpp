#include "relay/proto/names.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace relay::proto {
namespace {

TEST(Names, Valid) {
  for (const std::string& n :
       std::vector<std::string>{"a", "bob", "alice_1", "x.y-z", "0day", std::string(32, 'a')}) {
    EXPECT_TRUE(valid_name(n)) << n;
  }
}

TEST(Names, Invalid) {
  for (const std::string& n : std::vector<std::string>{"", "Bob", "_x", ".x", "-x", "a b", "a:b",
                                                       "é", "a\x1b", "a\n", std::string(33, 'a')}) {
    EXPECT_FALSE(valid_name(n)) << n;
  }
}

// Names easily mistaken for each other on screen share a key; names a reader tells apart
// do not.
TEST(Names, LookalikesShareAKey) {
  const std::vector<std::pair<std::string, std::string>> alike{{"bob", "b0b"},
                                                               {"alice", "a1ice"},
                                                               {"mallory", "rnallory"},
                                                               {"walt", "vvalt"},
                                                               {"bob.smith", "bob_smith"},
                                                               {"bob-smith", "bob_smith"},
                                                               {"c0rn", "com"},
                                                               {"l0l", "101"},
                                                               // a black-box review signed up
                                                               // all three beside the first
                                                               {"alice", "alice."},
                                                               {"carol", "carol-"},
                                                               {"mallet", "mallet_"},
                                                               {"bob.smith", "bob__smith"},
                                                               {"bob-smith", "bob._smith"},
                                                               // review 14
                                                               {"dave", "clave"},
                                                               {"dave", "c1ave"}};
  for (const auto& [a, b] : alike) EXPECT_EQ(lookalike_key(a), lookalike_key(b)) << a << " " << b;
  const std::vector<std::pair<std::string, std::string>> apart{
      {"bob", "bob2"}, {"bob", "bobb"}, {"alice", "alicia"}, {"bobsmith", "bob.smith"},
      {"mn", "nm"},    {"vvv", "ww"},   {"ann", "arm"},      {"0", "a"},
      {"lc", "d"}};
  for (const auto& [a, b] : apart) EXPECT_NE(lookalike_key(a), lookalike_key(b)) << a << " " << b;
  EXPECT_EQ(lookalike_key("c0rn"), "com");
  EXPECT_EQ(lookalike_key("a1ice_-."), "alice");
}

TEST(Passwords, Length) {
  EXPECT_FALSE(acceptable_password("short"));
  EXPECT_TRUE(acceptable_password("eight ch"));
  EXPECT_TRUE(acceptable_password(std::string(255, 'p')));
  EXPECT_FALSE(acceptable_password(std::string(256, 'p')));
}

}  // namespace
}  // namespace relay::proto
