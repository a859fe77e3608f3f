// End-to-end envelopes: round trips, wrong keys, tampering, truncation, padding, plaintext codec.
#include "relay/crypto/envelope.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

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
  const bytes big(
      sealed_size(max_envelope_name, max_envelope_name, max_text, session_envelope_version) +
      envelope_padding);
  auto r = open_ab(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), envelope_errc::bad_size);
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

// Version 3 (protocol.md 8.5): the plaintext boxed again between session keys.
class SessionEnvelope : public Envelope {
 protected:
  key_pair alice_session_ = key_pair::generate(os_random());
  key_pair bob_session_ = key_pair::generate(os_random());
  envelope msg3_ = [] {
    envelope m{"alice", "bob", 7, "hello: bob"};
    m.version = session_envelope_version;
    return m;
  }();

  // Alice to bob, to his session key if `known`, else to his identity key.
  bytes seal3(const envelope& m, bool known) {
    const session_pair s{alice_session_, known ? &bob_session_.pub() : nullptr};
    return seal(m, alice_, bob_.pub(), os_random(), &s);
  }
  // What someone holding both identity secrets (and no session secret) reads of `sealed`:
  // the outer plaintext.
  bytes outer_plaintext(const bytes& sealed) {
    bytes pt(sealed.size() - envelope_overhead);
    EXPECT_EQ(crypto_box_open_easy(pt.data(), sealed.data() + 24, sealed.size() - 24, sealed.data(),
                                   alice_.pub().data(), bob_.secret().data()),
              0);
    return pt;
  }
};

TEST_F(SessionEnvelope, OpensToTheSessionKeyOrToTheIdentityKeyAndSaysWhich) {
  for (const bool known : {true, false}) {
    const bytes s = seal3(msg3_, known);
    EXPECT_EQ(s.size(), sealed_size(5, 3, msg3_.text.size(), session_envelope_version));
    auto r = open(s, bob_, alice_.pub(), &bob_session_);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->text, msg3_.text);
    EXPECT_EQ(r->counter, 7u);
    EXPECT_EQ(r->version, session_envelope_version);
    EXPECT_EQ(r->sender_session, alice_session_.pub());
    EXPECT_EQ(r->to_session, known);
    // The outer plaintext shows both session keys, after the version.
    const bytes pt = outer_plaintext(s);
    EXPECT_EQ(pt[0], 3);
    EXPECT_TRUE(std::equal(alice_session_.pub().begin(), alice_session_.pub().end(), &pt[1]));
    const public_key want = known ? bob_session_.pub() : public_key{};
    EXPECT_TRUE(std::equal(want.begin(), want.end(), &pt[33]));
  }
}

TEST_F(SessionEnvelope, SizesHideTheNamesAndGrowBy64Bytes) {
  // 105 bytes around the inner plaintext of 15 + 32 + 32 bytes: 8 bytes of text fit in 192
  // bytes, 72 in 256, and each name counts as at least 32 bytes.
  envelope m = msg3_;
  m.text = "8 bytes!";
  EXPECT_EQ(seal3(m, true).size(), 232u);
  m.text.push_back('x');
  EXPECT_EQ(seal3(m, true).size(), 296u);
  m.text.assign(72, 'x');
  EXPECT_EQ(seal3(m, false).size(), 296u);
  m.text.push_back('x');
  EXPECT_EQ(seal3(m, true).size(), 360u);
  m.from = "a";
  m.to = std::string(32, 'b');
  EXPECT_EQ(sealed_size(1, 32, 73, session_envelope_version), 360u);
  EXPECT_EQ(sealed_size(5, 3, max_text, session_envelope_version), 16616u);
}

