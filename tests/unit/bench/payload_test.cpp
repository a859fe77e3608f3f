#include "relay/bench/payload.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::bench {
namespace {

const payload_fields sample{7, 42, 123456789012ULL, 987654321098765ULL, 1, 3};

TEST(BenchPayload, BinaryRoundTripsAtEverySize) {
  for (std::size_t size : {binary_header, binary_header + 1, std::size_t{64}, std::size_t{1024}}) {
    bytes b(size);
    write_binary(sample, b);
    auto f = read_binary(b);
    ASSERT_TRUE(f) << size;
    EXPECT_EQ(*f, sample);
  }
}

TEST(BenchPayload, BinaryHeaderIsBigEndian) {
  bytes b(64);
  write_binary(payload_fields{0x01020304, 0x0a0b0c0d, 5, 6, 0, 1}, b);
  EXPECT_EQ(b[0], 0x01);
  EXPECT_EQ(b[3], 0x04);
  EXPECT_EQ(b[4], 0x0a);
  EXPECT_EQ(b[15], 5);
  EXPECT_EQ(b[23], 6);
  EXPECT_EQ(b[24], 0);
  EXPECT_EQ(b[25], 1);
}

TEST(BenchPayload, AnyFlippedFillerByteIsCorruption) {
  bytes b(100);
  write_binary(sample, b);
  for (std::size_t i = binary_header; i < b.size(); ++i) {
    bytes c = b;
    c[i] ^= 0x40;
    EXPECT_FALSE(read_binary(c)) << i;
  }
}

TEST(BenchPayload, ChangedHeaderFieldBreaksTheFiller) {
  bytes b(64);
  write_binary(sample, b);
  bytes c = b;
  c[3] ^= 1;  // sender
  EXPECT_FALSE(read_binary(c));
  c = b;
  c[15] ^= 1;  // seq
  EXPECT_FALSE(read_binary(c));
}

TEST(BenchPayload, InconsistentPartsAndShortInputAreRejected) {
  bytes b(64);
  write_binary(payload_fields{1, 2, 3, 4, 3, 3}, b);  // part must be < parts
  EXPECT_FALSE(read_binary(b));
  EXPECT_FALSE(read_binary(bytes(binary_header - 1)));
}

TEST(BenchPayload, TextRoundTripsAndIsPlainIrcText) {
  std::string t(300, '\0');
  write_text(sample, t);
  for (char ch : t) {
    EXPECT_TRUE((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                ch == '_' || ch == '-')
        << int(ch);
  }
  EXPECT_EQ(t.substr(0, 8), "00000007");
  auto f = read_text(t);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, sample);
}

TEST(BenchPayload, TextCorruptionIsDetected) {
  std::string t(120, '\0');
  write_text(sample, t);
  std::string c = t;
  c[100] = c[100] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(read_text(c));
  c = t;
  c[5] = 'x';  // not a hex digit
  EXPECT_FALSE(read_text(c));
  EXPECT_FALSE(read_text(t.substr(0, text_header - 1)));
}

}  // namespace
}  // namespace relay::bench
