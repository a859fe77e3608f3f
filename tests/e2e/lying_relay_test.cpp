// The real client against a relay that lies (support/fake_relay): what it must refuse, and
// that it says exactly what the relay did wrong, so a person can tell a bug from an attack.
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "relay/crypto/envelope.hpp"
#include "relay/crypto/keys.hpp"
#include "relay/crypto/random.hpp"
#include "support/chat_driver.hpp"
#include "support/fake_relay.hpp"
#include "support/pty_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace relay::test {
namespace {

using namespace std::chrono_literals;

const std::string password = "correct horse battery staple";

/// The name a sign-in or sign-up asks for.
std::string asked_name(const proto::frame& first) {
  if (const auto* in = std::get_if<proto::sign_in>(&first)) return in->name;
  if (const auto* up = std::get_if<proto::sign_up>(&first)) return up->name;
  return {};
}

/// What a relay sends a client it has signed in, on a relay with no one else online.
std::vector<bytes> welcome_alone(const std::string& name) {
  proto::presence snapshot;
  snapshot.snapshot = true;
  snapshot.last = true;
  return {proto::encode(proto::welcome{name}), proto::encode(snapshot)};
}

// protocol.md 5.7: the relay welcomes the name the client gave. A relay that signs alice in
// as mallory would have her read mallory's messages and send as mallory.
TEST(LyingRelay, AWelcomeForAnotherAccountEndsTheSignInNamingBoth) {
  temp_dir dir;
  fake_relay relay([](const proto::frame&) { return welcome_alone("mallory"); });
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  EXPECT_TRUE(saw(
      *alice, "error: protocol error from the relay (127.0.0.1:" + std::to_string(relay.port()) +
                  "): it welcomed this client as \"mallory\", not \"alice\""));
  EXPECT_TRUE(exited_with(*alice, 1));
  EXPECT_EQ(relay.sign_ins(), 1);
  EXPECT_EQ(occurrences(alice->transcript(), "mallory"), 1U) << alice->describe("alice");
}

// A frame the client cannot decode in the middle of the chat: the connection is given up,
// the line names the fault (not a bare "protocol error"), and the client signs in again.
TEST(LyingRelay, AMalformedFrameInTheChatIsNamedAndTheClientSignsInAgain) {
  temp_dir dir;
  fake_relay relay([](const proto::frame& first) {
    auto answer = welcome_alone(asked_name(first));
    answer.push_back(bytes{0x7f, 0x00});  // no frame has type 0x7f
    return answer;
  });
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  EXPECT_TRUE(saw(*alice,
                  "* connection to the relay lost: protocol error from the relay: a malformed "
                  "frame (unknown frame type); reconnecting (/quit leaves)"));
  EXPECT_TRUE(saw(*alice, "* reconnected to the relay"));
  EXPECT_GE(relay.sign_ins(), 2);
  alice->send_line("/quit");
  EXPECT_TRUE(alice->wait_exit().has_value());
}

// From a black-box review: a client signing in again after a lost connection gave up for
// good (exit 2) when the relay answered that its address was held back for failed sign-ins
// (someone else guessing behind the same NAT), although the relay said when to come back.
// Now it waits that long and signs in again.
TEST(LyingRelay, ASignInAgainHeldBackForAWhileIsTriedAgainAfterIt) {
  temp_dir dir;
  auto connections = std::make_shared<std::atomic<int>>(0);
  fake_relay relay([connections](const proto::frame& first) {
    switch (++*connections) {
      case 1: {  // signed in, then the connection fails
        auto answer = welcome_alone(asked_name(first));
        answer.push_back(bytes{0x7f, 0x00});
        return answer;
      }
      case 2:
        return std::vector<bytes>{proto::encode(
            proto::error{proto::reason::rate_limited, 0,
                         "too many failed sign-ins from your address; retry in 2 s"})};
      default:
        return welcome_alone(asked_name(first));
    }
  });
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  EXPECT_TRUE(saw(*alice, "* connection to the relay lost: "));
  EXPECT_TRUE(saw(*alice,
                  std::regex(R"(\* cannot reconnect yet: too many failed sign-ins from )"
                             R"(your address; retry in 2 s; trying again in [3-9] s)"),
                  "the wait the relay named"));
  EXPECT_TRUE(saw(*alice, "* reconnected to the relay"));
  EXPECT_EQ(relay.sign_ins(), 3);
  alice->send_line("/quit");
  EXPECT_TRUE(exited_with(*alice, 0));
}

// A /password whose answer never came (the relay went away): the next sign-in tries the old
// password, then the new one, and once the new one signs in this device's key is sealed
// with it (protocol.md 10.1).
TEST(LyingRelay, APasswordChangeLostBeforeItsAnswerIsTriedAtTheNextSignIn) {
  temp_dir dir;
  const std::string fresh = "a brand new password";
  auto connections = std::make_shared<std::atomic<int>>(0);
  fake_relay relay([connections, fresh](const proto::frame& first) {
    const auto* in = std::get_if<proto::sign_in>(&first);
    // The first sign-in (a new device: its key is made now) takes the old password; after
    // the lost change only the new one signs in.
    if (++*connections == 1) {  // the roster comes a little after the welcome
      auto answer = welcome_alone(asked_name(first));
      answer.insert(answer.begin() + 1, bytes{});
      return answer;
    }
    if (in && in->password == fresh) return welcome_alone(asked_name(first));
    return std::vector<bytes>{
        proto::encode(proto::error{proto::reason::invalid_credentials, 0, "invalid credentials"})};
  });
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  // At once, as a person might: the roster may still be on its way.
  ASSERT_TRUE(saw(*alice, "signed in as alice"));
  ASSERT_TRUE(type_password_change(*alice, password, fresh, fresh));
  EXPECT_TRUE(saw(*alice, "! the connection was lost before the relay answered /password"));
  EXPECT_TRUE(saw(*alice, "* the password change went through: signed in with the new password"));
  EXPECT_TRUE(saw(*alice, "* reconnected to the relay"));
  EXPECT_EQ(relay.sign_ins(), 3);  // the first, the old password again, the new one
  alice->send_line("/quit");
  EXPECT_TRUE(exited_with(*alice, 0));
  EXPECT_TRUE(never_printed(*alice, fresh));

  // The key here is sealed with the new password: it opens at once.
  auto again = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*again, "alice", fresh));
  EXPECT_TRUE(saw(*again, "signed in as alice"));
  EXPECT_TRUE(never_printed(*again, "does not unlock"));
  again->send_line("/quit");
  EXPECT_TRUE(exited_with(*again, 0));
}

