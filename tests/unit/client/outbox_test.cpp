#include "relay/client/outbox.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace relay::client {
namespace {

using namespace std::chrono_literals;
using clock = outbox::clock;
const auto t0 = clock::time_point{} + 1000s;

outbox::params small() {
  outbox::params p;
  p.rate = 10;
  p.burst = 5;
  p.slowest = 1;
  p.remember = 8;
  return p;
}

std::vector<std::string> take_all(outbox& o, clock::time_point now) {
  std::vector<std::string> got;
  while (auto m = o.next(now)) got.push_back(m->text);
  return got;
}

TEST(Outbox, ABurstGoesAtOnceTheRestAtThePaceInOrder) {
  outbox o(small(), t0);
  for (int i = 0; i < 12; ++i) o.add("bob", std::to_string(i));
  EXPECT_EQ(take_all(o, t0), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_EQ(o.waiting(), 7u);
  EXPECT_EQ(o.wait(t0), clock::duration(100ms));  // 10 a second
  EXPECT_TRUE(take_all(o, t0 + 99ms).empty());
  EXPECT_EQ(take_all(o, t0 + 100ms), (std::vector<std::string>{"5"}));
  EXPECT_EQ(take_all(o, t0 + 400ms), (std::vector<std::string>{"6", "7", "8"}));
  EXPECT_EQ(take_all(o, t0 + 10s), (std::vector<std::string>{"9", "10", "11"}));
  EXPECT_FALSE(o.wait(t0 + 10s));  // nothing waits
}

TEST(Outbox, ARefusedMessageGoesBackInItsPlaceAndThePaceHalvesOnce) {
  outbox o(small(), t0);
  for (int i = 0; i < 5; ++i) o.add("bob", std::to_string(i));
  std::uint32_t id = 1;
  while (auto m = o.next(t0)) o.sent(id++, std::move(*m));  // ids 1..5
  o.add("bob", "5");
  // The relay (set stricter) refused 3 and 4: they go again, before 5.
  EXPECT_TRUE(o.refused(4, t0 + 10ms));
  EXPECT_TRUE(o.refused(5, t0 + 20ms));
  EXPECT_FALSE(o.refused(5, t0 + 20ms));   // already back
  EXPECT_FALSE(o.refused(99, t0 + 20ms));  // never sent
  EXPECT_EQ(o.waiting(), 3u);
  EXPECT_DOUBLE_EQ(o.rate(), 5.0);   // halved once for the two refusals, 10 ms apart
  EXPECT_DOUBLE_EQ(o.burst(), 2.5);  // and the burst with it
  EXPECT_EQ(o.wait(t0 + 20ms), clock::duration(200ms));
  EXPECT_EQ(take_all(o, t0 + 1s), (std::vector<std::string>{"3", "4"}));  // a burst of 2.5
  EXPECT_EQ(take_all(o, t0 + 1200ms), (std::vector<std::string>{"5"}));
  // A refusal after a calm second halves it again, down to the slowest.
  o.sent(6, {"bob", "x", 99});
  o.sent(7, {"bob", "y", 100});
  EXPECT_TRUE(o.refused(6, t0 + 2s));
  EXPECT_DOUBLE_EQ(o.rate(), 2.5);
  EXPECT_TRUE(o.refused(7, t0 + 4s));
  EXPECT_DOUBLE_EQ(o.rate(), 1.25);
}

// The relay counts pings against the bucket that paces sends (protocol.md 5.5): a ping
// takes a token, so it neither finds the relay's bucket empty nor empties it for a send.
TEST(Outbox, APingTakesATokenAsASendDoes) {
  outbox o(small(), t0);
  for (int i = 0; i < 4; ++i) o.add("bob", std::to_string(i));
  EXPECT_TRUE(o.take_for_ping(t0));
  EXPECT_EQ(take_all(o, t0), (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_FALSE(o.take_for_ping(t0));  // the burst of 5 is spent
  EXPECT_EQ(o.until_token(t0), clock::duration(100ms));
  EXPECT_FALSE(o.take_for_ping(t0 + 99ms));
  o.add("bob", "4");
  EXPECT_TRUE(o.take_for_ping(t0 + 100ms));  // the ping came first: the message waits
  EXPECT_FALSE(o.next(t0 + 100ms));
  EXPECT_EQ(o.wait(t0 + 100ms), clock::duration(100ms));
  EXPECT_EQ(take_all(o, t0 + 200ms), (std::vector<std::string>{"4"}));
  EXPECT_EQ(o.until_token(t0 + 10s), clock::duration::zero());
}

TEST(Outbox, PendingListsWhatWaitsInOrder) {
  outbox box(small(), t0);
  box.add("bob", "one");
  box.add("carol", "two");
  box.add("bob", "three");
  ASSERT_TRUE(box.next(t0));  // one goes
  const auto left = box.pending();
  ASSERT_EQ(left.size(), 2U);
  EXPECT_EQ(left[0].to, "carol");
  EXPECT_EQ(left[0].text, "two");
  EXPECT_EQ(left[1].text, "three");
}

TEST(Outbox, TakeAllToRemovesOnlyThatRecipientsInOrder) {
  outbox box(small(), t0);
  box.add("bob", "one");
  box.add("carol", "two");
  box.add("bob", "three");
  const auto gone = box.take_all_to("bob");
  ASSERT_EQ(gone.size(), 2U);
  EXPECT_EQ(gone[0].text, "one");
  EXPECT_EQ(gone[1].text, "three");
  EXPECT_EQ(box.waiting(), 1U);
  EXPECT_EQ(box.next(t0)->text, "two");
  EXPECT_TRUE(box.take_all_to("bob").empty());
}

// A key notice (protocol.md 8.6) is paced as a message, one per peer at a time, and is
// not counted among the messages someone typed.
TEST(Outbox, AKeyNoticeTakesItsTurnOncePerPeerAndIsNotATypedMessage) {
  outbox box(small(), t0);
  box.add("bob", "one");
  box.add_key_notice("carol");
  box.add_key_notice("carol");  // the one waiting will do
  box.add_key_notice("bob");
  EXPECT_EQ(box.waiting(), 3U);
  EXPECT_EQ(box.waiting_messages(), 1U);
  auto m = box.next(t0);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->key_notice);
  m = box.next(t0);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->key_notice);
  EXPECT_EQ(m->to, "carol");
  box.sent(7, *m);
  ASSERT_NE(box.find_sent(7), nullptr);
  EXPECT_TRUE(box.find_sent(7)->key_notice);
  EXPECT_EQ(box.find_sent(8), nullptr);
  box.add_key_notice("carol");  // the last one went: a new one may wait
  EXPECT_EQ(box.waiting(), 2U);
  EXPECT_EQ(box.waiting_messages(), 0U);
}

TEST(Outbox, OnlyTheLastSendsAreRemembered) {
  outbox o(small(), t0);  // remembers 8
  for (std::uint32_t id = 1; id <= 20; ++id) o.sent(id, {"bob", std::to_string(id), id});
  EXPECT_FALSE(o.refused(12, t0));
  EXPECT_TRUE(o.refused(13, t0));
  EXPECT_EQ(take_all(o, t0 + 10s), (std::vector<std::string>{"13"}));
}

// From a second black-box review: against a relay at 4 a second (burst 5), a script's
// backlog went at about 1.2 a second: each refusal halved the pace, which never grew back,
// and every pause refilled a burst of 90 that the relay refused again. The burst halves
// with the pace, and after 5 s without a refusal both grow back by a quarter.
TEST(Outbox, ThePaceGrowsBackAfterACalmAndHalvesAgainPastTheRelaysLimit) {
  outbox::params p;  // the defaults: 18 a second, bursts of 90
  outbox o(p, t0);
  std::uint32_t id = 1;
  for (int i = 0; i < 3; ++i) o.sent(id++, {"bob", "x", static_cast<std::uint64_t>(i)});
  ASSERT_TRUE(o.refused(1, t0));
  EXPECT_DOUBLE_EQ(o.rate(), 9.0);
  EXPECT_DOUBLE_EQ(o.burst(), 45.0);
  ASSERT_TRUE(o.refused(2, t0 + 1s));
  ASSERT_TRUE(o.refused(3, t0 + 2s));
  EXPECT_DOUBLE_EQ(o.rate(), 2.25);
  EXPECT_DOUBLE_EQ(o.burst(), 11.25);
  (void)o.until_token(t0 + 6s);  // 4 s calm: not yet
  EXPECT_DOUBLE_EQ(o.rate(), 2.25);
  (void)o.until_token(t0 + 7s);  // 5 s: a quarter more
  EXPECT_DOUBLE_EQ(o.rate(), 2.8125);
  (void)o.until_token(t0 + 12s);
  EXPECT_DOUBLE_EQ(o.rate(), 3.515625);
  // Past a relay at 4 a second the next growth is refused: halved again, and so on.
  (void)o.until_token(t0 + 17s);
  EXPECT_GT(o.rate(), 4.0);
  o.sent(id, {"bob", "y", 9});
  ASSERT_TRUE(o.refused(id, t0 + 17500ms));
  EXPECT_LT(o.rate(), 4.0);
  // Never past the defaults, however calm.
  for (int s = 20; s < 200; s += 5) (void)o.until_token(t0 + std::chrono::seconds(s));
  EXPECT_DOUBLE_EQ(o.rate(), p.rate);
  EXPECT_DOUBLE_EQ(o.burst(), p.burst);
}

TEST(Outbox, TheDefaultsStayUnderTheRelaysDefaults) {
  // The relay's --message-rate 20 and --message-burst 100 (relay_config).
  const outbox::params p;
  EXPECT_LT(p.rate, 20.0);
  EXPECT_LT(p.burst, 100.0);
}

}  // namespace
}  // namespace relay::client
