#include "relay/server/roster_pace.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace relay::server {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

TEST(RosterPace, ARoundIsSpacedByOneIntervalPerHundredClientsUpToTen) {
  const roster_pace p;  // the relay's defaults: 100 ms, 100 clients, 10 intervals
  EXPECT_EQ(p.spacing(0), 100ms);
  EXPECT_EQ(p.spacing(1), 100ms);
  EXPECT_EQ(p.spacing(100), 100ms);
  EXPECT_EQ(p.spacing(101), 200ms);
  EXPECT_EQ(p.spacing(400), 400ms);
  EXPECT_EQ(p.spacing(1000), 1000ms);
  EXPECT_EQ(p.spacing(10000), 1000ms);  // never more than ten intervals
}

TEST(RosterPace, AChangeOnAQuietRelayWaitsOneInterval) {
  const roster_pace p;
  const clock::time_point now{1h};
  // No round yet (the epoch), or the last one long ago, whatever its size.
  EXPECT_EQ(p.next_round(now, clock::time_point{}, 0), now + 100ms);
  EXPECT_EQ(p.next_round(now, now - 5s, 10000), now + 100ms);
}

TEST(RosterPace, ARoundRightAfterABigOneWaitsForItsSpacing) {
  const roster_pace p;
  const clock::time_point now{1h};
  // The last round, to 400 clients, began 150 ms ago: the next one 400 ms after it.
  EXPECT_EQ(p.next_round(now, now - 150ms, 400), now + 250ms);
  // To 50 clients: one interval after the change is later than the spacing.
  EXPECT_EQ(p.next_round(now, now - 150ms, 50), now + 100ms);
}

TEST(RosterPace, ZeroIntervalMeansAtOnce) {
  const roster_pace p{0ms, 100, 10};
  const clock::time_point now{1h};
  EXPECT_EQ(p.spacing(5000), 0ms);
  EXPECT_EQ(p.next_round(now, now, 5000), now);
}

TEST(RosterPace, ZeroClientsPerIntervalTurnsPacingOff) {
  const roster_pace p{50ms, 0, 10};
  EXPECT_EQ(p.spacing(10000), 50ms);
}

}  // namespace
}  // namespace relay::server
