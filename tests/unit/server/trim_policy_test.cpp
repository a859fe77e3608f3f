#include "relay/server/trim_policy.hpp"

#include <gtest/gtest.h>

namespace relay::server {
namespace {

TEST(TrimPolicy, TrimsOnlyWhenResidentMemoryGrewByTheThresholdWithThatMuchFree) {
  trim_policy p(1000);
  p.trimmed(0, 5000);
  EXPECT_FALSE(p.due(1000, 5000));  // grown by exactly the threshold: not yet
  EXPECT_TRUE(p.due(1001, 5000));
  EXPECT_FALSE(p.due(9000, 999));  // grown, but into memory in use: nothing to give back
}

TEST(TrimPolicy, TheBaselineIsWhatStaysResidentAfterATrim) {
  // A fragmented heap keeps some freed pages resident after a trim: that is the new zero,
  // otherwise it would be trimmed every second for nothing.
  trim_policy p(1000);
  ASSERT_TRUE(p.due(50'000, 40'000));
  p.trimmed(20'000, 40'000);
  EXPECT_FALSE(p.due(20'000, 40'000));
  EXPECT_FALSE(p.due(20'900, 40'000));
  EXPECT_TRUE(p.due(21'001, 40'000));
}

TEST(TrimPolicy, PagesRefilledAndFreedBetweenTwoLooksStillCount) {
  // The case malloc's free count misses: after the trim the heap refills (the trimmed pages
  // fault back in) and empties again before the next look, so the free count is where it was
  // at the trim; resident memory shows the refill.
  trim_policy p(1000);
  p.trimmed(20'000, 40'000);
  EXPECT_TRUE(p.due(30'000, 40'000));
}

TEST(TrimPolicy, MemoryFreedSinceTheTrimCountsWithoutResidentGrowth) {
  // The case resident memory misses: pages in use at the trim, freed since. Growth of the
  // free count is measured from its lowest point, so memory reused and freed again counts.
  trim_policy p(1000);
  p.trimmed(20'000, 5'000);
  EXPECT_FALSE(p.due(20'000, 5'900));
  EXPECT_TRUE(p.due(20'000, 6'001));
  p.trimmed(20'000, 6'001);
  EXPECT_FALSE(p.due(20'000, 2'000));  // reused by new connections
  EXPECT_TRUE(p.due(20'000, 3'001));   // and 1,001 bytes freed again
}

TEST(TrimPolicy, ResidentMemoryThatFallsLowersTheBaseline) {
  // Memory handed back without a trim (freed mappings, a closed database cache): growth is
  // measured from the lowest point since.
  trim_policy p(1000);
  p.trimmed(50'000, 40'000);
  EXPECT_FALSE(p.due(10'000, 40'000));
  EXPECT_FALSE(p.due(10'800, 40'000));
  EXPECT_TRUE(p.due(11'001, 40'000));
}

}  // namespace
}  // namespace relay::server
