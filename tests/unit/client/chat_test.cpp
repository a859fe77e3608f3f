#include "relay/client/chat.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>

#include "relay/crypto/sodium.hpp"

namespace relay::client {
namespace {

proto::key_bytes bytes_of(const crypto::public_key& k) {
  proto::key_bytes b;
  std::copy(k.begin(), k.end(), b.begin());
  return b;
}

struct ChatTest : ::testing::Test {
  ChatTest() { crypto::init(); }
  crypto::key_pair ka = crypto::key_pair::generate(crypto::os_random());
  crypto::key_pair kb = crypto::key_pair::generate(crypto::os_random());
  crypto::key_pair kc = crypto::key_pair::generate(crypto::os_random());
  crypto::public_key pa = ka.pub(), pb = kb.pub(), pc = kc.pub();
  chat alice{"alice", std::move(ka), crypto::os_random()};
  chat bob{"bob", std::move(kb), crypto::os_random()};
  chat carol{"carol", std::move(kc), crypto::os_random()};

  void everyone_online() {
    const proto::presence all{true,
                              true,
                              {{proto::presence_entry::kind::online, "alice", bytes_of(pa)},
                               {proto::presence_entry::kind::online, "bob", bytes_of(pb)},
                               {proto::presence_entry::kind::online, "carol", bytes_of(pc)}}};
    alice.apply(all);
    bob.apply(all);
    carol.apply(all);
  }
};

TEST_F(ChatTest, PresenceWithAnImpossibleNameIsIgnored) {
  // A misbehaving relay could otherwise put line breaks or escapes into every notice.
  auto ev = alice.apply({false,
                         false,
                         {{proto::presence_entry::kind::online, "x\nbob: fake", bytes_of(pb)},
                          {proto::presence_entry::kind::online, "\x1b[2J", bytes_of(pb)},
                          {proto::presence_entry::kind::online, "carol", bytes_of(pc)}}});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].name, "carol");
  EXPECT_EQ(alice.online().size(), 1u);
}

TEST_F(ChatTest, RoundTrip) {
  everyone_online();
  auto ct = alice.seal_to("bob", "hello: there");
  ASSERT_TRUE(ct);
  auto opened = bob.open_from("alice", *ct);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->text, "hello: there");
  EXPECT_FALSE(opened->key_notice);
}

TEST_F(ChatTest, ReplayIsRejected) {
  everyone_online();
  auto ct = alice.seal_to("bob", "pay 10");
  ASSERT_TRUE(bob.open_from("alice", *ct));
  auto again = bob.open_from("alice", *ct);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), chat_errc::replayed);
}

TEST_F(ChatTest, OlderMessageAfterNewerIsRejected) {
  everyone_online();
  auto first = alice.seal_to("bob", "1");
  auto second = alice.seal_to("bob", "2");
  ASSERT_TRUE(bob.open_from("alice", *second));
  EXPECT_EQ(bob.open_from("alice", *first).error(), chat_errc::replayed);
}

TEST_F(ChatTest, ReaddressedMessageIsRejected) {
  everyone_online();
  // Sealed for bob; a relay hands it to carol: carol cannot open it.
  auto ct = alice.seal_to("bob", "for bob only");
  EXPECT_EQ(carol.open_from("alice", *ct).error(), chat_errc::cannot_open);
}

TEST_F(ChatTest, SenderRelabelledByRelayIsRejected) {
  everyone_online();
  // alice -> bob, but the relay claims it came from carol: carol's key does not open it.
  auto ct = alice.seal_to("bob", "hi");
  EXPECT_EQ(bob.open_from("carol", *ct).error(), chat_errc::cannot_open);
}

TEST_F(ChatTest, TheCounterCarriesWhenALineWasTypedAndStillIncreases) {
  everyone_online();
  const std::uint64_t typed = 1714566896789000;  // 2024: long before now
  auto first = alice.seal_to("bob", "typed a while ago", typed);
  auto opened = bob.open_from("alice", *first);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->counter, typed);
  // A later line typed at the same instant (or a clock that went back) still counts up.
  auto second = alice.seal_to("bob", "same instant", typed);
  opened = bob.open_from("alice", *second);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->counter, typed + 1);
  auto now = alice.seal_to("bob", "now");
  opened = bob.open_from("alice", *now);
  ASSERT_TRUE(opened);
  EXPECT_GT(opened->counter, typed + 1000000000);
}

