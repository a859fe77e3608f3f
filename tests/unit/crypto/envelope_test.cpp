// End-to-end envelopes: round trips, wrong keys, tampering, truncation, padding, plaintext codec.
#include "relay/crypto/envelope.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "relay/crypto/sodium.hpp"

namespace relay::crypto {
namespace {

class Envelope : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init(); }
  key_pair alice_ = key_pair::generate(os_random());
  key_pair bob_ = key_pair::generate(os_random());
  key_pair carol_ = key_pair::generate(os_random());
  envelope msg_{"alice", "bob", 7, "hello: bob"};

  bytes seal_ab(const envelope& m) { return seal(m, alice_, bob_.pub(), os_random()); }
  result<envelope> open_ab(byte_view b) { return open(b, bob_, alice_.pub()); }
};

TEST_F(Envelope, RoundTrip) {
  const envelope cases[] = {
      msg_,
      {"alice", "bob", 0, ""},
      {"alice", "bob", 1, "a:b::c: 'quoted' \"too\" \n newline"},
      {"alice", "bob", UINT64_MAX, "caf\xc3\xa9 \xf0\x9f\x94\x92"},
      {"", "", 0, ""},
      {std::string(max_envelope_name, 'f'), std::string(max_envelope_name, 't'), 42,
       std::string(max_text, 'x')},
      {"alice", "bob", 3, std::string("nul\0inside", 10)},
  };
  for (const auto& m : cases) {
    const bytes s = seal_ab(m);
    auto r = open_ab(s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, m);
  }
}

TEST_F(Envelope, FreshNonceEachTime) { EXPECT_NE(seal_ab(msg_), seal_ab(msg_)); }

TEST_F(Envelope, NonceComesFromTheRandomSource) {
  scripted_random r1, r2;
  EXPECT_EQ(seal(msg_, alice_, bob_.pub(), r1), seal(msg_, alice_, bob_.pub(), r2));
}

TEST_F(Envelope, ThirdPartyCannotOpen) {
  const bytes s = seal_ab(msg_);
  auto r = open(s, carol_, alice_.pub());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), envelope_errc::bad_mac);
}

TEST_F(Envelope, ReflectedEnvelopeStillNamesTheRealSender) {
  // crypto_box keys are symmetric: the sender can open her own envelope as if it came from
  // the recipient. The names inside are what let the caller reject a reflected message.
  auto r = open(seal_ab(msg_), alice_, bob_.pub());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from, "alice");
  EXPECT_EQ(r->to, "bob");
}

TEST_F(Envelope, WrongSenderKeyFails) {
  const bytes s = seal_ab(msg_);
  auto r = open(s, bob_, carol_.pub());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), envelope_errc::bad_mac);
}

TEST_F(Envelope, BothDirectionsWork) {
  const envelope back{"bob", "alice", 1, "hi"};
  auto r = open(seal(back, bob_, alice_.pub(), os_random()), alice_, bob_.pub());
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, back);
}

TEST_F(Envelope, EveryFlippedByteFails) {
  const bytes s = seal_ab(msg_);
  for (std::size_t i = 0; i < s.size(); ++i) {
    for (byte mask : {byte{0x01}, byte{0x80}, byte{0xff}}) {
      bytes t = s;
      t[i] ^= mask;
      auto r = open_ab(t);
      ASSERT_FALSE(r) << "byte " << i;
      EXPECT_EQ(r.error(), envelope_errc::bad_mac);
    }
  }
}

TEST_F(Envelope, TruncatedAndExtendedInputsFailCleanly) {
  const bytes s = seal_ab({"alice", "bob", 9, std::string(100, 'z')});
  for (std::size_t n = 0; n < s.size(); ++n) {
    auto r = open_ab(byte_view(s).first(n));
    ASSERT_FALSE(r) << n;
    if (n < envelope_overhead + envelope_padding) {
      EXPECT_EQ(r.error(), envelope_errc::truncated) << n;
    }
    EXPECT_EQ(r.error().category().name(), std::string("envelope"));
  }
  for (std::size_t extra : {1u, 63u, 64u}) {
    bytes t = s;
    t.resize(t.size() + extra, 0);
    EXPECT_FALSE(open_ab(t)) << extra;
  }
}

TEST_F(Envelope, OversizedInputRejectedBeforeDecrypting) {
  const bytes big(sealed_size(max_envelope_name, max_envelope_name, max_text) + envelope_padding);
  auto r = open_ab(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), envelope_errc::bad_format);
}

