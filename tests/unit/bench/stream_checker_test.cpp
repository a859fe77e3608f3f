#include "relay/bench/stream_checker.hpp"

#include <gtest/gtest.h>

namespace relay::bench {
namespace {

payload_fields msg(std::uint32_t from, std::uint64_t seq, std::uint8_t part = 0,
                   std::uint8_t parts = 1) {
  return payload_fields{from, 0, seq, 0, part, parts};
}

TEST(BenchStreamChecker, InOrderMessagesComplete) {
  stream_checker c(3);
  EXPECT_EQ(c.on_part(msg(1, 0)), arrival::complete);
  EXPECT_EQ(c.on_part(msg(2, 0)), arrival::complete);
  EXPECT_EQ(c.on_part(msg(1, 1)), arrival::complete);
  EXPECT_EQ(c.received_from(1), 2u);
  EXPECT_EQ(c.received_from(2), 1u);
  EXPECT_EQ(c.received_from(0), 0u);
  EXPECT_EQ(c.lost(), 0u);
}

TEST(BenchStreamChecker, RepeatIsDuplicate) {
  stream_checker c(2);
  c.on_part(msg(0, 0));
  c.on_part(msg(0, 1));
  EXPECT_EQ(c.on_part(msg(0, 1)), arrival::duplicate);
  EXPECT_EQ(c.on_part(msg(0, 0)), arrival::duplicate);
  EXPECT_EQ(c.received_from(0), 2u);
}

TEST(BenchStreamChecker, GapCountsTheSkippedMessagesAndResyncs) {
  stream_checker c(1);
  c.on_part(msg(0, 0));
  EXPECT_EQ(c.on_part(msg(0, 4)), arrival::gap);  // 1, 2, 3 lost
  EXPECT_EQ(c.lost(), 3u);
  EXPECT_EQ(c.on_part(msg(0, 5)), arrival::complete);
  EXPECT_EQ(c.on_part(msg(0, 2)), arrival::duplicate);  // late: reordered
  EXPECT_EQ(c.received_from(0), 6u);
}

TEST(BenchStreamChecker, MultiPartMessagesCompleteOnTheLastPart) {
  stream_checker c(1);
  EXPECT_EQ(c.on_part(msg(0, 0, 0, 3)), arrival::partial);
  EXPECT_EQ(c.on_part(msg(0, 0, 1, 3)), arrival::partial);
  EXPECT_EQ(c.on_part(msg(0, 0, 2, 3)), arrival::complete);
  EXPECT_EQ(c.on_part(msg(0, 1, 0, 3)), arrival::partial);
  EXPECT_EQ(c.on_part(msg(0, 1, 0, 3)), arrival::duplicate);
  // Part 1 of message 1 missing: message 1 is lost.
  EXPECT_EQ(c.on_part(msg(0, 1, 2, 3)), arrival::gap);
  EXPECT_EQ(c.lost(), 1u);
  EXPECT_EQ(c.received_from(0), 2u);
}

}  // namespace
}  // namespace relay::bench