// The point of version 3: both identity secrets, taken after the fact, open the outer box
// but not the inner one, which needs a session secret that lived only in the two runs.
TEST_F(SessionEnvelope, IdentitySecretsAloneDoNotOpenWhatWasSealedToASessionKey) {
  const bytes s = seal3(msg3_, true);
  const bytes pt = outer_plaintext(s);
  const byte* nonce = pt.data() + 65;
  const byte* boxed = nonce + 24;
  const std::size_t boxed_len = pt.size() - 89;
  bytes inner(boxed_len - 16);
  const key_pair* secrets[] = {&alice_, &bob_};
  const public_key publics[] = {alice_.pub(), bob_.pub(), alice_session_.pub(), bob_session_.pub()};
  for (const key_pair* k : secrets) {
    for (const public_key& p : publics) {
      EXPECT_NE(
          crypto_box_open_easy(inner.data(), boxed, boxed_len, nonce, p.data(), k->secret().data()),
          0);
    }
  }
  // With bob's session secret, as his run has it, the inner box opens.
  EXPECT_EQ(crypto_box_open_easy(inner.data(), boxed, boxed_len, nonce, alice_session_.pub().data(),
                                 bob_session_.secret().data()),
            0);
}

TEST_F(SessionEnvelope, ANewSessionKeyCannotOpenWhatWasSealedToTheLastOne) {
  const bytes s = seal3(msg3_, true);
  const key_pair next_run = key_pair::generate(os_random());
  auto r = open(s, bob_, alice_.pub(), &next_run);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), envelope_errc::stale_session);
  // Without a session key at all, version 3 is not understood.
  r = open(s, bob_, alice_.pub());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), envelope_errc::unsupported_version);
  // Sealed to the identity key, any session key of bob's opens it.
  EXPECT_TRUE(open(seal3(msg3_, false), bob_, alice_.pub(), &next_run));
}

TEST_F(SessionEnvelope, EveryFlippedByteFailsAndTheWrongSenderSessionFails) {
  const bytes s = seal3(msg3_, true);
  for (std::size_t i = 0; i < s.size(); i += 7) {
    bytes t = s;
    t[i] ^= 0x01;
    EXPECT_FALSE(open(t, bob_, alice_.pub(), &bob_session_)) << i;
  }
  // Another session key written in the (authentic) outer plaintext: the inner box fails.
  bytes pt = outer_plaintext(s);
  pt[1] ^= 0x01;
  bytes forged(s.size());
  std::copy_n(s.begin(), 24, forged.begin());
  ASSERT_EQ(crypto_box_easy(forged.data() + 24, pt.data(), pt.size(), forged.data(),
                            bob_.pub().data(), alice_.secret().data()),
            0);
  auto r = open(forged, bob_, alice_.pub(), &bob_session_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), envelope_errc::bad_mac);
}

TEST_F(SessionEnvelope, SealNeedsSessionKeysAndUsableOnes) {
  EXPECT_THROW((void)seal(msg3_, alice_, bob_.pub(), os_random()), std::invalid_argument);
  const public_key zero{};
  const session_pair s{alice_session_, &zero};
  EXPECT_THROW((void)seal(msg3_, alice_, bob_.pub(), os_random(), &s), std::invalid_argument);
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
  v[0] = 4;
  expect(v, envelope_errc::unsupported_version);
  v[0] = 3;  // version 3's inner plaintext is padded for the 105 bytes around it
  expect(v, envelope_errc::bad_format);
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

bytes hex(std::string_view h) { return from_hex(h).value(); }

// docs/protocol.md 11.3: alice's "hi bob" to bob, with the example's fixed nonce. The same
// bytes come from the Python client (PyNaCl), written from the text (tests/interop).
TEST(EnvelopeVector, TheWorkedExampleOfTheProtocolText) {
  bytes alice_secret(32), bob_secret(32);
  for (int i = 0; i < 32; ++i) {
    alice_secret[i] = static_cast<byte>(1 + i);
    bob_secret[i] = static_cast<byte>(0x21 + i);
  }
  const key_pair alice = key_pair::from_secret(alice_secret);
  const key_pair bob = key_pair::from_secret(bob_secret);
  const bytes want =
      hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7f3521ff9e2e1f513"
          "7d34e0bbaa038d234ca507d44409e65421217b7a5dc4e7c6d2dc71f79bd3bd96"
          "f69f8b88d368ab031d01fa324724cc04d1f7f14ecd2e1301c437269e45f39485"
          "0a7931e318745712fb000cccfa105122e7846a5a0c87b362ef8ff4f5ce6218df"
          "3b779ebce14005a63625d49ec5d49fbc15d4063787212a0e454e53762c820661"
          "108b5be449b16b64");
  scripted_random rng;
  rng.push(hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"));
  const envelope m{"alice", "bob", 1700000000000000ULL, "hi bob"};
  EXPECT_EQ(seal(m, alice, bob.pub(), rng), want);
  auto opened = open(want, bob, alice.pub());
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, m);
}

