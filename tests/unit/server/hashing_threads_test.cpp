#include <gtest/gtest.h>

#include "relay/server/config.hpp"

namespace relay::server {
namespace {

TEST(HashingThreads, OnePerCpuByDefaultUpToEightAndWhatTheOperatorSaysOtherwise) {
  EXPECT_EQ(hashing_threads(0, 1), 1u);  // taskset -c 0
  EXPECT_EQ(hashing_threads(0, 2), 2u);
  EXPECT_EQ(hashing_threads(0, 8), 8u);
  // A 64-core machine: 8 threads, not 64 holding 19 MiB each through a burst.
  EXPECT_EQ(hashing_threads(0, 64), relay_config::auto_workers);
  EXPECT_EQ(hashing_threads(0, 0), 1u);  // the CPU count unknown
  EXPECT_EQ(hashing_threads(3, 1), 3u);  // --workers 3 on one CPU: as told
  EXPECT_EQ(hashing_threads(64, 2), 64u);
  static_assert(hashing_threads(0, 4) == 4);  // usable in constant expressions
}

}  // namespace
}  // namespace relay::server
