// key_pair: generation, rebuilding from a secret, copies, fingerprints.
#include "relay/crypto/keys.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "relay/crypto/sodium.hpp"
#include "relay/util/bytes.hpp"

namespace relay::crypto {
namespace {

class KeyPair : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init(); }
};

TEST_F(KeyPair, FromSecretDerivesThePublicHalf) {
  const key_pair a = key_pair::generate(os_random());
  const key_pair b = key_pair::from_secret(a.secret());
  EXPECT_EQ(b.pub(), a.pub());
  EXPECT_TRUE(std::equal(a.secret().begin(), a.secret().end(), b.secret().begin()));
  EXPECT_THROW(key_pair::from_secret(bytes(31, 1)), std::invalid_argument);
}

TEST_F(KeyPair, CopyHasTheSameKeysInItsOwnMemory) {
  const key_pair a = key_pair::generate(os_random());
  key_pair c = a.copy();
  EXPECT_EQ(c.pub(), a.pub());
  ASSERT_EQ(c.secret().size(), key_size);
  EXPECT_TRUE(std::equal(a.secret().begin(), a.secret().end(), c.secret().begin()));
  EXPECT_NE(c.secret().data(), a.secret().data());  // not shared: each wipes its own
  // The copy is a working pair: its public half matches its secret.
  EXPECT_EQ(key_pair::from_secret(c.secret()).pub(), a.pub());
  {
    key_pair gone = std::move(c);  // the moved-to pair owns the secret; a's is untouched
    EXPECT_EQ(gone.pub(), a.pub());
  }
  EXPECT_EQ(key_pair::from_secret(a.secret()).pub(), a.pub());
}

// protocol.md 8.1: a relay may announce any 32 bytes; a low-order point is no one's key.
TEST_F(KeyPair, LowOrderPointsAreNotUsableKeys) {
  EXPECT_TRUE(usable_public_key(key_pair::generate(os_random()).pub()));
  for (const char* hex : {
           "0000000000000000000000000000000000000000000000000000000000000000",  // order 4
           "0100000000000000000000000000000000000000000000000000000000000000",  // order 1
           "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
           "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
       }) {
    public_key k;
    const auto b = from_hex(hex);
    ASSERT_TRUE(b && b->size() == k.size());
    std::copy(b->begin(), b->end(), k.begin());
    EXPECT_FALSE(usable_public_key(k)) << hex;
  }
}

TEST_F(KeyPair, FingerprintsAreHexOfBlake2b256) {
  const public_key k{};
  const std::string f = fingerprint(k);
  EXPECT_EQ(f.size(), 64u);
  EXPECT_EQ(f.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(short_fingerprint(k).size(), 8u * 4u + 7u);
  EXPECT_EQ(short_fingerprint(k).substr(0, 4), f.substr(0, 4));
  EXPECT_TRUE(is_fingerprint(f));
}

// What a person types or pastes: groups, colons, capitals; bytes above 0x7f pass unharmed.
TEST_F(KeyPair, TypedFingerprintsAreNormalised) {
  const std::string f = fingerprint(public_key{});
  std::string grouped;
  for (std::size_t i = 0; i < f.size(); i += 4)
    grouped += (i ? (i % 8 ? " " : ":") : "") + f.substr(i, 4);
  for (auto& c : grouped) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(typed_fingerprint(grouped), f);
  EXPECT_TRUE(is_fingerprint(typed_fingerprint(grouped)));
  EXPECT_EQ(typed_fingerprint("Yes"), "yes");
  EXPECT_FALSE(is_fingerprint(typed_fingerprint("\xc3\xa9" + f.substr(2))));
  EXPECT_FALSE(is_fingerprint(f.substr(1)));
  EXPECT_FALSE(is_fingerprint(f + "0"));
}

}  // namespace
}  // namespace relay::crypto