TEST_F(Envelope, PaddingHidesLengthWithinABlock) {
  // 15 fixed bytes + "alice" + "bob" leave 41 bytes of text in the first 64-byte block.
  const std::size_t one = seal_ab({"alice", "bob", 1, "x"}).size();
  EXPECT_EQ(one, envelope_overhead + 64);
  EXPECT_EQ(seal_ab({"alice", "bob", 1, std::string(41, 'x')}).size(), one);
  EXPECT_EQ(seal_ab({"alice", "bob", 1, ""}).size(), one);
  EXPECT_EQ(seal_ab({"alice", "bob", 1, std::string(42, 'x')}).size(), one + 64);
  EXPECT_EQ(seal_ab({"alice", "bob", 1, std::string(60, 'x')}).size(),
            seal_ab({"alice", "bob", 1, std::string(105, 'x')}).size());
}

TEST_F(Envelope, SealedSizeMatches) {
  for (std::size_t n : {0u, 1u, 41u, 42u, 60u, 64u, 1000u, 16384u}) {
    for (std::size_t names : {0u, 5u, 255u}) {
      const envelope m{std::string(names, 'a'), std::string(names / 2, 'b'), 1,
                       std::string(n, 't')};
      const bytes s = seal_ab(m);
      EXPECT_EQ(s.size(), sealed_size(m.from.size(), m.to.size(), n));
      EXPECT_EQ((s.size() - envelope_overhead) % envelope_padding, 0u);
    }
  }
}

TEST_F(Envelope, SealRejectsOversizedFields) {
  EXPECT_THROW((void)seal_ab({"alice", "bob", 1, std::string(max_text + 1, 'x')}),
               std::invalid_argument);
  EXPECT_THROW((void)seal_ab({std::string(256, 'a'), "bob", 1, "x"}), std::invalid_argument);
  EXPECT_THROW((void)seal_ab({"alice", std::string(256, 'b'), 1, "x"}), std::invalid_argument);
}

TEST_F(Envelope, SealRejectsLowOrderRecipientKey) {
  const public_key zero{};
  EXPECT_THROW((void)seal(msg_, alice_, zero, os_random()), std::invalid_argument);
  EXPECT_FALSE(open(seal_ab(msg_), bob_, zero));
}

TEST(EnvelopePlaintext, LayoutIsAsDocumented) {
  const bytes pt = encode_envelope_plaintext({"al", "b", 0x0102030405060708ULL, "hi"});
  const bytes want = {1, 2, 'a', 'l', 1, 'b', 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2, 'h', 'i'};
  ASSERT_EQ(pt.size(), 64u);
  EXPECT_TRUE(std::equal(want.begin(), want.end(), pt.begin()));
  EXPECT_TRUE(std::all_of(pt.begin() + static_cast<std::ptrdiff_t>(want.size()), pt.end(),
                          [](byte c) { return c == 0; }));
}

TEST(EnvelopePlaintext, DecoderRejectsAnythingButTheCanonicalForm) {
  const envelope m{"al", "b", 5, "hi"};
  const bytes good = encode_envelope_plaintext(m);
  ASSERT_TRUE(decode_envelope_plaintext(good));
  EXPECT_EQ(*decode_envelope_plaintext(good), m);

  auto expect = [](const bytes& pt, envelope_errc e) {
    auto r = decode_envelope_plaintext(pt);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), e);
  };
  expect({}, envelope_errc::bad_format);
  bytes v = good;
  v[0] = 2;
  expect(v, envelope_errc::unsupported_version);
  v[0] = 0;
  expect(v, envelope_errc::unsupported_version);

  bytes pad = good;
  pad.back() = 1;
  expect(pad, envelope_errc::bad_format);
  bytes longer = good;
  longer.resize(longer.size() + 64, 0);
  expect(longer, envelope_errc::bad_format);
  expect(bytes(good.begin(), good.end() - 1), envelope_errc::bad_format);

  bytes text_len = good;  // text_len at offset 14..17
  text_len[17] = 60;      // runs past the end of a 64-byte block
  expect(text_len, envelope_errc::bad_format);
  text_len[17] = 3;  // fits, but then padding starts one byte later and must still be zero
  ASSERT_TRUE(decode_envelope_plaintext(text_len));
  text_len[15] = 0x40;  // 16384 + 3 > max_text
  expect(text_len, envelope_errc::bad_format);

  bytes from_len = good;
  from_len[1] = 200;
  expect(from_len, envelope_errc::bad_format);

  for (std::size_t n = 0; n < 18; ++n) {
    expect(bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)),
           n == 0 ? envelope_errc::bad_format : envelope_errc::bad_format);
  }
}

TEST(EnvelopePlaintext, ErrorsHaveTheirOwnCategory) {
  const std::error_code ec = envelope_errc::bad_mac;
  EXPECT_STREQ(ec.category().name(), "envelope");
  EXPECT_FALSE(ec.message().empty());
  EXPECT_NE(std::error_code(envelope_errc::truncated), std::error_code(envelope_errc::bad_format));
}

}  // namespace
}  // namespace relay::crypto
