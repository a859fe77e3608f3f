#include "relay/server/trim_policy.hpp"

#include <gtest/gtest.h>

namespace relay::server {
namespace {

TEST(TrimPolicy, TrimsOnlyWhenFreeMemoryGrewByTheThreshold) {
  trim_policy p(1000);
  EXPECT_FALSE(p.due(0));
  EXPECT_FALSE(p.due(1000));  // grown by exactly the threshold: not yet
  EXPECT_TRUE(p.due(1001));
}

TEST(TrimPolicy, TheBaselineAfterATrimIsWhatMallocStillCallsFree) {
  // Trimmed pages stay in malloc's free count, so the count after a trim is the new zero:
  // otherwise a fragmented heap would be trimmed every second for nothing.
  trim_policy p(1000);
  ASSERT_TRUE(p.due(50'000));
  p.trimmed(50'000);
  EXPECT_FALSE(p.due(50'000));
  EXPECT_FALSE(p.due(50'900));
  EXPECT_TRUE(p.due(51'001));
}

TEST(TrimPolicy, FreeMemoryReusedAndFreedAgainCountsAsNew) {
  // After the trim the heap refills (the trimmed pages fault back in) and empties again:
  // growth is measured from the lowest point since, not from the figure at the trim.
  trim_policy p(1000);
  p.trimmed(50'000);
  EXPECT_FALSE(p.due(10'000));  // reused by new connections
  EXPECT_FALSE(p.due(10'800));
  EXPECT_TRUE(p.due(11'001));  // 1,001 bytes freed since the low point
}

}  // namespace
}  // namespace relay::server