// protocol.md 11.5: the same message as version 3, sealed to bob's session key (the bytes
// PyNaCl gives for it).
TEST(EnvelopeVector, TheVersionThreeExampleOfTheProtocolText) {
  auto key = [](int first) {
    bytes secret(32);
    for (int i = 0; i < 32; ++i) secret[i] = static_cast<byte>(first + i);
    return key_pair::from_secret(secret);
  };
  const key_pair alice = key(0x01), bob = key(0x21);
  const key_pair alice_session = key(0x61), bob_session = key(0x81);
  EXPECT_EQ(to_hex(alice_session.pub()),
            "244fe3b963e899dd295baffce248d3530f3a9a7479ba063002680ebfe7adad49");
  EXPECT_EQ(to_hex(bob_session.pub()),
            "883186b800b41d5cf0429695da9b3cc4f328ebcd184a6e482fa578c103f06c77");
  const bytes want =
      hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7949869b72daed857ab154234a8fed0f44d842"
          "95b94096bce9e6742d5a72c8b0d9f934b6defaa01f8afbd81e90e8f06ae5489cbb4ff2478198d07b3d858f"
          "4883d00c40e7588ebdeeb4256949bd977a77e8cc0cd0e39d494e4204ca390c74b7eac205f25271db6cd09e"
          "c5c2911f60755487db571a5018463e28064c66f3ef22d97e5b29b469ff142f4b90860c6a640282e0bc6423"
          "3e8d3761fc9464cfc9bcd51dbf8aaa248b380c425fc36888cc0b8c92c77594d2cf0dceb3f1c3705703b56e"
          "b3f7568e32c9520634fbbc3a1278399c734");
  ASSERT_EQ(want.size(), 232u);
  scripted_random rng;
  rng.push(hex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7"));  // inner nonce
  rng.push(hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"));  // outer nonce
  envelope m{"alice", "bob", 1700000000000000ULL, "hi bob"};
  m.version = session_envelope_version;
  const session_pair sessions{alice_session, &bob_session.pub()};
  EXPECT_EQ(seal(m, alice, bob.pub(), rng, &sessions), want);
  auto opened = open(want, bob, alice.pub(), &bob_session);
  ASSERT_TRUE(opened) << opened.error().message();
  m.sender_session = alice_session.pub();
  m.to_session = true;
  EXPECT_EQ(*opened, m);

  // The same, alice not knowing bob's session key: sealed to his identity key.
  const bytes to_identity =
      hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b73ddf151809eda659789f0e575ff82fb24d842"
          "95b94096bce9e6742d5a72c8b0d9f934b6defaa01f8afbd81e90e8f06ae5401fa324724cc04d1f7f14ecd2"
          "e1301c437269e45f394850a7931e318745712fbc0cd0e39d494e4204ca390c74b7eac205f25271db6cd09e"
          "c926a1fa4c122a36f7fd55a6ab988c4caa7b974e8de8ca2477dde1fb4fea6115997638af40c2c594972bc7"
          "cd1a925c4a5c3694b3e09bf0c9725bbd80d2aba85bc405c418b035fe68a8a9b649ba41ee278a742aee37af"
          "ff6d3839e8f88e59170d29ae9559938fc84");
  rng.push(hex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7"));
  rng.push(hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"));
  const session_pair unknown{alice_session, nullptr};
  EXPECT_EQ(seal(m, alice, bob.pub(), rng, &unknown), to_identity);
  opened = open(to_identity, bob, alice.pub(), &bob_session);
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->to_session);
}

}  // namespace
}  // namespace relay::crypto
