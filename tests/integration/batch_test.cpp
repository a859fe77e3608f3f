// Batches (protocol.md 4.3, 5.12) over real sockets: the relay seals frames queued for a peer
// that announced feature_batch as one transport message, never batches for a peer that did
// not, handles a client's batch frame by frame with every per-frame rule, and refuses
// malformed batches.
#include <gtest/gtest.h>

#include "support/relay_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace relay::test {
namespace {

constexpr int burst = 60;

struct pair_fixture {
  temp_dir dir;
  relay_fixture relay;
  test_client alice;
  test_client bob;
  explicit pair_fixture(bool alice_batches)
      : relay(test_config(dir.path())),
        alice(relay.port(), nullptr, alice_batches),
        bob(relay.port(), nullptr, true) {
    alice.sign_up_ok("alice", "alice-password");
    bob.sign_up_ok("bob", "bob-password");
    EXPECT_TRUE(alice.wait_roster("bob", true));
    EXPECT_TRUE(bob.chat().is_online("alice"));
  }
  /// bob sends `burst` numbered messages to alice in one batch; alice reads them all.
  void burst_to_alice() {
    std::vector<proto::frame> sends;
    for (int i = 0; i < burst; ++i) {
      sends.emplace_back(bob.sealed_send("alice", "message " + std::to_string(i),
                                         static_cast<std::uint32_t>(i + 1)));
    }
    bob.send_batch(sends);
    for (int i = 0; i < burst; ++i) {
      auto got = alice.receive_text();
      ASSERT_TRUE(got) << "message " << i << " never arrived";
      EXPECT_EQ(got->from, "bob");
      ASSERT_TRUE(got->text) << got->text.error().message();
      EXPECT_EQ(*got->text, "message " + std::to_string(i));
    }
  }
};

TEST(Batch, QueuedDeliversReachABatchingPeerInFewTransportMessages) {
  pair_fixture f(true);
  const std::size_t before = f.alice.transport_messages();
  f.burst_to_alice();
  const std::size_t used = f.alice.transport_messages() - before;
  // All sixty were routed in one pass over bob's batch, so they were sealed together.
  EXPECT_GE(f.alice.batches_received(), 1u);
  EXPECT_LT(used, static_cast<std::size_t>(burst) / 4) << used << " transport messages";
}

// One message to an idle batching peer: the relay runs the handler that reads bob's record
// and one flush that seals and writes alice's queue. The flush must not post another flush
// (it would find nothing left: a wasted handler and reactor poll per write).
TEST(Batch, EachDeliveryTakesOneReadAndOneFlush) {
  pair_fixture f(true);
  constexpr int n = 40;
  const std::uint64_t before = f.relay.handlers_run();
  for (int i = 0; i < n; ++i) {
    f.bob.send_text("alice", "one at a time " + std::to_string(i),
                    static_cast<std::uint32_t>(i + 1));
    auto got = f.alice.receive_text();
    ASSERT_TRUE(got) << i;
  }
  const std::uint64_t used = f.relay.handlers_run() - before;
  // The last flush may still be counting when alice has its message; timers (the sweep,
  // the rate sampler) may add a few, more so under a sanitizer. Three per message: 120.
  EXPECT_GE(used, 2u * n - 2);
  EXPECT_LE(used, 2u * n + 10) << "handlers for " << n << " messages";
}

TEST(Batch, APeerThatDidNotAskNeverGetsABatch) {
  pair_fixture f(false);
  const std::size_t before = f.alice.transport_messages();
  f.burst_to_alice();  // next_frame() throws on a batch for this client
  EXPECT_EQ(f.alice.batches_received(), 0u);
  EXPECT_EQ(f.alice.transport_messages() - before, static_cast<std::size_t>(burst));
}

TEST(Batch, FramesOfAClientBatchKeepTheirOrderAndRules) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.message_burst = 5;
  cfg.message_rate = 0.001;
  relay_fixture relay(cfg);
  test_client alice(relay.port(), nullptr, true);
  test_client bob(relay.port(), nullptr, true);
  alice.sign_up_ok("alice", "alice-password");
  bob.sign_up_ok("bob", "bob-password");
  ASSERT_TRUE(bob.wait_roster("alice", true));

  // A ping, a send to nobody, then eight sends, in one batch. The rate limit allows five
  // frames that are answered or forwarded: the ping, the send to nobody and three sends.
  std::vector<proto::frame> frames{proto::ping{42}, proto::send{99, "nobody", bytes(104, 1)}};
  for (std::uint32_t i = 1; i <= 8; ++i) frames.emplace_back(bob.sealed_send("alice", "m", i));
  bob.send_batch(frames);

  auto pong = bob.expect<proto::pong>();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->token, 42u);
  std::vector<std::uint32_t> limited;
  std::optional<proto::error> unknown;
  while (auto e = bob.expect<proto::error>(std::chrono::milliseconds(500))) {
    if (e->code == proto::reason::rate_limited) limited.push_back(e->ref);
    if (e->code == proto::reason::unknown_recipient) unknown = e;
  }
  EXPECT_EQ(limited, (std::vector<std::uint32_t>{4, 5, 6, 7, 8}));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->ref, 99u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(alice.receive_text()) << i;
  EXPECT_FALSE(alice.receive_text(std::chrono::milliseconds(300)));
}

