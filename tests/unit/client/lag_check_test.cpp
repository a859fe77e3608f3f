#include "relay/client/lag_check.hpp"

#include <gtest/gtest.h>

namespace relay::client {
namespace {

using namespace std::chrono_literals;
using act = lag_check::action;

TEST(LagCheck, AsksAfterHalfTheTimeoutAndGivesUpAfterTheRest) {
  const auto t0 = lag_check::clock::time_point{} + 1h;
  lag_check lag(60s, t0);
  EXPECT_EQ(lag.tick(t0 + 29s), act::none);
  EXPECT_EQ(lag.tick(t0 + 30s), act::ping);
  EXPECT_EQ(lag.tick(t0 + 35s), act::none);  // asked once, not on every tick
  EXPECT_EQ(lag.tick(t0 + 59s), act::none);
  EXPECT_EQ(lag.tick(t0 + 60s), act::give_up);
  EXPECT_EQ(lag.silent(t0 + 60s), 60s);
}

TEST(LagCheck, AnythingHeardStartsAgain) {
  const auto t0 = lag_check::clock::time_point{} + 1h;
  lag_check lag(60s, t0);
  EXPECT_EQ(lag.tick(t0 + 30s), act::ping);
  lag.heard(t0 + 31s);  // the pong, or a message
  EXPECT_EQ(lag.tick(t0 + 60s), act::none);
  EXPECT_EQ(lag.tick(t0 + 61s), act::ping);
  lag.heard(t0 + 62s);
  EXPECT_EQ(lag.tick(t0 + 91s), act::none);
  EXPECT_EQ(lag.tick(t0 + 92s), act::ping);
  EXPECT_EQ(lag.tick(t0 + 122s), act::give_up);
}

}  // namespace
}  // namespace relay::client
