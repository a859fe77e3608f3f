// Known-answer tests for the Noise crypto functions: BLAKE2b-512, HMAC/HKDF, X25519 and
// ChaCha20-Poly1305 (Wycheproof), nonce layout and REKEY.
#include "relay/crypto/noise_primitives.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "relay/crypto/sodium.hpp"

namespace relay::crypto::noise {
namespace {

using json = nlohmann::json;

bytes hex(std::string_view s) {
  auto b = from_hex(s);
  if (!b) throw std::runtime_error("bad hex in test");
  return *b;
}

json load(const std::string& name) {
  std::ifstream in(std::string(RELAY_VECTORS_DIR) + "/" + name);
  if (!in) throw std::runtime_error("missing vector file " + name);
  return json::parse(in);
}

std::string hex_of(byte_view b) { return to_hex(b); }

class NoisePrimitives : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { crypto::init(); }
};

TEST_F(NoisePrimitives, HashIsBlake2b512) {
  std::array<byte, hash_len> out{};
  hash({}, out);
  EXPECT_EQ(hex_of(out),
            "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee58531389"
            "6444934eb04b903a685b1448b755d56f701afe9be2ce");
  hash({as_bytes("a"), as_bytes(""), as_bytes("bc")}, out);  // parts are concatenated
  EXPECT_EQ(hex_of(out),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252"
            "d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

// Expected values from Python's hmac module over hashlib.blake2b (an independent HMAC).
TEST_F(NoisePrimitives, HmacMatchesRfc2104OverBlake2b) {
  std::array<byte, hash_len> out{};
  bytes key64(64), key200(200);
  for (std::size_t i = 0; i < key200.size(); ++i) key200[i] = static_cast<byte>(i);
  std::copy_n(key200.begin(), 64, key64.begin());
  const byte_view msg = as_bytes("The quick brown fox jumps over the lazy dog");

  hmac(key64, {msg}, out);
  EXPECT_EQ(hex_of(out),
            "04ee7426defe6a0b873ebc0a47f31391324e13534aaea631564fcac3659e94fe6bd07501e39038dfa63d"
            "0140c6b03c2cb1bf715764bc9807894474141d58f81e");
  hmac(key64, {msg.first(10), msg.subspan(10)}, out);
  EXPECT_EQ(hex_of(out).substr(0, 16), "04ee7426defe6a0b");
  hmac(key200, {msg}, out);  // longer than a block: hashed first
  EXPECT_EQ(hex_of(out),
            "7b6d593626fdbf17325c34e2e415d85c4fe0bfa9264d3e6037b146acdd2544b0bec787e5a214533833c0"
            "e0f8386f6f3a46a1566cac5917652e8a0ad0b1bd8e99");
  hmac({}, {}, out);
  EXPECT_EQ(hex_of(out),
            "198cd2006f66ff83fbbd913f78aca2251caf4f19fe9475aade8cf2091b99a68466775177424f58286886"
            "cbae8229644cec747237d4b721735485e17372fdf59c");
}

TEST_F(NoisePrimitives, HkdfTwoAndThreeOutputs) {
  const bytes ck(64, 0x11), ikm(32, 0x22);
  std::array<byte, hash_len> o1{}, o2{}, o3{};
  hkdf(ck, ikm, o1, o2, o3);
  EXPECT_EQ(hex_of(o1),
            "f40cb5e07d2427ba7f73913ac1fda74f774012188c442e04d7b6738430612e573151cce099cd56d36e16"
            "7cfa2761a052518e82dd02e45be173470479d72f544c");
  EXPECT_EQ(hex_of(o2),
            "acdbfbc9fca30a9a12e37d7c6dc98d203af3dadc116d8aec4d51491ffe8c370ed6593becd2f5bbf31ca7"
            "b8983fdf4cb3031a9d331a038a007de628a416c55915");
  EXPECT_EQ(hex_of(o3),
            "54b0eb2eb9af4a8e98b77ad6428586833bfc156c84d4480cd7fafc47231f7ff27546fec2ec4e5b4041ae"
            "9e431bab416dade6c147b597cae32ccf06f15b65173f");

  // Two outputs are the first two of three, and out1 may alias the chaining key (MixKey).
  std::array<byte, hash_len> a{}, b{};
  std::copy(ck.begin(), ck.end(), a.begin());
  hkdf(a, ikm, a, b);
  EXPECT_EQ(a, o1);
  EXPECT_EQ(b, o2);
}

TEST_F(NoisePrimitives, NonceIsFourZerosThenLittleEndian) {
  EXPECT_EQ(hex_of(make_nonce(cipher::chachapoly, 0)), "000000000000000000000000");
  EXPECT_EQ(hex_of(make_nonce(cipher::chachapoly, 1)), "000000000100000000000000");
  EXPECT_EQ(hex_of(make_nonce(cipher::chachapoly, 0x0102030405060708ULL)),
            "000000000807060504030201");
  EXPECT_EQ(hex_of(make_nonce(cipher::chachapoly, max_nonce)), "00000000ffffffffffffffff");
}

TEST_F(NoisePrimitives, AesGcmNonceIsFourZerosThenBigEndian) {
  // Noise section 12.4: unlike ChaChaPoly's, the AESGCM counter is big-endian.
  EXPECT_EQ(hex_of(make_nonce(cipher::aesgcm, 0)), "000000000000000000000000");
  EXPECT_EQ(hex_of(make_nonce(cipher::aesgcm, 1)), "000000000000000000000001");
  EXPECT_EQ(hex_of(make_nonce(cipher::aesgcm, 0x0102030405060708ULL)), "000000000102030405060708");
  EXPECT_EQ(hex_of(make_nonce(cipher::aesgcm, max_nonce)), "00000000ffffffffffffffff");
  EXPECT_EQ(cipher_name(cipher::aesgcm), "AESGCM");
  EXPECT_EQ(cipher_name(cipher::chachapoly), "ChaChaPoly");
}

TEST_F(NoisePrimitives, RekeyIsEncryptionOfZerosUnderMaxNonce) {
  bytes key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  std::array<byte, cipher_key_len> k{};
  std::copy(key.begin(), key.end(), k.begin());
  std::array<byte, cipher_key_len> zeros{};
  std::array<byte, cipher_key_len + aead_tag_len> expect{};
  aead_nonce all_ones{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  aead_encrypt(cipher::chachapoly, k, all_ones, {}, zeros, expect);
  rekey(cipher::chachapoly, k);
  EXPECT_TRUE(std::equal(k.begin(), k.end(), expect.begin()));
  EXPECT_NE(hex_of(k), hex_of(key));
}

TEST_F(NoisePrimitives, AesGcmRekeyIsEncryptionOfZerosUnderMaxNonce) {
  if (!aesgcm_available()) GTEST_SKIP() << "no AES-NI: AES-256-GCM is never used here";
  bytes key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  std::array<byte, cipher_key_len> k{}, chacha{};
  std::copy(key.begin(), key.end(), k.begin());
  std::copy(key.begin(), key.end(), chacha.begin());
  std::array<byte, cipher_key_len> zeros{};
  std::array<byte, cipher_key_len + aead_tag_len> expect{};
  aead_nonce all_ones{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  aead_encrypt(cipher::aesgcm, k, all_ones, {}, zeros, expect);
  rekey(cipher::aesgcm, k);
  rekey(cipher::chachapoly, chacha);
  EXPECT_TRUE(std::equal(k.begin(), k.end(), expect.begin()));
  EXPECT_NE(hex_of(k), hex_of(chacha));  // each cipher rekeys with itself
}

TEST_F(NoisePrimitives, WycheproofX25519LowOrderFails) {
  const json doc = load("x25519_test.json");
  int computed = 0, rejected = 0;
  for (const auto& group : doc["testGroups"]) {
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      const bytes priv = hex(t["private"].get<std::string>());
      const bytes pub = hex(t["public"].get<std::string>());
      ASSERT_EQ(priv.size(), dh_len);
      ASSERT_EQ(pub.size(), dh_len);
      const auto flags = t["flags"].get<std::vector<std::string>>();
      const bool zero = std::find(flags.begin(), flags.end(), "ZeroSharedSecret") != flags.end();
      std::array<byte, dh_len> out{};
      const bool ok = dh(std::span<const byte, dh_len>(priv.data(), dh_len),
                         std::span<const byte, dh_len>(pub.data(), dh_len), out);
      if (zero) {
        // Low-order public keys: Noise must abort (section 12.1).
        EXPECT_FALSE(ok);
        EXPECT_EQ(out, (std::array<byte, dh_len>{}));
        ++rejected;
      } else {
        EXPECT_TRUE(ok);
        EXPECT_EQ(hex_of(out), t["shared"].get<std::string>());
        ++computed;
      }
    }
  }
  EXPECT_EQ(computed, 487);
  EXPECT_EQ(rejected, 31);
}

// What a Wycheproof AEAD file gave: tests passed as valid and invalid, groups of another
// shape skipped, valid ones with a Noise-shaped IV also run through ENCRYPT/DECRYPT(n).
struct aead_counts {
  int valid = 0, invalid = 0, skipped = 0, via_noise_nonce = 0;
};

// Runs every test of `file` with 256-bit keys, 96-bit IVs and 128-bit tags through
// aead_decrypt / aead_encrypt of `c`. A valid test must open to its message and seal back to
// its ciphertext; an invalid one must fail and leave zeros. An IV of 4 zero bytes then the
// counter in the byte order of `c` (make_nonce) also goes through encrypt / decrypt.
aead_counts run_wycheproof_aead(cipher c, const std::string& file) {
  const json doc = load(file);
  aead_counts n;
  for (const auto& group : doc["testGroups"]) {
    const bool ours = group["ivSize"].get<int>() == 96 && group["keySize"].get<int>() == 256 &&
                      group["tagSize"].get<int>() == 128;
    for (const auto& t : group["tests"]) {
      if (!ours) {
        ++n.skipped;
        continue;
      }
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      const bytes key = hex(t["key"].get<std::string>());
      const bytes iv = hex(t["iv"].get<std::string>());
      const bytes ad = hex(t["aad"].get<std::string>());
      const bytes msg = hex(t["msg"].get<std::string>());
      bytes ct = hex(t["ct"].get<std::string>());
      const bytes tag = hex(t["tag"].get<std::string>());
      ct.insert(ct.end(), tag.begin(), tag.end());
      const std::span<const byte, cipher_key_len> k(key.data(), cipher_key_len);
      aead_nonce nonce{};
      std::copy(iv.begin(), iv.end(), nonce.begin());

      // Each test twice: without a key id, and with one (AESGCM's cached expansion: a new
      // id per test, since each test has its own key).
      const key_id id = new_key_id();
      bytes pt(ct.size() - aead_tag_len), pt_cached(pt.size(), 1);
      const bool ok = aead_decrypt(c, k, nonce, ad, ct, pt);
      const bool ok_cached = aead_decrypt(c, k, nonce, ad, ct, pt_cached, id);
      EXPECT_EQ(ok_cached, ok);
      EXPECT_EQ(pt_cached, pt);
      if (t["result"] != "valid") {
        EXPECT_FALSE(ok);
        EXPECT_EQ(pt, bytes(pt.size(), 0));  // zeroed on failure
        ++n.invalid;
        continue;
      }
      EXPECT_TRUE(ok);
      EXPECT_EQ(pt, msg);
      bytes again(msg.size() + aead_tag_len), again_cached(again.size());
      aead_encrypt(c, k, nonce, ad, msg, again);
      aead_encrypt(c, k, nonce, ad, msg, again_cached, id);
      EXPECT_EQ(again, ct);
      EXPECT_EQ(again_cached, ct);
      forget_key(id);
      ++n.valid;
      if (iv[0] != 0 || iv[1] != 0 || iv[2] != 0 || iv[3] != 0) continue;
      // The counter the Noise nonce of this IV carries, in the cipher's byte order.
      std::uint64_t counter = 0;
      for (std::size_t i = 0; i < 8; ++i) {
        const std::size_t at = c == cipher::aesgcm ? 4 + i : 11 - i;
        counter = (counter << 8) | iv[at];
      }
      EXPECT_EQ(make_nonce(c, counter), nonce);
      bytes viak(msg.size() + aead_tag_len);
      encrypt(c, k, counter, ad, msg, viak);
      EXPECT_EQ(viak, ct);
      bytes back(msg.size());
      EXPECT_TRUE(decrypt(c, k, counter, ad, ct, back));
      EXPECT_EQ(back, msg);
      ++n.via_noise_nonce;
    }
  }
  return n;
}

TEST_F(NoisePrimitives, WycheproofChaCha20Poly1305Ietf) {
  const aead_counts n = run_wycheproof_aead(cipher::chachapoly, "chacha20_poly1305_test.json");
  EXPECT_EQ(n.valid, 256);
  EXPECT_EQ(n.invalid, 60);
  EXPECT_EQ(n.skipped, 9);  // IVs that are not 96-bit are not ChaCha20-Poly1305 IETF
  EXPECT_GT(n.via_noise_nonce, 0);
  std::cout << "[ info ] ChaCha20-Poly1305: " << n.valid << " valid, " << n.invalid << " invalid, "
            << n.skipped << " skipped (IV not 96-bit), " << n.via_noise_nonce
            << " also via the Noise nonce\n";
}

TEST_F(NoisePrimitives, WycheproofAes256Gcm) {
  if (!aesgcm_available()) GTEST_SKIP() << "no AES-NI: AES-256-GCM is never used here";
  const aead_counts n = run_wycheproof_aead(cipher::aesgcm, "aes_gcm_test.json");
  EXPECT_EQ(n.valid, 39);
  EXPECT_EQ(n.invalid, 27);
  EXPECT_EQ(n.skipped, 0);
  EXPECT_EQ(n.via_noise_nonce, 1);
}

TEST_F(NoisePrimitives, AesGcmKeyIdsNeverMixTwoKeys) {
  if (!aesgcm_available()) GTEST_SKIP() << "no AES-NI: AES-256-GCM is never used here";
  // Two keys used by turns under their own ids, as a relay reads from one connection and
  // writes to another: each call must use its own key, whichever key was expanded last.
  std::array<byte, cipher_key_len> k1{}, k2{};
  k1.fill(0x11);
  k2.fill(0x22);
  const key_id id1 = new_key_id(), id2 = new_key_id();
  EXPECT_NE(id1, 0u);
  EXPECT_NE(id1, id2);
  const byte_view text = as_bytes("a message of some length, not a multiple of sixteen");
  const bytes msg(text.begin(), text.end());
  for (std::uint64_t n = 0; n < 6; ++n) {
    const bool first = n % 2 == 0;
    const auto& k = first ? k1 : k2;
    bytes expect(msg.size() + aead_tag_len), got(expect.size());
    encrypt(cipher::aesgcm, k, n, {}, msg, expect);
    encrypt(cipher::aesgcm, k, n, {}, msg, got, first ? id1 : id2);
    EXPECT_EQ(got, expect) << "n " << n;
    bytes back(msg.size());
    EXPECT_TRUE(decrypt(cipher::aesgcm, k, n, {}, got, back, first ? id1 : id2));
    EXPECT_EQ(back, msg);
    // The other key under this id's expansion must not open it.
    bytes wrong(msg.size(), 7);
    EXPECT_FALSE(decrypt(cipher::aesgcm, first ? k2 : k1, n, {}, got, wrong, first ? id2 : id1));
    EXPECT_EQ(wrong, bytes(msg.size(), 0));
  }
  // After forget_key the key is expanded again from what the caller passes.
  forget_key(id1);
  forget_key(id1);  // twice, and for an id not held: no effect
  forget_key(0);
  bytes expect(msg.size() + aead_tag_len), got(expect.size());
  encrypt(cipher::aesgcm, k1, 9, {}, msg, expect);
  encrypt(cipher::aesgcm, k1, 9, {}, msg, got, id1);
  EXPECT_EQ(got, expect);
  forget_key(id1);
}

TEST_F(NoisePrimitives, DecryptRejectsShortCiphertext) {
  const std::array<byte, cipher_key_len> k{};
  const bytes ct(aead_tag_len - 1, 0);
  EXPECT_FALSE(decrypt(cipher::chachapoly, k, 0, {}, ct, std::span<byte>{}));
}

}  // namespace
}  // namespace relay::crypto::noise