TEST_F(ChatTest, MessageBouncedBackToTheSenderIsRejected) {
  everyone_online();
  // crypto_box keys are symmetric between the two parties, so alice opens the outer box; the
  // inner one is sealed to bob's identity key (or, once known, his session key).
  auto ct = alice.seal_to("bob", "hi");
  auto r = alice.open_from("bob", *ct);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), chat_errc::cannot_open);
  ASSERT_TRUE(bob.open_from("alice", *ct));  // bob answers: alice learns his session key
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_to("alice", "hello")));
  ct = alice.seal_to("bob", "hi again");
  r = alice.open_from("bob", *ct);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), chat_errc::stale_session);  // sealed to bob's session key, not hers
}

// protocol.md 8.5: a peer's session key comes with their first message; ours go to it from
// then on, until they sign in again (a new run, perhaps) or the connection is lost.
TEST_F(ChatTest, SessionKeysAreLearntFromMessagesAndForgottenWhenThePeerSignsInAgain) {
  everyone_online();
  EXPECT_FALSE(alice.knows_session_of("bob"));
  EXPECT_TRUE(alice.knows_session_of("alice"));
  ASSERT_TRUE(bob.open_from("alice", *alice.seal_to("bob", "one")));
  EXPECT_TRUE(bob.knows_session_of("alice"));
  EXPECT_FALSE(alice.knows_session_of("bob"));
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_to("alice", "two")));
  EXPECT_TRUE(alice.knows_session_of("bob"));
  EXPECT_FALSE(alice.knows_session_of("carol"));  // a message from bob says nothing of carol
  ASSERT_TRUE(bob.open_from("alice", *alice.seal_to("bob", "three")));
  // Bob signs in again (same key): his session key may be a new run's.
  alice.apply({false, false, {{proto::presence_entry::kind::online, "bob", bytes_of(pb)}}});
  EXPECT_FALSE(alice.knows_session_of("bob"));
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_to("alice", "four")));
  EXPECT_TRUE(alice.knows_session_of("bob"));
  alice.apply({false, false, {{proto::presence_entry::kind::offline, "bob", {}}}});
  EXPECT_FALSE(alice.knows_session_of("bob"));
  everyone_online();
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_to("alice", "five")));
  alice.forget_roster();
  EXPECT_FALSE(alice.knows_session_of("bob"));
}

TEST_F(ChatTest, ANewRunCannotReadWhatWasSealedToTheLastRunsSessionKey) {
  everyone_online();
  crypto::key_pair bob_identity = crypto::key_pair::from_secret(bob.identity().secret());
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_to("alice", "hi")));
  const auto to_session = alice.seal_to("bob", "sealed to this run of bob's");
  ASSERT_TRUE(to_session);
  chat bob_again{"bob", std::move(bob_identity), crypto::os_random()};
  bob_again.apply({true, true, {{proto::presence_entry::kind::online, "alice", bytes_of(pa)}}});
  auto r = bob_again.open_from("alice", *to_session);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), chat_errc::stale_session);
  EXPECT_TRUE(bob.open_from("alice", *to_session));  // the run it was sealed for reads it
}

// protocol.md 8.5: a renewed session key is learnt from the next message; what was sealed to
// the one before still opens, what was sealed to the one before that no longer does.
TEST_F(ChatTest, ARenewedSessionKeyKeepsTheOneBeforeAndErasesTheOlder) {
  everyone_online();
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_to("alice", "hi")));
  ASSERT_TRUE(bob.open_from("alice", *alice.seal_to("bob", "hello")));
  const crypto::public_key first = bob.session_key();
  const auto to_first = alice.seal_to("bob", "sealed to bob's first session key");
  bob.renew_session();
  EXPECT_NE(bob.session_key(), first);
  EXPECT_TRUE(bob.open_from("alice", *to_first));  // sent before alice knew the new one
  const auto to_first_again = alice.seal_to("bob", "still to the first");
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_to("alice", "my new key comes with this")));
  const auto to_second = alice.seal_to("bob", "sealed to bob's second session key");
  bob.renew_session();
  auto r = bob.open_from("alice", *to_first_again);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), chat_errc::stale_session);  // two renewals old: erased
  EXPECT_TRUE(bob.open_from("alice", *to_second));
}

