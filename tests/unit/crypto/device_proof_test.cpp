// Device proofs: the relay's check accepts exactly the proof made with the identity's secret
// for this relay and this handshake (protocol.md 5.2.1).
#include "relay/crypto/device_proof.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "relay/crypto/sodium.hpp"
#include "relay/util/bytes.hpp"

namespace relay::crypto {
namespace {

class DeviceProof : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init(); }
};

bytes seq(byte first, std::size_t n) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<byte>(first + i);
  return b;
}

// Computed with Python's `cryptography` (X25519) and hashlib.blake2b, from protocol.md 5.2.1
// alone: an independent implementation of the text.
TEST_F(DeviceProof, MatchesAnIndependentImplementationOfTheText) {
  const key_pair identity = key_pair::from_secret(seq(1, 32));
  const key_pair relay = key_pair::from_secret(seq(33, 32));
  const bytes h(64, 0xaa);
  EXPECT_EQ(to_hex(identity.pub()),
            "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
  EXPECT_EQ(to_hex(relay.pub()),
            "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b");
  const auto proof = device_proof(identity, relay.pub(), h);
  ASSERT_TRUE(proof);
  EXPECT_EQ(to_hex(*proof), "5c86d14c38e7ecea05dc7a79550da153af01d8052d37727a35384e8483955fa1");
  EXPECT_TRUE(check_device_proof(relay, identity.pub(), h, *proof));
}

TEST_F(DeviceProof, AnyOtherKeyHandshakeOrBitIsRefused) {
  const key_pair identity = key_pair::generate(os_random());
  const key_pair relay = key_pair::generate(os_random());
  const key_pair other = key_pair::generate(os_random());
  const bytes h(64, 0x11);
  const auto proof = device_proof(identity, relay.pub(), h);
  ASSERT_TRUE(proof);
  EXPECT_TRUE(check_device_proof(relay, identity.pub(), h, *proof));
  EXPECT_FALSE(check_device_proof(relay, other.pub(), h, *proof));     // someone else's key
  EXPECT_FALSE(check_device_proof(other, identity.pub(), h, *proof));  // another relay
  EXPECT_FALSE(check_device_proof(relay, identity.pub(), bytes(64, 0x12), *proof));  // replay
  EXPECT_FALSE(check_device_proof(relay, identity.pub(), {}, *proof));  // no handshake kept
  for (std::size_t i = 0; i < proof->size(); ++i) {
    auto bad = *proof;
    bad[i] ^= 0x01;
    EXPECT_FALSE(check_device_proof(relay, identity.pub(), h, bad)) << i;
  }
}

TEST_F(DeviceProof, ALowOrderRelayKeyGivesNoProof) {
  const key_pair identity = key_pair::generate(os_random());
  EXPECT_FALSE(device_proof(identity, public_key{}, bytes(64, 1)));  // all zeros: low order
  const key_pair relay = key_pair::generate(os_random());
  EXPECT_FALSE(check_device_proof(relay, public_key{}, bytes(64, 1), device_proof_bytes{}));
}

}  // namespace
}  // namespace relay::crypto