TEST(Batch, ByeInsideABatchEndsAfterTheFramesBeforeIt) {
  pair_fixture f(true);
  f.bob.send_batch({f.bob.sealed_send("alice", "last words"), proto::bye{}});
  auto got = f.alice.receive_text();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got->text, "last words");
  EXPECT_TRUE(f.bob.closed_within(std::chrono::seconds(3)));
  EXPECT_TRUE(f.alice.wait_roster("bob", false));
}

TEST(Batch, MalformedBatchesCloseWithProtocolError) {
  temp_dir dir;
  relay_fixture relay(test_config(dir.path()));
  // Each with the text the closing carries.
  const std::vector<std::pair<bytes, std::string>> bad{
      {{0x07}, "bad batch: no entries"},
      {{0x07, 0x00, 0x00}, "bad batch: empty frame"},
      {{0x07, 0x00, 0x09, 0x04}, "bad batch: truncated frame"},
      {{0x07, 0x00, 0x04, 0x07, 0x00, 0x01, 0x06},
       "bad batch: a batch, padded, sign_in, sign_up, change_password or delete_account entry "
       "(these travel alone)"},
  };
  for (const auto& [plain, text] : bad) {
    test_client c(relay.port(), nullptr, true);
    c.sign_up_ok("user" + std::to_string(plain.size()) + std::to_string(plain.back()),
                 "some-password");
    c.send_raw_frame(plain);
    auto closing = c.expect<proto::closing>();
    ASSERT_TRUE(closing) << "no closing for a bad batch of " << plain.size() << " bytes";
    EXPECT_EQ(closing->code, proto::reason::protocol_error);
    EXPECT_EQ(closing->text, text);
    EXPECT_TRUE(c.closed_within(std::chrono::seconds(3)));
  }
  // Credentials never travel in a batch: a sign_in inside one is refused before any check.
  test_client c(relay.port(), nullptr, true);
  const proto::key_bytes k = usable_key();
  c.send_batch({proto::sign_in{"alice", "alice-password", k}});
  auto closing = c.expect<proto::closing>();
  ASSERT_TRUE(closing);
  EXPECT_EQ(closing->code, proto::reason::protocol_error);
  EXPECT_EQ(closing->text,
            "bad batch: a batch, padded, sign_in, sign_up, change_password or delete_account entry "
            "(these travel alone)");
}

// --- padded messages (protocol.md 5.14) ---------------------------------------------------

TEST(Padded, PaddedCredentialsSendsAndBatchesAreHandledAsTheirContent) {
  temp_dir dir;
  relay_fixture relay(test_config(dir.path()));
  test_client alice(relay.port(), nullptr, true), bob(relay.port(), nullptr, true);
  alice.pad_like_our_client();
  bob.pad_like_our_client();
  alice.sign_up_ok("alice", "alice-password");  // a padded sign_up
  bob.sign_up_ok("bob", "bob-password");
  ASSERT_TRUE(alice.wait_roster("bob", true));
  bob.send_text("alice", "padded hello");  // a padded send
  auto got = alice.receive_text();
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->text);
  EXPECT_EQ(*got->text, "padded hello");
  // A batch inside a padded message: its frames in order, a ping answered too.
  proto::batch_writer w;
  w.add(proto::encode(bob.sealed_send("alice", "one", 2)));
  w.add(proto::encode(proto::ping{77}));
  w.add(proto::encode(bob.sealed_send("alice", "two", 3)));
  bytes padded;
  proto::pad(w.plaintext(), 1024, padded);
  bob.send_raw_frame(padded);
  auto pong = bob.expect<proto::pong>();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->token, 77u);
  for (const char* text : {"one", "two"}) {
    auto m = alice.receive_text();
    ASSERT_TRUE(m) << text;
    ASSERT_TRUE(m->text);
    EXPECT_EQ(*m->text, text);
  }
  // And a padded sign_in, on a new connection.
  bob.send_frame(proto::bye{});
  ASSERT_TRUE(alice.wait_roster("bob", false));
  test_client again(relay.port(), nullptr, true);
  again.pad_like_our_client();
  again.use_identity(bob.identity());
  auto welcome = again.sign_in("bob", "bob-password");
  ASSERT_TRUE(welcome);
  EXPECT_TRUE(std::holds_alternative<proto::welcome>(*welcome));
  EXPECT_TRUE(alice.wait_roster("bob", true));
}

