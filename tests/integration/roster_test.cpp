// Roster batching over real sockets: joins are coalesced into one presence frame per
// interval, each change reaches each client exactly once, never its own, and a new user's key
// always arrives before that user's first message.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <variant>

#include "relay/proto/names.hpp"
#include "support/relay_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace relay::test {
namespace {

/// Live (non-snapshot) presence frames received within `window`.
std::vector<proto::presence> live_presence(test_client& c, std::chrono::milliseconds window) {
  std::vector<proto::presence> out;
  const auto end = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < end) {
    auto f = c.next_frame(std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now()));
    if (!f) break;
    if (auto* p = std::get_if<proto::presence>(&*f)) {
      EXPECT_FALSE(p->snapshot);
      out.push_back(*p);
    }
  }
  return out;
}

/// Live presence frames until none comes for `quiet`: reads everything already sent however
/// slowly the test runs (a fixed window can end with frames still unread under load).
std::vector<proto::presence> live_presence_until_quiet(test_client& c,
                                                       std::chrono::milliseconds quiet) {
  std::vector<proto::presence> out;
  while (auto f = c.next_frame(quiet)) {
    if (auto* p = std::get_if<proto::presence>(&*f)) {
      EXPECT_FALSE(p->snapshot);
      out.push_back(*p);
    }
  }
  return out;
}

/// Signs up user0..user<n-1> (password-<i>), one after the other.
std::vector<std::unique_ptr<test_client>> sign_up_crowd(std::uint16_t port, int n) {
  std::vector<std::unique_ptr<test_client>> crowd;
  for (int i = 0; i < n; ++i) {
    crowd.push_back(std::make_unique<test_client>(port));
    crowd.back()->sign_up_ok("user" + std::to_string(i), "password-" + std::to_string(i));
  }
  return crowd;
}

std::map<std::string, int> online_counts(const std::vector<proto::presence>& frames) {
  std::map<std::string, int> n;
  for (const auto& p : frames) {
    for (const auto& e : p.entries) {
      if (e.what == proto::presence_entry::kind::online) ++n[e.name];
    }
  }
  return n;
}

TEST(Roster, JoinsAreBatchedAndEachAnnouncedOnceNeverToItself) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.roster_interval = std::chrono::milliseconds(400);
  relay_fixture relay(cfg);
  test_client observer(relay.port());
  observer.sign_up_ok("observer", "observer-password");

  constexpr int joins = 20;
  const auto crowd = sign_up_crowd(relay.port(), joins);
  const auto frames = live_presence(observer, std::chrono::milliseconds(1500));
  const auto counts = online_counts(frames);
  ASSERT_EQ(counts.size(), static_cast<std::size_t>(joins));
  for (const auto& [name, n] : counts) EXPECT_EQ(n, 1) << name;
  // Twenty joins in far fewer frames than twenty.
  EXPECT_LT(frames.size(), static_cast<std::size_t>(joins) / 2);

  // The first of the crowd hears about the others exactly once, and never about itself.
  const auto first = online_counts(live_presence(*crowd.front(), std::chrono::milliseconds(200)));
  EXPECT_EQ(first.count("user0"), 0u);
  EXPECT_EQ(first.size(), static_cast<std::size_t>(joins - 1));
  for (const auto& [name, n] : first) EXPECT_EQ(n, 1) << name;
}

TEST(Roster, ClientSigningInWhileABatchIsPendingGetsNoDuplicates) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.roster_interval = std::chrono::milliseconds(600);
  relay_fixture relay(cfg);
  test_client a(relay.port());
  a.sign_up_ok("alice", "alice-password");
  test_client b(relay.port());
  b.sign_up_ok("bob", "bob-password");  // bob's join is now pending
  test_client c(relay.port());
  c.sign_up_ok("carol", "carol-password");  // carol's snapshot already has alice and bob
  EXPECT_TRUE(c.chat().is_online("alice"));
  EXPECT_TRUE(c.chat().is_online("bob"));
  // After the batch goes out carol is told nothing again; alice hears of bob and carol once.
  EXPECT_TRUE(online_counts(live_presence(c, std::chrono::milliseconds(1200))).empty());
  const auto at_alice = online_counts(live_presence(a, std::chrono::milliseconds(200)));
  EXPECT_EQ(at_alice, (std::map<std::string, int>{{"bob", 1}, {"carol", 1}}));
}