// From a black-box review: a relay at its limit of connections from one address closes new
// ones at once, and the client said only "connection closed" (exit 1). It now says what
// such a close means, as a relay it could not use (exit 3).
TEST(NotARelay, ARelayClosingAtOnceIsSaidToBeAtItsLimitOrNoRelay) {
  temp_dir dir;
  relay_process relay = start_relay(dir.path() / "relay.db", 0, RELAY_NODE_BINARY,
                                    {"--max-unauthenticated-per-address", "2"});
  raw_socket first(relay.port), second(relay.port);  // silent: the address is at its limit
  auto alice = start_client(dir, relay.port, "alice");
  EXPECT_TRUE(
      saw(*alice,
          "error: secure handshake with the relay failed (127.0.0.1:" + std::to_string(relay.port) +
              "): it closed the connection before answering (a relay at one of its limits"));
  EXPECT_TRUE(saw(*alice, "or this is not a relaychat relay)"));
  EXPECT_TRUE(exited_with(*alice, 3));
  // At its limit in all (a later review): from another address, the same close, and the
  // text does not blame this address alone.
  relay_process full =
      start_relay(dir.path() / "full.db", 0, RELAY_NODE_BINARY, {"--max-unauthenticated", "2"});
  // One from this address too: at the limit, a newcomer takes the place of the oldest
  // connection of a source holding more than its own, and none does.
  raw_socket third(full.port, "127.0.0.1"), fourth(full.port, "127.0.0.3");
  auto bob = start_client(dir, full.port, "bob");
  EXPECT_TRUE(saw(*bob, "it closed the connection before answering (a relay at one of its"));
  EXPECT_TRUE(saw(*bob, "from this address or from all; or this")) << bob->describe("bob");
  EXPECT_TRUE(exited_with(*bob, 3));
  // At --max-connections (review 9): the text names that limit too.
  relay_process most =
      start_relay(dir.path() / "most.db", 0, RELAY_NODE_BINARY, {"--max-connections", "2"});
  raw_socket fifth(most.port, "127.0.0.4"), sixth(most.port, "127.0.0.5");
  auto carol = start_client(dir, most.port, "carol");
  EXPECT_TRUE(saw(*carol, "does so: in all, or not signed in yet")) << carol->describe("carol");
  EXPECT_TRUE(exited_with(*carol, 3));
}

