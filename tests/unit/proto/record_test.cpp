#include "relay/proto/record.hpp"

#include <gtest/gtest.h>

#include "relay/proto/errc.hpp"

namespace relay::proto {
namespace {

bytes record(std::size_t n, byte fill) {
  bytes body(n, fill), out;
  append_record(out, body);
  return out;
}

TEST(RecordReader, WholeRecord) {
  record_reader r;
  r.feed(record(3, 7));
  auto got = r.next();
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(bytes((*got)->begin(), (*got)->end()), bytes(3, 7));
  EXPECT_FALSE(r.next()->has_value());
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(RecordReader, FedOneByteAtATime) {
  bytes stream = record(5, 1);
  bytes second = record(300, 2);
  stream.insert(stream.end(), second.begin(), second.end());
  record_reader r;
  std::vector<bytes> got;
  for (byte b : stream) {
    r.feed(byte_view{&b, 1});
    while (true) {
      auto n = r.next();
      ASSERT_TRUE(n);
      if (!n->has_value()) break;
      got.emplace_back((*n)->begin(), (*n)->end());
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], bytes(5, 1));
  EXPECT_EQ(got[1], bytes(300, 2));
}

TEST(RecordReader, HeaderSplitWaits) {
  record_reader r;
  bytes s = record(2, 9);
  r.feed(byte_view{s.data(), 1});
  EXPECT_FALSE(r.next()->has_value());
  r.feed(byte_view{s.data() + 1, 2});
  EXPECT_FALSE(r.next()->has_value());
  r.feed(byte_view{s.data() + 3, 1});
  EXPECT_TRUE(r.next()->has_value());
}

TEST(RecordReader, OversizeLengthRejectedBeforeBody) {
  record_reader r(1024);
  const bytes header{0x04, 0x01};  // 1025 > 1024
  r.feed(header);
  auto n = r.next();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), errc::record_too_large);
  EXPECT_EQ(r.buffered(), 2u);  // nothing of the body was waited for
  // The reader stays failed.
  r.feed(record(1, 1));
  EXPECT_FALSE(r.next());
}

TEST(RecordReader, ZeroLengthRejected) {
  record_reader r;
  r.feed(bytes{0, 0});
  auto n = r.next();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), errc::empty_record);
}

TEST(RecordReader, MaximumRecordAccepted) {
  record_reader r;
  r.feed(record(max_record, 3));
  auto n = r.next();
  ASSERT_TRUE(n && n->has_value());
  EXPECT_EQ((*n)->size(), max_record);
}

TEST(AppendRecord, RejectsEmptyAndOversize) {
  bytes out;
  EXPECT_THROW(append_record(out, bytes{}), std::length_error);
  EXPECT_THROW(append_record(out, bytes(max_record + 1)), std::length_error);
}

}  // namespace
}  // namespace relay::proto
