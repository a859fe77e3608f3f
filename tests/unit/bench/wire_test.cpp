#include "relay/bench/wire.hpp"

#include <gtest/gtest.h>

#include <string>

#include "relay/crypto/keys.hpp"
#include "relay/crypto/sodium.hpp"
#include "relay/proto/frames.hpp"
#include "relay/transport/noise.hpp"

namespace relay::bench {
namespace {

byte_view body_of(const bytes& rec) { return byte_view(rec).subspan(2); }

/// Which side wants AES-256-GCM: the relay (cipher_choice) and the bench client (its offer).
struct cipher_case {
  bool relay_accepts;
  bool client_offers;
  /// What the handshake must settle on: AESGCM only when both want it and the CPU has AES-NI.
  transport::cipher expected() const {
    return relay_accepts && client_offers && crypto::noise::aesgcm_available()
               ? transport::cipher::aesgcm
               : transport::cipher::chachapoly;
  }
};

std::string case_name(const ::testing::TestParamInfo<cipher_case>& i) {
  return std::string(i.param.relay_accepts ? "RelayAccepts" : "RelayRefuses") +
         (i.param.client_offers ? "ClientOffers" : "ClientDoesNotOffer");
}

/// The bench initiator and the relay's own Noise responder, before message 1.
class BenchHandshake : public ::testing::TestWithParam<cipher_case> {
 protected:
  static key32 fresh_secret() {
    crypto::init();
    key32 secret{};
    crypto::os_random().fill(secret);
    return secret;
  }
  /// Messages 1 and 2, checked; returns message 2 for tests that tamper with it.
  bytes exchange_1_and_2() {
    bytes m1;
    client.write_message1(m1);
    const bool offers = GetParam().client_offers && crypto::noise::aesgcm_available();
    EXPECT_EQ(m1.size(), 2u + 32u + (offers ? 1u : 0u));  // the offer byte, in clear
    if (offers) {
      EXPECT_EQ(m1.back(), transport::offer_aesgcm);
    }
    EXPECT_TRUE(relay.read_handshake(body_of(m1)));
    EXPECT_EQ(relay.cipher_function(), GetParam().expected());
    auto m2 = relay.write_handshake({});
    EXPECT_TRUE(m2);
    return m2 ? *m2 : bytes{};
  }

