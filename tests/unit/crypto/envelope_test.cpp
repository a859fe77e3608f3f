// End-to-end envelopes: round trips, wrong keys, tampering, truncation, padding, plaintext codec.
#include "relay/crypto/envelope.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>

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
  // 15 fixed bytes + two names counted as 32 bytes each leave 49 bytes of text in the first
  // two 64-byte blocks.
  const std::size_t one = seal_ab({"alice", "bob", 1, "x"}).size();
  EXPECT_EQ(one, envelope_overhead + 128);
  EXPECT_EQ(seal_ab({"alice", "bob", 1, std::string(49, 'x')}).size(), one);
  EXPECT_EQ(seal_ab({"alice", "bob", 1, ""}).size(), one);
  EXPECT_EQ(seal_ab({"alice", "bob", 1, std::string(50, 'x')}).size(), one + 64);
  EXPECT_EQ(seal_ab({"alice", "bob", 1, std::string(60, 'x')}).size(),
            seal_ab({"alice", "bob", 1, std::string(113, 'x')}).size());
}

// Version 2: the size tells nothing of the names (up to 32 bytes, the longest valid one).
// Version 1 padded the names as they were: "x" to "y" and 32-byte names differed.
TEST_F(Envelope, TheSizeDoesNotTellTheNames) {
  const std::string long_name(32, 'n');
  for (std::size_t text : {0u, 10u, 40u, 49u, 50u, 1000u}) {
    const std::string t(text, 't');
    EXPECT_EQ(seal_ab({"x", "y", 1, t}).size(), seal_ab({long_name, long_name, 1, t}).size())
        << text;
    EXPECT_EQ(sealed_size(1, 1, text), sealed_size(32, 32, text));
  }
  EXPECT_NE(sealed_size(1, 1, 40, 1), sealed_size(32, 32, 40, 1));
}

// Version 1 (the names' own lengths) is still opened, so older senders can be read.
TEST_F(Envelope, VersionOneIsStillOpened) {
  envelope old{"alice", "bob", 7, "from an older client"};
  old.version = 1;
  const bytes s = seal_ab(old);
  EXPECT_EQ(s.size(), sealed_size(5, 3, old.text.size(), 1));
  EXPECT_EQ(s.size(), envelope_overhead + 64);
  auto r = open_ab(s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, old);
  EXPECT_EQ(r->version, 1);
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
  const bytes want = {2, 2, 'a', 'l', 1, 'b', 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2, 'h', 'i'};
  ASSERT_EQ(pt.size(), 128u);  // 15 + 32 + 32 + 2 = 81, padded to 128
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
  v[0] = 3;
  expect(v, envelope_errc::unsupported_version);
  v[0] = 0;
  expect(v, envelope_errc::unsupported_version);
  v[0] = 1;  // version 1 pads the names' own lengths: 64 bytes, not 128
  expect(v, envelope_errc::bad_format);

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

// docs/protocol.md 11.3: alice's "hi bob" to bob, with the example's fixed nonce. The same
// bytes come from the Python client (PyNaCl), written from the text (tests/interop).
TEST(EnvelopeVector, TheWorkedExampleOfTheProtocolText) {
  auto from_hex = [](std::string_view h) {
    bytes out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
      out.push_back(static_cast<byte>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
  };
  bytes alice_secret(32), bob_secret(32);
  for (int i = 0; i < 32; ++i) {
    alice_secret[i] = static_cast<byte>(1 + i);
    bob_secret[i] = static_cast<byte>(0x21 + i);
  }
  const key_pair alice = key_pair::from_secret(alice_secret);
  const key_pair bob = key_pair::from_secret(bob_secret);
  const bytes want = from_hex(
      "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7f3521ff9e2e1f513"
      "7d34e0bbaa038d234ca507d44409e65421217b7a5dc4e7c6d2dc71f79bd3bd96"
      "f69f8b88d368ab031d01fa324724cc04d1f7f14ecd2e1301c437269e45f39485"
      "0a7931e318745712fb000cccfa105122e7846a5a0c87b362ef8ff4f5ce6218df"
      "3b779ebce14005a63625d49ec5d49fbc15d4063787212a0e454e53762c820661"
      "108b5be449b16b64");
  scripted_random rng;
  rng.push(from_hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"));
  const envelope m{"alice", "bob", 1700000000000000ULL, "hi bob"};
  EXPECT_EQ(seal(m, alice, bob.pub(), rng), want);
  auto opened = open(want, bob, alice.pub());
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, m);
}

}  // namespace
}  // namespace relay::crypto