// From the same review: a port that speaks something else (here an SSH server's greeting)
// was "connection closed" too, after waiting for a record length made of its text.
TEST(NotARelay, AServerThatSpeaksAnotherProtocolIsSaidNotToBeARelayAtOnce) {
  std::uint16_t port = 0;
  const int listener = listen_loopback(port, "ssh-like server");
  std::thread server([listener] {
    const int c = ::accept(listener, nullptr, nullptr);
    const std::string greeting = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
    write_all(c, byte_view(reinterpret_cast<const byte*>(greeting.data()), greeting.size()));
    char buf[256];
    while (::recv(c, buf, sizeof buf, 0) > 0) {  // held open until the client leaves
    }
    ::close(c);
  });
  temp_dir dir;
  auto alice = start_client(dir, port, "alice");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(saw(
      *alice, "error: secure handshake with the relay failed (127.0.0.1:" + std::to_string(port) +
                  "): its answer is not a relaychat handshake message (a bad record"));
  EXPECT_TRUE(saw(*alice, "not a relaychat relay?"));
  EXPECT_TRUE(exited_with(*alice, 3));
  // Not the 15 s handshake deadline: refused at the record's length.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  server.join();
  ::close(listener);
}

// The same fault before the chat, instead of the answer to the sign-in: named on the error
// line, and the client ends (nothing was signed in to come back to).
TEST(LyingRelay, AMalformedAnswerToTheSignInIsNamedAndEndsTheClient) {
  temp_dir dir;
  fake_relay relay([](const proto::frame&) { return std::vector<bytes>{bytes{0x7f, 0x00}}; });
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  EXPECT_TRUE(saw(
      *alice, "error: protocol error from the relay (127.0.0.1:" + std::to_string(relay.port()) +
                  "): a malformed frame (unknown frame type)"));
  EXPECT_TRUE(exited_with(*alice, 1));
}

// Not a lie, but a relay only a test can fill cheaply: a first sign-in with 3,000 users
// online pins them all at once. It printed two lines per new contact and saved the contacts
// file after each (a first sign-in beside 10,000 users took minutes); now one line sums
// them up, the online line names the first 50, and the file is written once per frame.
TEST(LyingRelay, AFirstSignInBesideThousandsOnlinePinsThemAllInALineOrTwo) {
  temp_dir dir;
  constexpr int online = 3000;
  fake_relay relay([](const proto::frame& first) {
    std::vector<bytes> out{proto::encode(proto::welcome{asked_name(first)})};
    proto::presence p;
    p.snapshot = true;
    for (int i = 0; i < online; ++i) {
      proto::presence_entry e;
      e.name = "user" + std::to_string(i);
      randombytes_buf(e.identity.data(), e.identity.size());
      p.entries.push_back(std::move(e));
      if (p.entries.size() == 1000) {  // frames of 35 kB
        p.last = i == online - 1;
        out.push_back(proto::encode(p));
        p.entries.clear();
      }
    }
    return out;
  });
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  // Who is online first, then what is new about them (review 14). Wrapped on the terminal:
  // matched across its line breaks.
  EXPECT_TRUE(saw(*alice,
                  std::regex(R"(\* online:(\s+user\d+){50}\s+and\s+2950\s+more\s+)"
                             R"(\(3000\s+others\s+online;\s+/who\s+lists\s+them\s+all\))"),
                  "the online line with 50 names"));
  EXPECT_TRUE(saw(
      *alice, "* 3000 new contacts pinned: user0, user1, user10, user100, user1000 and 2995 more"));
  EXPECT_TRUE(saw(*alice, "(/who lists their keys; compare safety numbers with /verify NAME)"));
  alice->send_line("/who");
  EXPECT_TRUE(saw(*alice, "* user999 "));
  alice->send_line("/quit");
  EXPECT_TRUE(exited_with(*alice, 0));
  EXPECT_EQ(occurrences(alice->transcript(), "new contact user"), 0U);
  std::ifstream file(dir.path() / "alice" / "relays" /
                     ("127.0.0.1_" + std::to_string(relay.port())) / "alice" / "contacts");
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(occurrences(text.str(), " unverified\n"), std::size_t{online});
}

