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

// Review 12: an HTTP probe got the same log line as a broken client. The line now gives the
// length declared and the limit, and says what the two bytes look like when they are text
// or a TLS handshake; borrowed or copied alike.
TEST(RecordReader, AFailureSaysTheLengthAndWhatTheBytesLookLike) {
  const auto text_of = [](const std::string& in, std::size_t limit, bool borrowed) {
    record_reader r(limit);
    const bytes b(in.begin(), in.end());
    if (borrowed) {
      r.feed_borrowed(b);
    } else {
      r.feed(b);
    }
    EXPECT_FALSE(r.next());
    return r.failure_text();
  };
  for (const bool borrowed : {false, true}) {
    EXPECT_EQ(text_of("GET / HTTP/1.0\r\n\r\n", 128, borrowed),
              "record length over the limit (18245 bytes declared, at most 128); it starts with "
              "the text \"GE\": another protocol (HTTP, SSH?) spoken to the relay");
    EXPECT_EQ(text_of(std::string("\x16\x03\x01\x02\x00", 5), 128, borrowed),
              "record length over the limit (5635 bytes declared, at most 128); it starts like a "
              "TLS handshake: a client speaking TLS to the relay");
    EXPECT_EQ(text_of(std::string("\xff\xff", 2), 65535 - 1, borrowed),
              "record length over the limit (65535 bytes declared, at most 65534)");
    EXPECT_EQ(text_of(std::string("\x00\x00", 2), 128, borrowed), "empty record");
  }
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

TEST(RecordReader, BorrowedFeedingMatchesCopyingForAnySplit) {
  // The same stream cut into pieces of every size from 1 to 40 bytes; the borrowing reader's
  // scratch buffer is scribbled over as soon as it says "need more", as the relay's shared
  // read buffer is.
  bytes stream;
  for (std::size_t i = 1; i <= 30; ++i) {
    const bytes r = record(i * 7 % 97 + 1, static_cast<byte>(i));
    stream.insert(stream.end(), r.begin(), r.end());
  }
  for (std::size_t piece = 1; piece <= 40; ++piece) {
    record_reader copying, borrowing;
    std::vector<bytes> a, b;
    bytes scratch;
    for (std::size_t at = 0; at < stream.size(); at += piece) {
      const std::size_t n = std::min(piece, stream.size() - at);
      copying.feed(byte_view{stream.data() + at, n});
      while (auto r = copying.next()) {
        if (!r->has_value()) break;
        a.emplace_back((*r)->begin(), (*r)->end());
      }
      scratch.assign(stream.begin() + static_cast<std::ptrdiff_t>(at),
                     stream.begin() + static_cast<std::ptrdiff_t>(at + n));
      borrowing.feed_borrowed(scratch);
      while (auto r = borrowing.next()) {
        if (!r->has_value()) break;
        b.emplace_back((*r)->begin(), (*r)->end());
      }
      std::fill(scratch.begin(), scratch.end(), byte{0xEE});
    }
    EXPECT_EQ(a, b) << "piece " << piece;
    EXPECT_EQ(a.size(), 30u);
    EXPECT_EQ(borrowing.buffered(), 0u);
  }
}

TEST(RecordReader, BorrowedKeepCopiesTheRest) {
  bytes two = record(3, 1);
  const bytes second = record(4, 2);
  two.insert(two.end(), second.begin(), second.end());
  record_reader r;
  r.feed_borrowed(two);
  auto first = r.next();
  ASSERT_TRUE(first && first->has_value());
  r.keep();  // e.g. before awaiting a sign-in
  std::fill(two.begin(), two.end(), byte{0});
  auto n = r.next();
  ASSERT_TRUE(n && n->has_value());
  EXPECT_EQ(bytes((*n)->begin(), (*n)->end()), bytes(4, 2));
}

TEST(RecordReader, BorrowedOversizeLengthRejectedBeforeBody) {
  record_reader r(1024);
  bytes partial{0x04};
  r.feed_borrowed(partial);
  EXPECT_FALSE(r.next()->has_value());
  bytes rest{0x01, 1, 2, 3};  // length 1025 > 1024
  r.feed_borrowed(rest);
  auto n = r.next();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), errc::record_too_large);
  EXPECT_EQ(r.buffered(), 2u + 3u);
}

TEST(RecordReader, ErrorsStickAndTheLimitNeverExceedsTheMaximum) {
  record_reader r(10);
  r.feed(bytes{0x00, 0x0b});  // 11 > 10
  auto first = r.next();
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error(), make_error_code(errc::record_too_large));
  r.set_limit(max_record);  // raising it later does not heal a poisoned reader
  auto again = r.next();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), make_error_code(errc::record_too_large));
  record_reader big(1'000'000);  // clamped: a record cannot be longer than max_record anyway
  big.feed(bytes{0xff, 0xff});
  auto wait = big.next();
  ASSERT_TRUE(wait);
  EXPECT_FALSE(*wait);  // 65535 is allowed: waiting for the body
  // The relay keeps one per connection: the limit and the error are packed.
  EXPECT_LE(sizeof(record_reader), 56u);
}

}  // namespace
}  // namespace relay::proto