  key32 secret = fresh_secret();
  crypto::key_pair relay_static = crypto::key_pair::generate(crypto::os_random());
  transport::noise_session relay{
      transport::noise_session::role::responder, relay_static, crypto::os_random(), true,
      GetParam().relay_accepts ? transport::cipher_choice::aesgcm_if_available
                               : transport::cipher_choice::chachapoly};
  xx_initiator client{secret, crypto::os_random(), GetParam().client_offers};
};

INSTANTIATE_TEST_SUITE_P(Ciphers, BenchHandshake,
                         ::testing::Values(cipher_case{true, true}, cipher_case{true, false},
                                           cipher_case{false, true}, cipher_case{false, false}),
                         case_name);

// The bench initiator against the relay's own Noise responder: same keys both ways, the same
// cipher on both ends; message 3 carries the feature byte (feature_batch) by default.
TEST_P(BenchHandshake, HandshakeAndTransportInteroperateWithNoiseSession) {
  ASSERT_TRUE(client.read_message2(exchange_1_and_2()));
  EXPECT_EQ(client.cipher_function(), GetParam().expected());
  EXPECT_EQ(client.relay_key(), relay_static.pub());
  bytes m3;
  auto [tx, rx] = client.write_message3(m3);
  EXPECT_EQ(tx.c, GetParam().expected());
  EXPECT_EQ(rx.c, GetParam().expected());
  ASSERT_EQ(m3.size(), 2u + 65u);  // 48 (enc s) + 1 + 16 (tag)
  EXPECT_EQ(m3[0], 0x00);
  EXPECT_EQ(m3[1], 0x41);
  auto payload = relay.read_handshake(body_of(m3));
  ASSERT_TRUE(payload);
  EXPECT_EQ(*payload, bytes{proto::feature_batch});
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

// --no-batch: the message 3 of before, 64 bytes with an empty payload; transport still works.
TEST_P(BenchHandshake, Message3WithoutBatchesHasAnEmptyPayload) {
  ASSERT_TRUE(client.read_message2(exchange_1_and_2()));
  bytes m3;
  auto [tx, rx] = client.write_message3(m3, 0);
  ASSERT_EQ(m3.size(), 2u + 64u);
  EXPECT_EQ(m3[1], 0x40);
  auto payload = relay.read_handshake(body_of(m3));
  ASSERT_TRUE(payload);
  EXPECT_TRUE(payload->empty());
  ASSERT_TRUE(relay.handshake_done());
  bytes rec;
  tx.seal_record(bytes{0x06}, rec);
  auto got = relay.decrypt(body_of(rec));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, bytes{0x06});
}

// A tampered message 2 fails under both ciphers (the fallback does not rescue it).
TEST_P(BenchHandshake, TamperedMessage2IsRefused) {
  bytes m2 = exchange_1_and_2();
  ASSERT_EQ(m2.size(), 96u);
  m2[50] ^= 1;
  EXPECT_FALSE(client.read_message2(m2));
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

// Reads a plaintext back with the relay's reader: the frames, and whether it was a batch.
std::vector<bytes> read_back(byte_view plain, bool& was_batch) {
  proto::batch_reader r(plain);
  std::vector<bytes> out;
  for (;;) {
    auto f = r.next();
    EXPECT_TRUE(f) << f.error().message();
    if (!f || !*f) break;
    out.emplace_back((*f)->begin(), (*f)->end());
  }
  was_batch = r.is_batch();
  return out;
}

// The bench's in-place batches are what proto::batch_writer builds and batch_reader takes apart.
TEST(BenchWire, BatchBuilderIsReadBackByTheProtocolReader) {
  bytes buf(1 << 16);
  batch_builder b(buf);
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.plaintext().empty());

  // one frame: sent as itself, no wrapper
  const bytes ping = proto::encode(proto::ping{42});
  auto f = b.add(ping.size());
  std::copy(ping.begin(), ping.end(), f.begin());
  EXPECT_EQ(bytes(b.plaintext().begin(), b.plaintext().end()), ping);
  bool was_batch = true;
  EXPECT_EQ(read_back(b.plaintext(), was_batch), std::vector<bytes>{ping});
  EXPECT_FALSE(was_batch);

  // then sends and a pong: one batch, in order, byte for byte what batch_writer makes
  std::vector<bytes> frames{ping};
  proto::batch_writer want;
  want.add(ping);
  for (std::uint32_t i = 0; i < 30; ++i) {
    const std::string to = "bn" + std::to_string(i);
    const bytes send = proto::encode(proto::send{i, to, bytes(64, static_cast<byte>(i))});
    auto ct_area = write_send_frame(b.add(send_frame_size(to.size(), 64)), i, to, 64);
    std::fill(ct_area.begin(), ct_area.end(), static_cast<byte>(i));
    frames.push_back(send);
    want.add(send);
  }
  std::array<byte, 9> pong{};
  write_pong(pong, 7);
  write_pong(b.add(9).first<9>(), 7);
  frames.emplace_back(pong.begin(), pong.end());
  want.add(pong);
  EXPECT_EQ(b.count(), 32u);
  EXPECT_EQ(b.size(), b.plaintext().size());
  EXPECT_EQ(b.plaintext()[0], static_cast<byte>(proto::frame_type::batch));
  EXPECT_EQ(bytes(b.plaintext().begin(), b.plaintext().end()),
            bytes(want.plaintext().begin(), want.plaintext().end()));
  EXPECT_EQ(read_back(b.plaintext(), was_batch), frames);
  EXPECT_TRUE(was_batch);

  // cleared, it starts over with a lone frame
  b.clear();
  EXPECT_TRUE(b.empty());
  auto g = b.add(1);
  g[0] = 0x06;
  EXPECT_EQ(bytes(b.plaintext().begin(), b.plaintext().end()), bytes{0x06});
}

// A batch never exceeds the largest transport plaintext; fits() says when to seal.
TEST(BenchWire, BatchBuilderStaysWithinOneTransportMessage) {
  bytes buf(1 << 16);
  batch_builder b(buf);
  const std::size_t fs = send_frame_size(3, 1000);
  std::size_t n = 0;
  while (b.fits(fs)) {
    (void)write_send_frame(b.add(fs), static_cast<std::uint32_t>(n), "bn1", 1000);
    ++n;
  }
  EXPECT_EQ(n, (proto::max_frame - 1) / (fs + 2));
  EXPECT_LE(b.plaintext().size(), proto::max_frame);
  EXPECT_FALSE(b.fits(proto::max_frame - b.size()));
  EXPECT_FALSE(b.fits(0));
  bool was_batch = false;
  EXPECT_EQ(read_back(b.plaintext(), was_batch).size(), n);
  EXPECT_TRUE(was_batch);
  // a lone frame as large as a batch entry may be fills the message exactly
  b.clear();
  EXPECT_TRUE(b.fits(proto::max_frame - 3));
  EXPECT_FALSE(b.fits(proto::max_frame - 2));
  (void)b.add(proto::max_frame - 3);
  EXPECT_EQ(b.plaintext().size(), proto::max_frame - 3);
  // with a small buffer, the buffer is the limit
  bytes small(100);
  batch_builder s(small);
  EXPECT_TRUE(s.fits(97));
  EXPECT_FALSE(s.fits(98));
}

}  // namespace
}  // namespace relay::bench