TEST(Padded, TheRelayPadsWhatItSendsOnlyToAClientThatAsks) {
  temp_dir dir;
  relay_fixture relay(test_config(dir.path()));
  test_client alice(relay.port(), nullptr, true, transport::cipher_choice::aesgcm_if_available,
                    proto::feature_padding);
  test_client carol(relay.port(), nullptr, true);
  const std::string bart = "bartholomew.of.the.north";
  test_client b(relay.port(), nullptr, true), bartholomew(relay.port(), nullptr, true);
  alice.sign_up_ok("alice", "alice-password");
  carol.sign_up_ok("carol", "carol-password");
  b.sign_up_ok("b", "b-password");
  bartholomew.sign_up_ok(bart, "bart-password");
  for (test_client* c : {&alice, &carol}) {
    ASSERT_TRUE(c->wait_roster("b", true));
    ASSERT_TRUE(c->wait_roster(bart, true));
  }
  // The same text from a 1-byte and a 24-byte name: one length for alice, two for carol.
  auto sizes_of_two = [&](test_client& to, const std::string& to_name) {
    std::vector<std::size_t> sizes;
    for (test_client* from : {&b, &bartholomew}) {
      from->send_text(to_name, "same text");
      auto got = to.receive_text();
      EXPECT_TRUE(got && got->text && *got->text == "same text");
      sizes.push_back(to.last_message_size());
    }
    return sizes;
  };
  const auto padded = sizes_of_two(alice, "alice");
  EXPECT_EQ(padded[0], padded[1]);
  const auto plain = sizes_of_two(carol, "carol");
  EXPECT_EQ(plain[1] - plain[0], bart.size() - 1);
  // An error naming what was typed: one length whatever the name.
  std::vector<std::size_t> errors;
  for (const std::string to : {"x", "nobody-by-that-longer-name"}) {
    alice.send_frame(proto::send{9, to, bytes(104, 1)});
    auto e = alice.expect<proto::error>();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->text, to + " is not online");
    errors.push_back(alice.last_message_size());
  }
  EXPECT_EQ(errors[0], errors[1]);
  // Everything alice got was padded (the welcome and roster too); nothing carol got was.
  EXPECT_EQ(alice.padded_received(), alice.transport_messages());
  EXPECT_EQ(carol.padded_received(), 0U);
}

// Two delivers that fill a batch to the last byte (65519) leave no room for the padded
// header: the relay sends them one by one, each padded, rather than that batch unpadded.
TEST(Padded, ABatchTooLongToPadGoesFrameByFrame) {
  temp_dir dir;
  relay_fixture relay(test_config(dir.path()));
  const std::string sender = "alice-with-a-long-name";  // 22 bytes: delivers outgrow sends
  test_client alice(relay.port(), nullptr, true);
  test_client b(relay.port(), nullptr, true, transport::cipher_choice::aesgcm_if_available,
                proto::feature_padding);
  alice.sign_up_ok(sender, "alice-password");
  b.sign_up_ok("b", "b-password");
  ASSERT_TRUE(alice.wait_roster("b", true));
  // deliver = 1 + 1 + 22 + 2 + 32731 = 32757 bytes; two batch entries: 1 + 2 * 32759 = 65519.
  const std::size_t ct = 32731;
  ASSERT_EQ(1 + 2 * (2 + 1 + 1 + sender.size() + 2 + ct), proto::max_frame);
  const std::size_t before = b.transport_messages(), padded_before = b.padded_received();
  alice.send_batch({proto::send{1, "b", bytes(ct, 0x11)}, proto::send{2, "b", bytes(ct, 0x22)}});
  for (byte fill : {byte{0x11}, byte{0x22}}) {
    auto d = b.expect<proto::deliver>();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->from, sender);
    EXPECT_EQ(d->ciphertext, bytes(ct, fill));
  }
  EXPECT_EQ(b.transport_messages() - before, 2U);
  EXPECT_EQ(b.padded_received() - padded_before, 2U) << "a batch went unpadded";
}

TEST(Padded, BadPaddingClosesThatConnectionOnly) {
  temp_dir dir;
  relay_fixture relay(test_config(dir.path()));
  test_client alice(relay.port(), nullptr, true), bob(relay.port(), nullptr, true);
  alice.sign_up_ok("alice", "alice-password");
  bob.sign_up_ok("bob", "bob-password");
  ASSERT_TRUE(alice.wait_roster("bob", true));
  const bytes ping = proto::encode(proto::ping{5});
  bytes good;
  proto::pad(ping, 40, good);
  bytes dirty = good, past = good, nested;
  dirty.back() = 0x2a;
  past[2] = 0xff;
  proto::pad(good, good.size() + 3, nested);
  for (const bytes& plain : {dirty, past, nested, bytes{0x08, 0x00}}) {
    test_client c(relay.port(), nullptr, true);
    c.sign_up_ok(
        "user" + std::to_string(plain.size()) + "x" + std::to_string(plain[2 % plain.size()]),
        "some-password");
    c.send_raw_frame(plain);
    auto closing = c.expect<proto::closing>();
    ASSERT_TRUE(closing) << "no closing for a bad padded message of " << plain.size() << " bytes";
    EXPECT_EQ(closing->code, proto::reason::protocol_error);
    EXPECT_EQ(closing->text,
              "bad padded message: a length of 0 or past the end, padded content, or a padding "
              "byte that is not zero");
    EXPECT_TRUE(c.closed_within(std::chrono::seconds(3)));
  }
  bob.send_text("alice", "still here");
  auto got = alice.receive_text();
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->text);
  EXPECT_EQ(*got->text, "still here");
}

}  // namespace
}  // namespace relay::test