/// A presence frame: `joining` come online with keys of their own, `leaving` go.
bytes live_round(const std::vector<std::string>& joining,
                 const std::vector<std::string>& leaving = {}) {
  proto::presence p;
  for (const auto& name : joining) {
    proto::presence_entry e;
    e.name = name;
    randombytes_buf(e.identity.data(), e.identity.size());
    p.entries.push_back(std::move(e));
  }
  for (const auto& name : leaving) {
    p.entries.push_back({proto::presence_entry::kind::offline, name, {}});
  }
  return proto::encode(p);
}

std::vector<std::string> names(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

/// The roster snapshot (one frame, the last) of `online`, each with a random key.
proto::presence snapshot_of(const std::vector<std::string>& online) {
  auto decoded = proto::decode(live_round(online));
  proto::presence p = std::get<proto::presence>(*decoded);
  p.snapshot = true;
  p.last = true;
  return p;
}

/// Signs in to a roster of old0..old9, then three rounds: 20 joins, 8 leaves, 3 joins.
std::vector<bytes> busy_hour(const proto::frame& first) {
  std::vector<bytes> out{proto::encode(proto::welcome{asked_name(first)})};
  out.push_back(proto::encode(snapshot_of(names("old", 10))));
  out.push_back(live_round(names("new", 20)));
  out.push_back({});  // a pause: the next round is said on its own
  out.push_back(live_round({}, names("old", 8)));
  out.push_back({});
  out.push_back(live_round(names("few", 3)));
  out.push_back({});
  for (const auto& name : names("new", 8)) out.push_back(live_round({}, {name}));
  return out;
}

/// Signs in to a roster of grp0..grp6; then x0 joins, and close behind all seven leave and
/// come back with the same keys (a relay restarting, a network blip).
std::vector<bytes> out_and_back(const proto::frame& first) {
  std::vector<bytes> out{proto::encode(proto::welcome{asked_name(first)})};
  const proto::presence snapshot = snapshot_of(names("grp", 7));
  out.push_back(proto::encode(snapshot));
  out.push_back({});
  out.push_back(live_round({"x0"}));  // said at once; the rounds close behind it, together
  out.push_back(live_round({}, names("grp", 7)));
  proto::presence back;
  back.entries = snapshot.entries;
  out.push_back(proto::encode(back));
  return out;
}

/// Signs in to a roster of ann and zed, whose key is 32 zero bytes; then zoe joins with
/// another low-order key (u = 1).
std::vector<bytes> unusable_keys(const proto::frame& first) {
  std::vector<bytes> out{proto::encode(proto::welcome{asked_name(first)})};
  proto::presence snapshot = snapshot_of({"ann", "zed"});
  snapshot.entries[1].identity = proto::key_bytes{};
  out.push_back(proto::encode(snapshot));
  out.push_back({});
  proto::presence join;
  join.entries.push_back({proto::presence_entry::kind::online, "zoe", proto::key_bytes{1}});
  out.push_back(proto::encode(join));
  return out;
}

// From a black-box review: an account announced with 32 zero bytes as its key was pinned as
// a new contact, and only a send said the key was unusable. Our relay refuses such keys now
// (HostileTest.ALowOrderIdentityKeyIsAProtocolErrorAndNoAccountIsMade); another may not.
TEST(LyingRelay, AContactWithAnUnusableKeyIsSaidSoAndNotPinned) {
  temp_dir dir;
  fake_relay relay(unusable_keys);
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  EXPECT_TRUE(saw(*alice, "! zed has an unusable key (a low-order point, not one anyone holds)"));
  // Nor called a new contact, on the screen or to a program (an independent client's author
  // saw --json say "new_contact":true beside "it is not pinned").
  EXPECT_TRUE(saw(*alice, "* new contact ann: key "));  // beside them, as usual
  EXPECT_TRUE(saw(*alice, "! zoe has an unusable key (a low-order point, not one anyone holds)"));
  for (const char* name : {"zed", "zoe"}) {
    EXPECT_EQ(alice->transcript().find(std::string("new contact ") + name), std::string::npos)
        << alice->describe("alice");
  }
  alice->send_line("/quit");
  ASSERT_TRUE(exited_with(*alice, 0));
  auto program = start_client(dir, relay.port(), "alice", {"--json"});
  ASSERT_TRUE(type_credentials(*program, "alice", password));
  EXPECT_TRUE(saw(*program, R"("type":"join","time":)"));
  EXPECT_TRUE(saw(*program, R"("name":"zoe","key":)"));
  EXPECT_TRUE(saw(*program, R"("new_contact":false})")) << program->describe("alice --json");
  program->send_line("/quit");
  ASSERT_TRUE(exited_with(*program, 0));
  const auto contacts = dir.path() / "alice" / "relays" /
                        ("127.0.0.1_" + std::to_string(relay.port())) / "alice" / "contacts";
  std::ifstream in(contacts);
  std::stringstream pins;
  pins << in.rdbuf();
  EXPECT_NE(pins.str().find("ann"), std::string::npos) << pins.str();  // pinned as usual
  EXPECT_EQ(pins.str().find("zed"), std::string::npos) << pins.str();
  EXPECT_EQ(pins.str().find("zoe"), std::string::npos) << pins.str();
}

// Review 11: seven who left and came back in rounds said together were shown as "* 7
// joined" and then "* 7 left", while all seven were online.
TEST(LyingRelay, ManyWhoLeaveAndComeBackTogetherAreSaidToBeBack) {
  temp_dir dir;
  fake_relay relay(out_and_back);
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  EXPECT_TRUE(saw(*alice, "* x0 joined, a new contact"));
  EXPECT_TRUE(saw(*alice, "* 7 left and joined again: grp0, grp1, grp2, grp3, grp4, grp5, grp6"));
  alice->send_line("/quit");
  EXPECT_TRUE(exited_with(*alice, 0));
  EXPECT_EQ(occurrences(alice->transcript(), " left:"), 0U) << alice->describe("alice");
  EXPECT_EQ(occurrences(alice->transcript(), " joined:"), 0U) << alice->describe("alice");
}

/// Signs in to a roster of grp0..grp6; then a live round announces a new key for each.
std::vector<bytes> seven_new_keys(const proto::frame& first) {
  std::vector<bytes> out{proto::encode(proto::welcome{asked_name(first)})};
  const proto::presence snapshot = snapshot_of(names("grp", 7));
  out.push_back(proto::encode(snapshot));
  out.push_back({});
  out.push_back(live_round(names("grp", 7)));  // the same names, new random keys
  return out;
}

// Review 11: seven keys changed in one round gave seven six-line warnings (a roster snapshot
// already gave one naming them all).
TEST(LyingRelay, ManyKeysChangedInOneLiveRoundAreOneWarning) {
  temp_dir dir;
  fake_relay relay(seven_new_keys);
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  EXPECT_TRUE(saw(*alice, "!!! WARNING: the identity keys of 7 contacts have CHANGED !!!"));
  alice->send_line("/who");
  EXPECT_TRUE(saw(*alice, "KEY CHANGED"));
  alice->send_line("/quit");
  EXPECT_TRUE(exited_with(*alice, 0));
  EXPECT_EQ(occurrences(alice->transcript(), "identity key has CHANGED"), 0U)
      << alice->describe("alice");
}

// A roster round with many joins or leaves (a relay restarting, a busy hour) filled the
// screen with a line each; more than five are now said in one line each way, naming all up
// to eight. Rounds that follow each other closely (the relay sends one per interval) are
// said together once they pause (a second review saw a burst of 12 take 14 lines). Programs
// reading --json still get every one.
TEST(LyingRelay, ARoundOfManyJoinsOrLeavesIsSaidInALineEachWay) {
  temp_dir dir;
  fake_relay relay(busy_hour);
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  EXPECT_TRUE(saw(*alice, "* 10 new contacts pinned: old0, old1, old2, old3, old4 and 5 more"));
  EXPECT_TRUE(saw(*alice, "* 20 joined: new0, new1, new2, new3, new4 and 15 more"));
  EXPECT_TRUE(saw(*alice, "(20 of them new contacts, pinned: /who lists their keys;"));
  EXPECT_TRUE(saw(*alice, "* 8 left: old0, old1, old2, old3, old4, old5, old6, old7"));
  EXPECT_TRUE(saw(*alice, "* few0 joined, a new contact: key "));
  EXPECT_TRUE(saw(*alice, "* few2 joined, a new contact: key "));
  // Eight rounds of one leave each, back to back: the first is said at once, the other
  // seven together.
  EXPECT_TRUE(saw(*alice, "* new0 left"));
  EXPECT_TRUE(saw(*alice, "* 7 left: new1, new2, new3, new4, new5, new6, new7"));
  alice->send_line("/quit");
  EXPECT_TRUE(exited_with(*alice, 0));
  EXPECT_EQ(occurrences(alice->transcript(), " joined"), 4U) << alice->describe("alice");
  EXPECT_EQ(occurrences(alice->transcript(), " left"), 3U) << alice->describe("alice");

  auto program = start_client(dir, relay.port(), "alice", {"--json"});
  ASSERT_TRUE(type_credentials(*program, "alice", password));
  EXPECT_TRUE(saw(*program, R"("type":"join","time")"));
  EXPECT_TRUE(saw(*program, R"("name":"few2")"));
  EXPECT_TRUE(saw(*program, R"("type":"leave","time":)"));
  EXPECT_TRUE(saw(*program, R"("name":"new7")"));
  program->send_line("/quit");
  EXPECT_TRUE(exited_with(*program, 0));
  EXPECT_EQ(occurrences(program->transcript(), R"("type":"join")"), 23U)
      << program->describe("program");
  EXPECT_EQ(occurrences(program->transcript(), R"("type":"leave")"), 16U)
      << program->describe("program");
}

// protocol.md 7.6: after a bye the relay sends what it had queued for the connection, then
// closes. Messages it forwarded just before it read the bye were lost without a word: the
// client closed once its bye was written. It now reads on until the relay closes.
TEST(LyingRelay, MessagesTheRelaySentBeforeItReadTheByeAreShownNotLost) {
  temp_dir dir;
  auto carol = std::make_shared<crypto::key_pair>(crypto::key_pair::generate(crypto::os_random()));
  fake_relay relay(
      [carol](const proto::frame& first) {
        proto::presence snapshot;
        snapshot.snapshot = true;
        snapshot.last = true;
        proto::presence_entry e;
        e.name = "carol";
        std::copy(carol->pub().begin(), carol->pub().end(), e.identity.begin());
        snapshot.entries.push_back(std::move(e));
        return std::vector<bytes>{proto::encode(proto::welcome{asked_name(first)}),
                                  proto::encode(snapshot)};
      },
      [carol](const proto::frame& first) {
        const auto& in = std::get<proto::sign_in>(first);
        crypto::public_key alice{};
        std::copy(in.identity.begin(), in.identity.end(), alice.begin());
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::system_clock::now().time_since_epoch());
        std::vector<bytes> queued;  // three messages, the last one a moment after the others
        for (const char* text : {"one more thing", "before you go", ""}) {
          if (*text == '\0') {
            queued.push_back({});
            text = "and the last";
          }
          const crypto::envelope m{"carol", "alice",
                                   static_cast<std::uint64_t>(now.count()) + queued.size(), text};
          queued.push_back(proto::encode(
              proto::deliver{"carol", crypto::seal(m, *carol, alice, crypto::os_random())}));
        }
        return queued;
      });
  auto alice = start_client(dir, relay.port(), "alice");
  ASSERT_TRUE(type_credentials(*alice, "alice", password));
  ASSERT_TRUE(saw(*alice, "* online: carol"));
  alice->send_line("/quit");
  EXPECT_TRUE(saw(*alice, "carol: one more thing"));
  EXPECT_TRUE(saw(*alice, "carol: before you go"));
  EXPECT_TRUE(saw(*alice, "carol: and the last"));
  EXPECT_TRUE(exited_with(*alice, 0));
}

}  // namespace
}  // namespace relay::test
