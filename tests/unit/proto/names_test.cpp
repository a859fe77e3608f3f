#include "relay/proto/names.hpp"

#include <gtest/gtest.h>

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

TEST(Passwords, Length) {
  EXPECT_FALSE(acceptable_password("short"));
  EXPECT_TRUE(acceptable_password("eight ch"));
  EXPECT_TRUE(acceptable_password(std::string(255, 'p')));
  EXPECT_FALSE(acceptable_password(std::string(256, 'p')));
}

}  // namespace
}  // namespace relay::proto