TEST(Roster, NewUsersKeyArrivesBeforeTheirFirstMessage) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.roster_interval = std::chrono::seconds(30);  // the batch would not go out in this test
  relay_fixture relay(cfg);
  test_client alice(relay.port());
  alice.sign_up_ok("alice", "alice-password");
  test_client bob(relay.port());
  bob.sign_up_ok("bob", "bob-password");
  bob.send_text("alice", "hello from a newcomer");
  // alice can only open it if bob's key (from his presence entry) came first.
  auto got = alice.receive_text();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, "bob");
  ASSERT_TRUE(got->text) << got->text.error().message();
  EXPECT_EQ(*got->text, "hello from a newcomer");
}

// With hundreds online the snapshot is several chunks, each at most proto::snapshot_chunk
// bytes and written as soon as it is full; together they name everyone else exactly once,
// with the key each of them signed in with.
TEST(Roster, ALargeSnapshotComesInSmallChunksNamingEveryoneOnce) {
  temp_dir dir;
  relay_fixture relay(test_config(dir.path()));
  // Longest names (32 bytes, 66-byte entries): 244 fit in a chunk, so 300 need two.
  constexpr int users = 300;
  std::vector<std::unique_ptr<test_client>> crowd;
  std::map<std::string, proto::key_bytes> keys;
  for (int i = 0; i < users; ++i) {
    std::string name = std::to_string(i);
    name = std::string(proto::max_name - name.size(), 'u') + name;
    crowd.push_back(std::make_unique<test_client>(relay.port()));
    crowd.back()->sign_up_ok(name, "password-" + std::to_string(i));
    const auto& pub = crowd.back()->identity().pub();
    std::copy(pub.begin(), pub.end(), keys[name].begin());
  }
  test_client newcomer(relay.port());
  auto w = newcomer.sign_in("newcomer", "newcomer-password", true);
  ASSERT_TRUE(w && std::holds_alternative<proto::welcome>(*w));
  std::vector<proto::presence> chunks;
  while (chunks.empty() || !chunks.back().last) {
    auto f = newcomer.next_frame();
    ASSERT_TRUE(f) << "snapshot ended after " << chunks.size() << " chunks";
    if (auto* p = std::get_if<proto::presence>(&*f)) chunks.push_back(*p);
  }
  EXPECT_GE(chunks.size(), 2u);
  std::map<std::string, proto::key_bytes> seen;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_TRUE(chunks[i].snapshot);
    EXPECT_EQ(chunks[i].last, i + 1 == chunks.size());
    EXPECT_LE(proto::encode(chunks[i]).size(), proto::snapshot_chunk) << "chunk " << i;
    for (const auto& e : chunks[i].entries) {
      EXPECT_EQ(e.what, proto::presence_entry::kind::online);
      EXPECT_TRUE(seen.emplace(e.name, e.identity).second) << e.name << " twice";
    }
  }
  EXPECT_EQ(seen, keys);
}

TEST(Roster, LeavesAreBatchedToo) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.roster_interval = std::chrono::milliseconds(300);
  relay_fixture relay(cfg);
  test_client observer(relay.port());
  observer.sign_up_ok("observer", "observer-password");
  {
    const auto crowd = sign_up_crowd(relay.port(), 5);
    live_presence(observer, std::chrono::milliseconds(700));  // the joins
  }                                                           // all five disconnect at once
  std::size_t left = 0;
  const auto frames = live_presence(observer, std::chrono::milliseconds(1000));
  for (const auto& p : frames) {
    for (const auto& e : p.entries) left += e.what == proto::presence_entry::kind::offline;
  }
  EXPECT_EQ(left, 5u);
  EXPECT_LE(frames.size(), 2u);
}

