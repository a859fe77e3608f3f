// ChaCha20-Poly1305 built from libsodium's ChaCha20 and Poly1305 against libsodium's own AEAD:
// the same bytes at every length that crosses a run boundary, and no forgery accepted.
// (The Wycheproof vectors run through it too: NoisePrimitives.WycheproofChaCha20Poly1305Ietf.)
#include "relay/crypto/chachapoly.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

#include "relay/crypto/sodium.hpp"

namespace relay::crypto::chachapoly {
namespace {

class ChaChaPoly : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init(); }

  static bytes random(std::size_t n) {
    bytes b(n);
    if (n > 0) randombytes_buf(b.data(), b.size());  // an empty vector's data() may be null
    return b;
  }
  std::span<const byte, key_len> k() const { return std::span<const byte, key_len>(key_); }
  std::span<const byte, nonce_len> n() const { return std::span<const byte, nonce_len>(nonce_); }

  // libsodium's AEAD, the reference.
  bytes reference_seal(byte_view ad, byte_view pt) const {
    bytes out(pt.size() + tag_len);
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), nullptr, pt.data(), pt.size(), ad.data(),
                                              ad.size(), nullptr, nonce_.data(), key_.data());
    return out;
  }
  // Seals with ours, checks it against the reference, and opens the reference's ciphertext.
  void check_length(std::size_t len, std::size_t ad_len) {
    SCOPED_TRACE("length " + std::to_string(len) + ", ad " + std::to_string(ad_len));
    key_ = random(key_len);
    nonce_ = random(nonce_len);
    const bytes ad = random(ad_len), pt = random(len);
    bytes ours(len + tag_len);
    seal(k(), n(), ad, pt, ours);
    const bytes ref = reference_seal(ad, pt);
    ASSERT_EQ(ours, ref);
    bytes back(len);
    ASSERT_TRUE(open(k(), n(), ad, ref, back));
    ASSERT_EQ(back, pt);
  }

  bytes key_ = random(key_len), nonce_ = random(nonce_len);
};

TEST_F(ChaChaPoly, SealsAndOpensExactlyLikeLibsodiumsAeadAtEveryLengthUpTo2100Bytes) {
  // Every length crosses the 256-byte rounding and the 1024-byte runs (block 0 takes 64).
  for (std::size_t len = 0; len <= 2100; ++len) check_length(len, len % 41);
}

TEST_F(ChaChaPoly, LongMessagesSpanningManyRunsMatchToo) {
  for (std::size_t len : {4095u, 4096u, 4097u, 10000u, 65519u, 65535u, 70000u})
    check_length(len, 13);
  for (std::size_t ad_len : {0u, 15u, 16u, 17u, 64u, 1000u}) check_length(100, ad_len);
}

TEST_F(ChaChaPoly, EveryFlippedBitOfCiphertextTagOrAdIsRejectedAndLeavesZeros) {
  const bytes pt = random(300), ad = random(20);
  bytes ct(pt.size() + tag_len);
  seal(k(), n(), ad, pt, ct);
  bytes out(pt.size());
  int rejected = 0;
  for (std::size_t bit = 0; bit < ct.size() * 8; ++bit) {
    bytes bad = ct;
    bad[bit / 8] ^= static_cast<byte>(1u << (bit % 8));
    out.assign(out.size(), 0xAA);
    EXPECT_FALSE(open(k(), n(), ad, bad, out)) << "bit " << bit;
    EXPECT_EQ(out, bytes(out.size(), 0)) << "bit " << bit;
    ++rejected;
  }
  for (std::size_t bit = 0; bit < ad.size() * 8; ++bit) {
    bytes bad_ad = ad;
    bad_ad[bit / 8] ^= static_cast<byte>(1u << (bit % 8));
    EXPECT_FALSE(open(k(), n(), bad_ad, ct, out)) << "ad bit " << bit;
    ++rejected;
  }
  EXPECT_EQ(rejected, (316 + 20) * 8);
  ASSERT_TRUE(open(k(), n(), ad, ct, out));  // and the untouched one still opens
  EXPECT_EQ(out, pt);
}

TEST_F(ChaChaPoly, WrongKeyNonceOrLengthIsRejected) {
  const bytes pt = random(64);
  bytes ct(pt.size() + tag_len), out(pt.size());
  seal(k(), n(), {}, pt, ct);
  const bytes other_key = random(key_len);
  EXPECT_FALSE(open(std::span<const byte, key_len>(other_key), n(), {}, ct, out));
  bytes other_nonce = nonce_;
  other_nonce[11] ^= 1;
  EXPECT_FALSE(open(k(), std::span<const byte, nonce_len>(other_nonce), {}, ct, out));
  // Cut short: a tag over other bytes.
  bytes shorter(ct.begin() + 1, ct.end()), out_short(shorter.size() - tag_len);
  EXPECT_FALSE(open(k(), n(), {}, shorter, out_short));
  // Shorter than a tag: rejected, nothing read past it.
  for (std::size_t len = 0; len < tag_len; ++len) {
    bytes tiny(ct.begin(), ct.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_FALSE(open(k(), n(), {}, tiny, std::span<byte>()));
  }
}

TEST_F(ChaChaPoly, AnEmptyMessageIsJustATagOverTheAd) {
  const bytes ad = random(33);
  bytes ct(tag_len);
  seal(k(), n(), ad, {}, ct);
  EXPECT_EQ(ct, reference_seal(ad, {}));
  EXPECT_TRUE(open(k(), n(), ad, ct, std::span<byte>()));
}

}  // namespace
}  // namespace relay::crypto::chachapoly
