#include "relay/server/signup_limit.hpp"

#include <gtest/gtest.h>

namespace relay::server {
namespace {

using namespace std::chrono_literals;
using clock = signup_limit::clock;
const clock::time_point t0{};

TEST(SignupLimit, ABucketOfPerHourAtOnceThenOneEveryHourOverPerHour) {
  signup_limit l({10, 100});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(l.take("10.0.0.1", t0), clock::duration::zero()) << i;
  const auto wait = l.take("10.0.0.1", t0);
  EXPECT_GE(wait, 359s);  // the next token in 6 minutes
  EXPECT_LE(wait, 360s);
  EXPECT_GT(l.take("10.0.0.1", t0 + 5min), clock::duration::zero());
  EXPECT_EQ(l.take("10.0.0.1", t0 + 6min), clock::duration::zero());
  EXPECT_GT(l.take("10.0.0.1", t0 + 6min), clock::duration::zero());
  // Other sources have their own buckets.
  EXPECT_EQ(l.take("10.0.0.2", t0), clock::duration::zero());
}

TEST(SignupLimit, ASignUpThatCreatedNoAccountGivesItsTokenBack) {
  signup_limit l({2, 100});
  EXPECT_EQ(l.take("a", t0), clock::duration::zero());
  EXPECT_EQ(l.take("a", t0), clock::duration::zero());
  EXPECT_GT(l.take("a", t0), clock::duration::zero());
  l.give_back("a", t0);  // e.g. the name was taken
  EXPECT_EQ(l.take("a", t0), clock::duration::zero());
  // Given back on a full bucket, nothing is gained.
  l.give_back("b", t0);
  l.give_back("a", t0 + 2h);
  l.give_back("a", t0 + 2h);
  EXPECT_EQ(l.take("a", t0 + 2h), clock::duration::zero());
  EXPECT_EQ(l.take("a", t0 + 2h), clock::duration::zero());
  EXPECT_GT(l.take("a", t0 + 2h), clock::duration::zero());
}

TEST(SignupLimit, ZeroPerHourIsNoLimitAndTracksNothing) {
  signup_limit l({0, 100});
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(l.take("a", t0), clock::duration::zero());
  EXPECT_EQ(l.size(), 0u);
}

TEST(SignupLimit, ManySourcesCannotGrowItPastItsCapacityNorFreeABusyOne) {
  signup_limit l({3, 4});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(l.take("busy", t0), clock::duration::zero());
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(l.take("flood" + std::to_string(i), t0 + 1s), clock::duration::zero());
    EXPECT_LE(l.size(), 4u);
  }
  // The emptiest bucket was never the one evicted: "busy" is still limited.
  EXPECT_GT(l.take("busy", t0 + 2s), clock::duration::zero());
}

}  // namespace
}  // namespace relay::server
