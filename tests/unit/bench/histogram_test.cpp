#include "relay/bench/histogram.hpp"

#include <gtest/gtest.h>

namespace relay::bench {
namespace {

TEST(BenchHistogram, EmptyReportsZero) {
  histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(BenchHistogram, SmallValuesAreExactNearestRank) {
  histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(99.9), 100u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.percentile(0), 1u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(BenchHistogram, LargeValuesWithinHalfAPercent) {
  histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms in ns
  auto near = [](std::uint64_t got, double want) {
    return std::abs(static_cast<double>(got) - want) <= want * 0.005;
  };
  EXPECT_TRUE(near(h.percentile(50), 50000e3)) << h.percentile(50);
  EXPECT_TRUE(near(h.percentile(99), 99000e3)) << h.percentile(99);
  EXPECT_TRUE(near(h.percentile(99.9), 99900e3)) << h.percentile(99.9);
  EXPECT_EQ(h.max(), 100000000u);
}

TEST(BenchHistogram, OneOutlierMovesOnlyTheTail) {
  histogram h;
  for (int i = 0; i < 999; ++i) h.record(100);
  h.record(5'000'000);
  EXPECT_EQ(h.percentile(50), 100u);
  EXPECT_EQ(h.percentile(99), 100u);
  EXPECT_GT(h.percentile(100), 4'900'000u);
  EXPECT_EQ(h.max(), 5'000'000u);
}

TEST(BenchHistogram, BucketsAreContiguousAndMonotonic) {
  const std::uint64_t values[] = {0, 511, 512, 513, 1023, 1024, 123456789, UINT64_MAX / 3};
  for (std::uint64_t v : values) {
    const std::size_t b = histogram::bucket_of(v);
    EXPECT_LE(histogram::bucket_floor(b), v);
    EXPECT_GT(histogram::bucket_floor(b + 1), v);
  }
}

TEST(BenchHistogram, MergeEqualsRecordingEverything) {
  histogram a, b, all;
  for (std::uint64_t v = 0; v < 5000; ++v) {
    (v % 2 ? a : b).record(v * 37);
    all.record(v * 37);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double q : {1.0, 50.0, 99.0, 99.9}) EXPECT_EQ(a.percentile(q), all.percentile(q));
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
}

}  // namespace
}  // namespace relay::bench