// A relay that announces a sign-in that did not happen makes clients forget a session key
// and seal to the identity key (protocol.md 8.5). A client makes a new session key at every
// sign-in, so the peer's next message, from the same session key, gives the lie away.
TEST_F(ChatTest, ASignInTheRelayMadeUpShowsInThePeersNextMessage) {
  everyone_online();
  ASSERT_TRUE(bob.open_from("alice", *alice.seal_to("bob", "hi")));
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_to("alice", "hello")));
  const proto::presence bob_again{
      false, false, {{proto::presence_entry::kind::online, "bob", bytes_of(pb)}}};
  alice.apply(bob_again);  // made up: bob's client did not sign in again
  EXPECT_FALSE(alice.knows_session_of("bob"));
  auto opened = alice.open_from("bob", *bob.seal_to("alice", "still me"));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->not_signed_in_again);
  EXPECT_TRUE(alice.knows_session_of("bob"));
  opened = alice.open_from("bob", *bob.seal_to("alice", "once is enough"));
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->not_signed_in_again);  // said once per announcement
  // A real sign-in of bob's brings a new session key: nothing to say.
  alice.apply(bob_again);
  bob.renew_session();
  opened = alice.open_from("bob", *bob.seal_to("alice", "back"));
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->not_signed_in_again);
}

TEST_F(ChatTest, NotOnlineAndTooLong) {
  EXPECT_EQ(alice.seal_to("bob", "x").error(), chat_errc::not_online);
  everyone_online();
  EXPECT_EQ(alice.seal_to("bob", std::string(crypto::max_text + 1, 'x')).error(),
            chat_errc::too_long);
  EXPECT_TRUE(alice.seal_to("bob", std::string(crypto::max_text, 'x')));
}

TEST_F(ChatTest, PresenceEvents) {
  auto ev = alice.apply({false,
                         false,
                         {{proto::presence_entry::kind::online, "bob", bytes_of(pb)},
                          {proto::presence_entry::kind::online, "alice", bytes_of(pa)}}});
  ASSERT_EQ(ev.size(), 1u);  // never lists myself
  EXPECT_EQ(ev[0].what, roster_event::kind::joined);
  ev = alice.apply({false, false, {{proto::presence_entry::kind::online, "bob", bytes_of(pc)}}});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, roster_event::kind::key_changed);
  ev = alice.apply({false, false, {{proto::presence_entry::kind::offline, "bob", {}}}});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, roster_event::kind::left);
  EXPECT_FALSE(alice.is_online("bob"));
}

}  // namespace
}  // namespace relay::client

