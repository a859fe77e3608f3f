// Safety numbers: format, order independence, sensitivity to either key or name.
#include "relay/crypto/safety_number.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "relay/crypto/sodium.hpp"

namespace relay::crypto {
namespace {

class SafetyNumber : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init(); }
  key_pair alice_ = key_pair::generate(os_random());
  key_pair bob_ = key_pair::generate(os_random());
};

TEST_F(SafetyNumber, SixtyDigitsInTwelveGroupsOfFive) {
  const std::string s = safety_number("alice", alice_.pub(), "bob", bob_.pub());
  ASSERT_EQ(s.size(), 60u + 11u);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i % 6 == 5) {
      EXPECT_EQ(s[i], ' ') << i;
    } else {
      EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(s[i]))) << i;
    }
  }
}

TEST_F(SafetyNumber, SameFromEitherSide) {
  EXPECT_EQ(safety_number("alice", alice_.pub(), "bob", bob_.pub()),
            safety_number("bob", bob_.pub(), "alice", alice_.pub()));
}

TEST_F(SafetyNumber, Deterministic) {
  EXPECT_EQ(safety_number("alice", alice_.pub(), "bob", bob_.pub()),
            safety_number("alice", alice_.pub(), "bob", bob_.pub()));
}

TEST_F(SafetyNumber, ChangesWhenEitherKeyChanges) {
  const std::string base = safety_number("alice", alice_.pub(), "bob", bob_.pub());
  const key_pair mallory = key_pair::generate(os_random());
  const std::string new_a = safety_number("alice", mallory.pub(), "bob", bob_.pub());
  const std::string new_b = safety_number("alice", alice_.pub(), "bob", mallory.pub());
  EXPECT_NE(base, new_a);
  EXPECT_NE(base, new_b);
  EXPECT_NE(new_a, new_b);
  // One changed half: the other user's 30 digits stay, in one of the two halves.
  auto halves = [](const std::string& s) { return std::pair{s.substr(0, 35), s.substr(36)}; };
  const auto [b0, b1] = halves(base);
  const auto [a0, a1] = halves(new_a);
  EXPECT_TRUE(a0 == b0 || a0 == b1 || a1 == b0 || a1 == b1);
}

TEST_F(SafetyNumber, ChangesWhenANameChanges) {
  EXPECT_NE(safety_number("alice", alice_.pub(), "bob", bob_.pub()),
            safety_number("alicE", alice_.pub(), "bob", bob_.pub()));
}

TEST_F(SafetyNumber, KnownAnswerPinsTheConstruction) {
  public_key a{}, b{};
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<byte>(i);
    b[i] = static_cast<byte>(0xff - i);
  }
  // Computed independently with Python's hashlib.blake2b from the construction in the header.
  const std::string want =
      "60040 60020 02758 21650 08814 90369 86396 82047 18548 64743 45217 91617";
  EXPECT_EQ(safety_number("alice", a, "bob", b), want);
  EXPECT_EQ(safety_number("bob", b, "alice", a), want);
}

}  // namespace
}  // namespace relay::crypto