// Back-to-back rounds are spaced by their size (roster_pace.hpp), so a crowd signing in
// costs fewer rounds to everyone; a change on a quiet relay still goes out one interval
// after it. Here a round to n clients is followed by n intervals of 50 ms, at most ten:
// with 10 online, 500 ms from its start.
TEST(Roster, BackToBackRoundsAreSpacedByTheirSize) {
  using clock = std::chrono::steady_clock;
  using std::chrono::milliseconds;
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.roster_interval = milliseconds(50);
  cfg.roster_clients_per_interval = 1;
  relay_fixture relay(cfg);
  test_client observer(relay.port());
  observer.sign_up_ok("observer", "observer-password");
  const auto crowd = sign_up_crowd(relay.port(), 8);
  live_presence_until_quiet(observer, milliseconds(1500));  // past any spacing
  const auto next_live = [&] {
    std::vector<proto::presence> frames;
    for (int tries = 0; frames.empty() && tries < 200; ++tries) {
      frames = live_presence(observer, milliseconds(25));
    }
    return frames;
  };

  // On a quiet relay: an interval after the sign-up, far sooner than the spacing.
  test_client first(relay.port());
  const auto asked = clock::now();
  first.sign_up_ok("first", "first-password");
  ASSERT_EQ(online_counts(next_live()), (std::map<std::string, int>{{"first", 1}}));
  const auto first_seen = clock::now();
  const auto quiet_delay = first_seen - asked;
  EXPECT_LT(quiet_delay, milliseconds(450));

  // Right after that round (to 10 clients) the next waits for its spacing: 500 ms from the
  // round's start, which came at least 50 ms after `asked`, so at most quiet_delay - 50 ms
  // before `first_seen`.
  test_client second(relay.port());
  second.sign_up_ok("second", "second-password");
  ASSERT_EQ(online_counts(next_live()), (std::map<std::string, int>{{"second", 1}}));
  const auto between = clock::now() - first_seen;
  EXPECT_GE(between + quiet_delay, milliseconds(550));
}

// Rounds go out one client at a time here (a slice of 1) and start as soon as there is a
// change (interval 0), while a crowd's sign-ups are all in flight at once: sign-ins complete
// between the slices of rounds under way. Whatever the interleaving, each client learns of
// every other client exactly once (in its snapshot or in a batch) and never of itself.
TEST(Roster, SlicedRoundsReachEveryoneExactlyOnce) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.roster_interval = std::chrono::milliseconds(0);
  cfg.roster_slice = 1;
  relay_fixture relay(cfg);
  auto all = sign_up_crowd(relay.port(), 16);
  std::vector<std::string> names;
  for (int i = 0; i < 96; ++i) names.push_back("user" + std::to_string(i));
  // Waves of 16, the most connections one address may have signing in at once.
  for (int wave = 16; wave < 96; wave += 16) {
    for (int i = wave; i < wave + 16; ++i) {
      all.push_back(std::make_unique<test_client>(relay.port()));
      all.back()->send_sign_up(names[i], "password-" + std::to_string(i));
    }
    for (int i = wave; i < wave + 16; ++i) all[i]->finish_sign_up(names[i]);
  }
  // Once the first client has heard nothing for 800 ms, every round is out; the others' frames
  // are then already waiting in their sockets.
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto live = online_counts(
        live_presence_until_quiet(*all[i], std::chrono::milliseconds(i == 0 ? 800 : 30)));
    EXPECT_EQ(live.count(names[i]), 0u) << names[i] << " was told of itself";
    for (std::size_t j = 0; j < all.size(); ++j) {
      if (j == i) continue;
      const int in_snapshot = all[i]->chat().is_online(names[j]) ? 1 : 0;
      const int in_batches = live.count(names[j]) ? live.at(names[j]) : 0;
      EXPECT_EQ(in_snapshot + in_batches, 1) << names[i] << " about " << names[j];
    }
  }
}

// A newcomer's first message, sent while a sliced round is going out, still arrives after its
// key, and the round then does not announce the newcomer a second time.
TEST(Roster, KeyArrivesBeforeAMessageSentDuringASlicedRound) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.roster_interval = std::chrono::milliseconds(10);
  cfg.roster_slice = 1;
  relay_fixture relay(cfg);
  const auto crowd = sign_up_crowd(relay.port(), 20);
  test_client bob(relay.port());
  bob.sign_up_ok("bob", "bob-password");
  for (int i = 0; i < 20; ++i) bob.send_text("user" + std::to_string(i), "hi " + std::to_string(i));
  for (int i = 0; i < 20; ++i) {
    auto got = crowd[i]->receive_text();  // applies the presence frames before it
    ASSERT_TRUE(got) << i;
    EXPECT_EQ(got->from, "bob");
    ASSERT_TRUE(got->text) << i << ": " << got->text.error().message();
    EXPECT_EQ(*got->text, "hi " + std::to_string(i));
    EXPECT_EQ(online_counts(live_presence(*crowd[i], std::chrono::milliseconds(100))).count("bob"),
              0u)
        << i;
  }
}

}  // namespace
}  // namespace relay::test