namespace relay::client {
namespace {

TEST_F(ChatTest, ReplayAfterARestartIsStillRejected) {
  everyone_online();
  auto ct = alice.seal_to("bob", "pay 10");
  ASSERT_TRUE(bob.open_from("alice", *ct));
  // bob's client restarts: a fresh chat restored from the saved counters.
  const std::string saved = chat::format_seen(bob.seen());
  crypto::key_pair bob_identity = crypto::key_pair::from_secret(bob.identity().secret());
  chat bob_again{"bob", std::move(bob_identity), crypto::os_random()};
  bob_again.restore_seen(chat::parse_seen(saved));
  EXPECT_EQ(bob_again.seen(), bob.seen());
  bob_again.apply({true, true, {{proto::presence_entry::kind::online, "alice", bytes_of(pa)}}});
  EXPECT_EQ(bob_again.open_from("alice", *ct).error(), chat_errc::replayed);
  const auto parsed =
      chat::parse_seen("alice 12\ngarbage\nbob 7 " + std::string(64, 'a') + "\ncarol 3 nothex\n");
  EXPECT_EQ(parsed.per_name.size(), 1u);
  EXPECT_EQ(parsed.per_key.size(), 1u);
}

// From a black-box review: a sender whose clock went back between two runs (an NTP step, a
// clock that was ahead and was put right) sealed counters below those its peers had
// accepted, and every message was rejected as replayed without the sender knowing. The
// highest counter sealed is now saved, and a new run starts above it.
TEST_F(ChatTest, ANewRunSealsAboveTheHighestCounterOfTheRunsBeforeWhateverTheClockSays) {
  everyone_online();
  const auto now =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  const std::uint64_t ahead = now + 300'000'000;  // the last run's clock: 5 minutes ahead
  EXPECT_EQ(alice.highest_sent(), 0U);
  alice.restore_highest_sent(ahead);
  auto ct = alice.seal_to("bob", "after the clock went back");
  ASSERT_TRUE(ct);
  seen_counters bobs;  // bob accepted the last run's message with that counter
  bobs.per_key[{"alice", pa}] = ahead;
  bob.restore_seen(bobs);
  auto opened = bob.open_from("alice", *ct);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->counter, ahead + 1);
  EXPECT_EQ(alice.highest_sent(), ahead + 1);
  // To anyone: each peer's counters start above it, and still increase one by one.
  auto to_carol = alice.seal_to("carol", "hi");
  ASSERT_TRUE(carol.open_from("alice", *to_carol));
  auto again = bob.open_from("alice", *alice.seal_to("bob", "and again"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->counter, ahead + 2);
  // A line typed before (held) still carries its own time when that is higher.
  auto later = bob.open_from("alice", *alice.seal_to("bob", "typed later", ahead + 1000));
  ASSERT_TRUE(later);
  EXPECT_EQ(later->counter, ahead + 1000);
  EXPECT_EQ(alice.highest_sent(), ahead + 1000);
}

TEST_F(ChatTest, TheSavedHighestCounterIsReadStrictly) {
  EXPECT_EQ(chat::parse_sent(chat::format_sent(1764963000123456)), 1764963000123456U);
  EXPECT_EQ(chat::parse_sent("1764963000123456"), 1764963000123456U);
  for (const char* bad : {"", "\n", "-5\n", "12 13\n", "0x10\n", "99999999999999999999\n",
                          "18446744069414584320\n" /* 2^64 - 2^32: no room to count on */}) {
    EXPECT_EQ(chat::parse_sent(bad), 0U) << bad;
  }
  EXPECT_EQ(chat::parse_sent("18446744069414584319\n"), 18446744069414584319U);
}

// From a second black-box review: a saved 2^62 - 1 (read back) gave a counter of 2^62
// (saved, but then read as damage): the next run counted from the clock, and a peer that
// had accepted 2^62 rejected everything after. What the client saves it reads back.
TEST_F(ChatTest, WhatIsSavedAsTheHighestCounterIsReadBackHoweverLarge) {
  everyone_online();
  for (std::uint64_t floor :
       {std::uint64_t{1} << 62, (std::uint64_t{1} << 63) + 5, max_sent_floor - 2}) {
    chat a{"alice", crypto::key_pair::from_secret(alice.identity().secret()), crypto::os_random()};
    a.apply({true, true, {{proto::presence_entry::kind::online, "bob", bytes_of(pb)}}});
    a.restore_highest_sent(chat::parse_sent(chat::format_sent(floor - 1)));
    ASSERT_TRUE(a.seal_to("bob", "one"));
    EXPECT_EQ(a.highest_sent(), floor);
    EXPECT_EQ(chat::parse_sent(chat::format_sent(a.highest_sent())), floor);
  }
}

// From a second black-box review: "-5" was read as 2^64 - 5 (locking the sender out), and
// lines the format does not allow were taken. A floor without a key far in the future (an
// old attack's) is dropped.
TEST_F(ChatTest, SeenFileLinesAreReadStrictly) {
  const std::string key = std::string(64, 'a');
  const auto seen = chat::parse_seen("bob -5\nbob -5 " + key + "\ncarol +7\ndave 1 " +
                                     std::string(64, 'A') + "\nerin 1 " + key + " more\n" +
                                     "frank 18446744073709551615\nfrank 18446744073709551616 " +
                                     key + "\ngina 12\nhal 5 " + key + "\n");
  EXPECT_EQ(seen.per_name.size(), 1U);
  EXPECT_EQ(seen.per_name.count("gina"), 1U);
  ASSERT_EQ(seen.per_key.size(), 1U);
  EXPECT_EQ(seen.per_key.begin()->first.first, "hal");
}

// A relay announcing key after key for one sender cannot grow the file without end.
TEST_F(ChatTest, CountersAreKeptForAtMostSixteenKeysPerSender) {
  everyone_online();
  for (int i = 0; i < 20; ++i) {
    crypto::key_pair k = crypto::key_pair::generate(crypto::os_random());
    const crypto::public_key pk = k.pub();
    chat other{"alice", std::move(k), crypto::os_random()};
    other.apply({true, true, {{proto::presence_entry::kind::online, "bob", bytes_of(pb)}}});
    bob.apply({false, false, {{proto::presence_entry::kind::online, "alice", bytes_of(pk)}}});
    ASSERT_TRUE(bob.open_from("alice", *other.seal_to("bob", "another key")));
  }
  EXPECT_EQ(bob.seen().per_key.size(), max_keys_seen_per_sender);
}

// Review 10: keys a relay made up, each with a huge counter, pushed the pinned key's counter
// out of the sixteen kept, and an old message from the pinned key was then taken as new.
TEST_F(ChatTest, KeysNotPinnedCannotPushThePinnedKeysCounterOut) {
  everyone_online();
  bob.keep_counters_of([this](const std::string& name, const crypto::public_key& key) {
    return name == "alice" && key == pa;
  });
  const auto original = alice.seal_to("bob", "pay 10");
  ASSERT_TRUE(original);
  ASSERT_TRUE(bob.open_from("alice", *original));
  for (int i = 0; i < 20; ++i) {
    crypto::key_pair k = crypto::key_pair::generate(crypto::os_random());
    const crypto::public_key pk = k.pub();
    chat rogue{"alice", std::move(k), crypto::os_random()};
    rogue.restore_highest_sent(std::uint64_t{1} << 63);
    rogue.apply({true, true, {{proto::presence_entry::kind::online, "bob", bytes_of(pb)}}});
    bob.apply({false, false, {{proto::presence_entry::kind::online, "alice", bytes_of(pk)}}});
    ASSERT_TRUE(bob.open_from("alice", *rogue.seal_to("bob", "rogue")));
  }
  EXPECT_EQ(bob.seen().per_key.size(), max_keys_seen_per_sender);
  EXPECT_EQ(bob.seen().per_key.count({"alice", pa}), 1U) << "the pinned key's counter went";
  bob.apply({false, false, {{proto::presence_entry::kind::online, "alice", bytes_of(pa)}}});
  const auto again = bob.open_from("alice", *original);
  ASSERT_FALSE(again) << "an old message from the pinned key was taken as new";
  EXPECT_EQ(again.error(), chat_errc::replayed);
}

// A file from before counters were kept per key: its line is a floor for every key.
TEST_F(ChatTest, ACounterSavedWithoutAKeyStillRejectsReplays) {
  everyone_online();
  auto ct = alice.seal_to("bob", "pay 10");
  // Ten minutes ahead of the counter (the time it was sealed, in microseconds).
  const auto later =
      std::chrono::duration_cast<std::chrono::microseconds>(
          (std::chrono::system_clock::now() + std::chrono::minutes(10)).time_since_epoch())
          .count();
  bob.restore_seen(chat::parse_seen("alice " + std::to_string(later) + "\n"));
  EXPECT_EQ(bob.open_from("alice", *ct).error(), chat_errc::replayed);
}

// The review's attack: a key bob never accepted for alice (a hostile relay's, or someone
// with her password on a new device) sends a counter of 2^64 - 1. Alice's real key, back,
// must still get through: counters are kept per key (protocol.md 8.4).
TEST_F(ChatTest, AHugeCounterFromAnotherKeyDoesNotLockOutTheRealOne) {
  everyone_online();
  ASSERT_TRUE(bob.open_from("alice", *alice.seal_to("bob", "hi")));
  crypto::key_pair mallory_key = crypto::key_pair::generate(crypto::os_random());
  const crypto::public_key pm = mallory_key.pub();
  chat mallory{"alice", std::move(mallory_key), crypto::os_random()};
  mallory.apply({true, true, {{proto::presence_entry::kind::online, "bob", bytes_of(pb)}}});
  bob.apply({false, false, {{proto::presence_entry::kind::online, "alice", bytes_of(pm)}}});
  ASSERT_TRUE(bob.open_from("alice", *mallory.seal_to("bob", "max", UINT64_MAX)));
  bob.apply({false, false, {{proto::presence_entry::kind::online, "alice", bytes_of(pa)}}});
  auto opened = bob.open_from("alice", *alice.seal_to("bob", "it is really me"));
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->text, "it is really me");
  // And the other key's counter is still its own: a replay of its message is refused.
  const auto seen = chat::parse_seen(chat::format_seen(bob.seen()));
  EXPECT_EQ(seen.per_key.at({"alice", pm}), UINT64_MAX);
}

// protocol.md 8.6: a contact who only reads would otherwise get every message sealed to
// their identity key. Their client answers the first such message with a key notice (no
// text, not shown), once per session key of theirs and run of ours.
TEST_F(ChatTest, AKeyNoticeGivesTheSenderOurSessionKeyOnceAndIsNotAMessage) {
  everyone_online();
  auto opened = bob.open_from("alice", *alice.seal_to("bob", "to your identity key"));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->owes_key_notice);
  // A second message sealed before alice learns bob's key does not ask for another notice.
  auto notice = bob.seal_key_notice("alice");
  ASSERT_TRUE(notice);
  opened = bob.open_from("alice", *alice.seal_to("bob", "still to your identity key"));
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->owes_key_notice);
  EXPECT_FALSE(alice.knows_session_of("bob"));
  opened = alice.open_from("bob", *notice);
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->key_notice);
  EXPECT_TRUE(opened->text.empty());
  EXPECT_FALSE(opened->owes_key_notice);  // sealed to alice's session key: she has it
  EXPECT_TRUE(alice.knows_session_of("bob"));
  // From now on alice seals to bob's session key: his identity key alone no longer opens it.
  opened = bob.open_from("alice", *alice.seal_to("bob", "to your session key"));
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->owes_key_notice);
  // Bob renews his key: alice's next message, to the one before, asks for a notice again.
  bob.renew_session();
  opened = bob.open_from("alice", *alice.seal_to("bob", "to your last key"));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->owes_key_notice);
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_key_notice("alice")));
  // A new run of alice's (a presence entry names her) has none of bob's keys: asked again.
  bob.apply({false, false, {{proto::presence_entry::kind::online, "alice", bytes_of(pa)}}});
  alice.forget_roster();
  everyone_online();
  opened = bob.open_from("alice", *alice.seal_to("bob", "I signed in again"));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->owes_key_notice);
}

