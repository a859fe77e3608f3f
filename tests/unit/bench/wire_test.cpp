#include "relay/bench/wire.hpp"

#include <gtest/gtest.h>

#include "relay/crypto/keys.hpp"
#include "relay/crypto/sodium.hpp"
#include "relay/proto/frames.hpp"
#include "relay/transport/noise.hpp"

namespace relay::bench {
namespace {

byte_view body_of(const bytes& rec) { return byte_view(rec).subspan(2); }

// The bench initiator against the relay's own Noise responder: same keys both ways.
TEST(BenchWire, HandshakeAndTransportInteroperateWithNoiseSession) {
  crypto::init();
  auto relay_static = crypto::key_pair::generate(crypto::os_random());
  transport::noise_session relay(transport::noise_session::role::responder, relay_static,
                                 crypto::os_random());
  key32 secret{};
  crypto::os_random().fill(secret);
  xx_initiator client(secret, crypto::os_random());

  bytes m1;
  client.write_message1(m1);
  ASSERT_EQ(m1.size(), 2u + 32u);
  ASSERT_TRUE(relay.read_handshake(body_of(m1)));
  auto m2 = relay.write_handshake({});
  ASSERT_TRUE(m2);
  ASSERT_TRUE(client.read_message2(*m2));
  EXPECT_EQ(client.relay_key(), relay_static.pub());
  bytes m3;
  auto [tx, rx] = client.write_message3(m3);
  ASSERT_EQ(m3.size(), 2u + 64u);
  ASSERT_TRUE(relay.read_handshake(body_of(m3)));
  ASSERT_TRUE(relay.handshake_done());
  EXPECT_EQ(*relay.remote_static(), public_of(secret));

  for (int i = 0; i < 3; ++i) {  // nonces advance in step
    bytes rec;
    const bytes plain = {1, 2, 3, static_cast<byte>(i)};
    tx.seal_record(plain, rec);
    ASSERT_EQ(rec.size(), 2 + plain.size() + 16);
    EXPECT_EQ(rec[1], plain.size() + 16);
    auto got = relay.decrypt(body_of(rec));
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, plain);

    auto back = relay.encrypt(plain);
    ASSERT_TRUE(back);
    bytes out(back->size());
    auto n = rx.open(*back, out);
    ASSERT_TRUE(n);
    EXPECT_EQ(bytes(out.begin(), out.begin() + *n), plain);
  }
  auto tampered = relay.encrypt(bytes{9});
  (*tampered)[0] ^= 1;
  bytes out(tampered->size());
  EXPECT_FALSE(rx.open(*tampered, out));
}

TEST(BenchWire, TamperedMessage2IsRefused) {
  crypto::init();
  auto relay_static = crypto::key_pair::generate(crypto::os_random());
  transport::noise_session relay(transport::noise_session::role::responder, relay_static,
                                 crypto::os_random());
  key32 secret{};
  crypto::os_random().fill(secret);
  xx_initiator client(secret, crypto::os_random());
  bytes m1;
  client.write_message1(m1);
  ASSERT_TRUE(relay.read_handshake(body_of(m1)));
  auto m2 = relay.write_handshake({});
  (*m2)[50] ^= 1;
  EXPECT_FALSE(client.read_message2(*m2));
}

TEST(BenchWire, SendFrameMatchesTheProtocolEncoder) {
  bytes frame(send_frame_size(5, 40));
  auto ct = write_send_frame(frame, 77, "alice", 40);
  ASSERT_EQ(ct.size(), 40u);
  for (std::size_t i = 0; i < ct.size(); ++i) ct[i] = static_cast<byte>(i);
  bytes want_ct(40);
  for (std::size_t i = 0; i < 40; ++i) want_ct[i] = static_cast<byte>(i);
  EXPECT_EQ(frame, proto::encode(proto::send{77, "alice", want_ct}));
}

TEST(BenchWire, DeliverPingAndPongCodecs) {
  const bytes d = proto::encode(proto::deliver{"bob", bytes{4, 5, 6}});
  auto v = parse_deliver(d);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->from, "bob");
  EXPECT_EQ(bytes(v->ciphertext.begin(), v->ciphertext.end()), (bytes{4, 5, 6}));
  bytes cut(d.begin(), d.end() - 1);
  EXPECT_FALSE(parse_deliver(cut));
  bytes extra = d;
  extra.push_back(0);
  EXPECT_FALSE(parse_deliver(extra));

  auto t = parse_ping(proto::encode(proto::ping{0x0102030405060708ULL}));
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 0x0102030405060708ULL);
  EXPECT_FALSE(parse_ping(proto::encode(proto::pong{1})));
  std::array<byte, 9> pong{};
  write_pong(pong, *t);
  EXPECT_EQ(bytes(pong.begin(), pong.end()), proto::encode(proto::pong{*t}));
}

}  // namespace
}  // namespace relay::bench
