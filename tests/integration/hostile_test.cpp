// Hostile peers over real sockets: each bad input closes only that connection and the relay
// keeps serving everyone else.
#include <gtest/gtest.h>

#include "relay/crypto/random.hpp"
#include "relay/proto/record.hpp"
#include "support/relay_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace relay::test {
namespace {

class HostileTest : public ::testing::Test {
 protected:
  temp_dir dir;
  relay_fixture relay{test_config(dir.path())};

  /// alice and bob can still sign in and chat.
  void expect_relay_still_serves() {
    test_client alice(relay.port()), bob(relay.port());
    const std::string a = "alice" + std::to_string(++n_), b = "bob" + std::to_string(n_);
    alice.sign_up_ok(a, "alice-password");
    bob.sign_up_ok(b, "bob-password");
    ASSERT_TRUE(alice.wait_roster(b, true));
    alice.send_text(b, "still fine");
    auto got = bob.receive_text();
    ASSERT_TRUE(got && got->text);
    EXPECT_EQ(*got->text, "still fine");
  }

 private:
  int n_ = 0;
};

TEST_F(HostileTest, RandomBytesBeforeHandshake) {
  raw_socket s(relay.port());
  bytes junk(4096);
  crypto::os_random().fill(junk);
  s.write(junk);
  EXPECT_TRUE(s.closed_within(3s));
  expect_relay_still_serves();
}

TEST_F(HostileTest, HttpRequestInsteadOfNoise) {
  raw_socket s(relay.port());
  const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  s.write(as_bytes(req));
  EXPECT_TRUE(s.closed_within(3s));
  expect_relay_still_serves();
}

TEST_F(HostileTest, ZeroLengthRecord) {
  raw_socket s(relay.port());
  s.write(bytes{0, 0});
  EXPECT_TRUE(s.closed_within(3s));
  expect_relay_still_serves();
}

TEST_F(HostileTest, TruncatedRecordThenClose) {
  {
    raw_socket s(relay.port());
    s.write(bytes{0x00, 0x20, 1, 2, 3});  // declares 32 bytes, sends 3, leaves
  }
  expect_relay_still_serves();
}

TEST_F(HostileTest, EmptyTransportMessageIsAProtocolError) {
  test_client c(relay.port());
  c.send_raw_frame(bytes{});  // a valid Noise message carrying no frame at all
  auto closing = c.expect<proto::closing>();
  ASSERT_TRUE(closing);
  EXPECT_EQ(closing->code, proto::reason::protocol_error);
  expect_relay_still_serves();
}

TEST_F(HostileTest, RelayOnlyFrameFromClientIsAProtocolError) {
  test_client c(relay.port());
  c.send_frame(proto::welcome{"mallory"});
  auto closing = c.expect<proto::closing>();
  ASSERT_TRUE(closing);
  EXPECT_EQ(closing->code, proto::reason::protocol_error);
  EXPECT_EQ(closing->text, "unexpected frame from client: type 0x81 is one only the relay sends");
  EXPECT_TRUE(c.closed_within(3s));
  // The type byte alone says the same (a black-box review got "truncated frame (frame type
  // 0x81)" for it), and so does a whole closing.
  for (const bytes& frame : {bytes{0x81}, proto::encode(proto::closing{})}) {
    test_client other(relay.port());
    other.send_raw_frame(frame);
    auto said = other.expect<proto::closing>();
    ASSERT_TRUE(said);
    EXPECT_EQ(said->text, "unexpected frame from client: type 0x" +
                              std::string(frame[0] == 0x81 ? "81" : "85") +
                              " is one only the relay sends");
  }
  expect_relay_still_serves();
}

// A review signed up with 32 zero bytes as its identity key: the account was made, and every
// client online was told of a key nobody holds. Now a low-order key (any of them) is refused
// in a sign-up and a sign-in alike, before anything else, and nothing is stored.
TEST_F(HostileTest, ALowOrderIdentityKeyIsAProtocolErrorAndNoAccountIsMade) {
  test_client alice(relay.port());
  alice.sign_up_ok("alice", "alice-password");
  proto::key_bytes zero{}, one{};
  one[0] = 1;
  proto::key_bytes order8{};  // a point of order 8 (libsodium's list of small-order points)
  const char* hex = "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800";
  for (std::size_t i = 0; i < order8.size(); ++i) {
    order8[i] = static_cast<byte>(std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
  }
  for (const auto& key : {zero, one, order8}) {
    for (const bool sign_up : {true, false}) {
      test_client mallory(relay.port());
      if (sign_up) {
        mallory.send_frame(proto::sign_up{"zerokey", "zerokey-password", key});
      } else {
        mallory.send_frame(proto::sign_in{"alice", "alice-password", key});
      }
      const auto closing = mallory.expect<proto::closing>();
      ASSERT_TRUE(closing);
      EXPECT_EQ(closing->code, proto::reason::protocol_error);
      EXPECT_EQ(closing->text,
                "the identity key is unusable (a low-order point: no one holds its secret key)");
      EXPECT_TRUE(mallory.closed_within(3s));
    }
  }
  EXPECT_EQ(relay.console("db").find("zerokey"), std::string::npos);
  EXPECT_FALSE(alice.wait_roster("zerokey", true, 300ms));
  expect_relay_still_serves();
}

TEST_F(HostileTest, OversizeCiphertextLengthIsAProtocolError) {
  test_client c(relay.port());
  c.sign_up_ok("mallory", "mallory-password");
  // A send frame whose blob16 length exceeds max_ciphertext; built by hand.
  bytes frame{0x03, 0, 0, 0, 1, 3, 'b', 'o', 'b', 0xff, 0xff};
  frame.resize(frame.size() + 100, 0);
  c.send_raw_frame(frame);
  auto closing = c.expect<proto::closing>();
  ASSERT_TRUE(closing);
  EXPECT_EQ(closing->code, proto::reason::protocol_error);
  expect_relay_still_serves();
}

TEST_F(HostileTest, GarbageFrameTypeIsAProtocolError) {
  test_client c(relay.port());
  c.send_raw_frame(bytes{0x7e, 1, 2, 3});
  auto closing = c.expect<proto::closing>();
  ASSERT_TRUE(closing);
  EXPECT_EQ(closing->code, proto::reason::protocol_error);
  expect_relay_still_serves();
}

TEST_F(HostileTest, ManyBadPeersAtOnce) {
  std::vector<std::unique_ptr<raw_socket>> bad;
  for (int i = 0; i < 50; ++i) {
    bad.push_back(std::make_unique<raw_socket>(relay.port()));
    bad.back()->write(bytes{0xff, 0xff, 0, 1, 2});
  }
  expect_relay_still_serves();
}

}  // namespace
}  // namespace relay::test