// A sign-in of bob's that the relay makes up shows in the key notice that alice's next
// message, sealed to bob's identity key, brings back (protocol.md 8.5 and 8.6).
TEST_F(ChatTest, AKeyNoticeGivesAwayASignInTheRelayMadeUp) {
  everyone_online();
  ASSERT_TRUE(bob.open_from("alice", *alice.seal_to("bob", "hi")));
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_key_notice("alice")));
  auto opened = bob.open_from("alice", *alice.seal_to("bob", "to your session key"));
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->owes_key_notice);
  alice.apply({false, false, {{proto::presence_entry::kind::online, "bob", bytes_of(pb)}}});
  opened = bob.open_from("alice", *alice.seal_to("bob", "to your identity key again"));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->owes_key_notice);  // she had his key, and lost it: told again
  opened = alice.open_from("bob", *bob.seal_key_notice("alice"));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->key_notice);
  EXPECT_TRUE(opened->not_signed_in_again);
}

// protocol.md 8.5: bob renews his session key every hour and keeps only the one before.
// Alice, silent for two hours, must not seal to the key she learnt then (bob erased it):
// after peer_session_lifetime without a message carrying it, she seals to his identity key.
TEST_F(ChatTest, AfterALongSilenceThePeersSessionKeyIsNotUsedAsItMayBeErased) {
  everyone_online();
  chat::clock::time_point now = chat::clock::now();
  alice.set_clock([&] { return now; });
  ASSERT_TRUE(bob.open_from("alice", *alice.seal_to("bob", "hi")));
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_key_notice("alice")));
  now += std::chrono::minutes(54);  // bob's hourly renewal has not come yet
  ASSERT_TRUE(alice.knows_session_of("bob"));
  auto opened = bob.open_from("alice", *alice.seal_to("bob", "still to your session key"));
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->owes_key_notice);
  // Bob renews twice meanwhile (hourly): the key alice learnt is erased.
  bob.renew_session();
  now += std::chrono::hours(1);
  bob.renew_session();
  EXPECT_FALSE(alice.knows_session_of("bob"));
  opened = bob.open_from("alice", *alice.seal_to("bob", "after two hours"));
  ASSERT_TRUE(opened) << opened.error().message();  // sealed to the key bob erased: stale
  EXPECT_EQ(opened->text, "after two hours");
  EXPECT_TRUE(opened->owes_key_notice);
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_key_notice("alice")));
  EXPECT_TRUE(alice.knows_session_of("bob"));
  // A message from bob carrying his key keeps it fresh for alice.
  now += std::chrono::minutes(54);
  ASSERT_TRUE(alice.open_from("bob", *bob.seal_to("alice", "still here")));
  now += std::chrono::minutes(54);
  EXPECT_TRUE(alice.knows_session_of("bob"));
  now += std::chrono::minutes(2);
  EXPECT_FALSE(alice.knows_session_of("bob"));
}

TEST_F(ChatTest, AnEmptyTextIsNotSealedAsAMessage) {
  everyone_online();
  EXPECT_EQ(alice.seal_to("bob", "").error(), chat_errc::empty);
  // Versions 1 and 2 had no notices: an empty text there is a message (shown, if empty).
  crypto::envelope m{"alice", "bob", 1, ""};
  m.version = crypto::envelope_version;
  const crypto::key_pair alice_key = crypto::key_pair::from_secret(alice.identity().secret());
  auto opened = bob.open_from("alice", crypto::seal(m, alice_key, pb, crypto::os_random()));
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->key_notice);
  EXPECT_FALSE(opened->owes_key_notice);
}

// From a black-box review: past the outer box the sender's key is proven, so a malformed
// or unknown envelope is a faulty or newer client, not a forgery, and is said so.
TEST_F(ChatTest, AnAuthenticEnvelopeThatIsMalformedOrOfAnUnknownVersionIsSaidToBeSo) {
  everyone_online();
  const auto box_from_alice = [&](bytes plaintext) {
    bytes out(crypto_box_NONCEBYTES + crypto_box_MACBYTES + plaintext.size());
    randombytes_buf(out.data(), crypto_box_NONCEBYTES);
    EXPECT_EQ(
        crypto_box_easy(out.data() + crypto_box_NONCEBYTES, plaintext.data(), plaintext.size(),
                        out.data(), pb.data(), alice.identity().secret().data()),
        0);
    return out;
  };
  bytes version_4(64, 0);
  version_4[0] = 4;
  EXPECT_EQ(bob.open_from("alice", box_from_alice(version_4)).error(), chat_errc::unsupported);
  bytes garbled(128, 0xff);
  garbled[0] = 2;
  EXPECT_EQ(bob.open_from("alice", box_from_alice(garbled)).error(), chat_errc::malformed);
  bytes short_v3(64, 0);
  short_v3[0] = 3;
  EXPECT_EQ(bob.open_from("alice", box_from_alice(short_v3)).error(), chat_errc::malformed);
  // Not from alice's key at all: that is the one that cannot be decrypted.
  EXPECT_EQ(bob.open_from("carol", box_from_alice(garbled)).error(), chat_errc::cannot_open);
}

TEST_F(ChatTest, LowOrderRecipientKeyIsRefusedNotFatal) {
  alice.apply({false, false, {{proto::presence_entry::kind::online, "evil", proto::key_bytes{}}}});
  auto r = alice.seal_to("evil", "hi");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), chat_errc::bad_key);
}

}  // namespace
}  // namespace relay::client
