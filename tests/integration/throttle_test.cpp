// Brute force over real sockets: a guessing address is penalised with growing, expiring
// penalties; the owner still signs in from elsewhere.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "support/relay_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_client.hpp"

namespace relay::test {
namespace {

std::optional<proto::reason> try_password(std::uint16_t port, const char* source,
                                          const std::string& password) {
  test_client c(port, source);
  auto f = c.sign_in("alice", password);
  if (f && std::holds_alternative<proto::error>(*f)) return std::get<proto::error>(*f).code;
  if (f && std::holds_alternative<proto::welcome>(*f)) return std::nullopt;
  return proto::reason::protocol_error;
}

/// alice's account, made from 127.0.0.2 (the address under test is another).
void create_alice(std::uint16_t port) {
  test_client owner(port, "127.0.0.2");
  owner.sign_up_ok("alice", "the-right-password");
}

/// Eight strangers, each from its own address, send a wrong password for alice at once:
/// how many were checked (invalid_credentials) and how many held back (rate_limited).
std::pair<int, int> crowd_guesses(std::uint16_t port) {
  std::vector<std::unique_ptr<test_client>> crowd;
  for (int i = 0; i < 8; ++i) {
    const std::string source = "127.0.0." + std::to_string(20 + i);
    crowd.push_back(std::make_unique<test_client>(port, source.c_str()));
  }
  for (auto& c : crowd) c->send_frame(proto::sign_in{"alice", "crowd-guess", usable_key()});
  int checked = 0, held = 0;
  for (auto& c : crowd) {
    auto f = c->next_frame(std::chrono::seconds(10));
    EXPECT_TRUE(f && std::holds_alternative<proto::error>(*f));
    if (!f || !std::holds_alternative<proto::error>(*f)) continue;
    const auto code = std::get<proto::error>(*f).code;
    checked += code == proto::reason::invalid_credentials;
    held += code == proto::reason::rate_limited;
  }
  return {checked, held};
}

/// A relay whose addresses get `free_failures` free failures, then 30 s penalties.
server::relay_config strict_config(const temp_dir& dir, unsigned free_failures) {
  auto cfg = test_config(dir.path());
  cfg.address_penalty.free_failures = free_failures;
  cfg.address_penalty.base = std::chrono::seconds(30);
  return cfg;
}

TEST(Throttle, GuessingAddressIsPenalisedOwnerStillSignsIn) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.address_penalty.free_failures = 3;
  cfg.address_penalty.base = std::chrono::milliseconds(400);
  cfg.address_penalty.max = std::chrono::milliseconds(800);
  cfg.address_penalty.forget = std::chrono::milliseconds(3000);
  relay_fixture relay(cfg);
  create_alice(relay.port());
  // Three free failures from the attacker's address...
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(try_password(relay.port(), "127.0.0.1", "guess" + std::to_string(i)),
              proto::reason::invalid_credentials);
  }
  // ... the fourth earns a penalty, during which even the right password is refused there.
  EXPECT_EQ(try_password(relay.port(), "127.0.0.1", "guess3"), proto::reason::invalid_credentials);
  EXPECT_EQ(try_password(relay.port(), "127.0.0.1", "the-right-password"),
            proto::reason::rate_limited);
  // The owner, from another address, is not affected.
  EXPECT_EQ(try_password(relay.port(), "127.0.0.2", "the-right-password"), std::nullopt);
  // Penalties expire.
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  EXPECT_EQ(try_password(relay.port(), "127.0.0.1", "the-right-password"), std::nullopt);
}

TEST(Throttle, PenalisedAddressCostsNoHashing) {
  temp_dir dir;
  relay_fixture relay(strict_config(dir, 1));
  create_alice(relay.port());
  EXPECT_EQ(try_password(relay.port(), nullptr, "x-password"), proto::reason::invalid_credentials);
  EXPECT_EQ(try_password(relay.port(), nullptr, "x-password"), proto::reason::invalid_credentials);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(try_password(relay.port(), nullptr, "x-password"), proto::reason::rate_limited);
  }
  // Only the two real attempts were verified (and counted as failures).
  EXPECT_NE(relay.console("stats").find("sign-in failures     2\n"), std::string::npos)
      << relay.console("stats");
}

// From a black-box review: one person guessing (or mistyping) behind a shared address got
// it penalised, and every other user there whose connection blipped could not sign in again,
// even from their own device with the right password. The device an account last signed in
// from, proving it (protocol.md 5.2.1), is now let in; nothing else is.
TEST(Throttle, APenalisedAddressStillLetsInTheDeviceAnAccountLastSignedInFrom) {
  temp_dir dir;
  relay_fixture relay(strict_config(dir, 1));
  crypto::key_pair device = [&] {
    test_client owner(relay.port(), "127.0.0.1");
    owner.sign_up_ok("alice", "the-right-password");
    return owner.identity().copy();
  }();
  {
    test_client other(relay.port(), "127.0.0.2");
    other.sign_up_ok("carol", "carols-password");
  }
  // Someone else behind 127.0.0.1 guesses carol's password: two failures, a 30 s penalty.
  for (int i = 0; i < 2; ++i) {
    test_client c(relay.port(), "127.0.0.1");
    auto f = c.sign_in("carol", "guess-" + std::to_string(i));
    ASSERT_TRUE(f && std::holds_alternative<proto::error>(*f));
    EXPECT_EQ(std::get<proto::error>(*f).code, proto::reason::invalid_credentials);
  }
  auto refused = [](const std::optional<proto::frame>& f, const char* who) {
    ASSERT_TRUE(f) << who;
    ASSERT_TRUE(std::holds_alternative<proto::error>(*f)) << who << " was let in";
    EXPECT_EQ(std::get<proto::error>(*f).code, proto::reason::rate_limited) << who;
    EXPECT_NE(std::get<proto::error>(*f).text.find("from your address; retry in "),
              std::string::npos)
        << who;
  };
  {  // the right password from another device (a key of its own, proven)
    test_client c(relay.port(), "127.0.0.1");
    refused(c.sign_in("alice", "the-right-password"), "another device");
  }
  {  // alice's key claimed without its secret
    test_client forger(relay.port(), "127.0.0.1");
    proto::key_bytes k;
    std::copy(device.pub().begin(), device.pub().end(), k.begin());
    forger.send_frame(
        proto::sign_in{"alice", "the-right-password", k, forger.proof_for(forger.identity())});
    refused(forger.next_frame(std::chrono::seconds(10)), "a forged proof");
  }
  {  // alice's key without any proof
    test_client c(relay.port(), "127.0.0.1");
    proto::key_bytes k;
    std::copy(device.pub().begin(), device.pub().end(), k.begin());
    c.send_frame(proto::sign_in{"alice", "the-right-password", k, std::nullopt});
    refused(c.next_frame(std::chrono::seconds(10)), "no proof");
  }
  {  // a new account from the penalised address
    test_client c(relay.port(), "127.0.0.1");
    c.send_frame(proto::sign_up{"dave", "daves-password", usable_key()});
    refused(c.next_frame(std::chrono::seconds(10)), "a sign-up");
  }
  // alice's own device, behind the same address, is let in.
  test_client phone(relay.port(), "127.0.0.1");
  phone.use_identity(device);
  auto f = phone.sign_in("alice", "the-right-password");
  ASSERT_TRUE(f);
  EXPECT_TRUE(std::holds_alternative<proto::welcome>(*f)) << "the owner's device was held back";
  // Only the two guesses were hashed and failed.
  EXPECT_NE(relay.console("stats").find("sign-in failures     2\n"), std::string::npos)
      << relay.console("stats");
}

TEST(Throttle, SignUpsBehindOneAddressNeverLockEachOtherOut) {
  // Our client starts every sign-up with a sign-in, which fails (no such account yet). Those
  // failures guess no password: with one free failure, the second sign-up would be refused
  // if they counted.
  temp_dir dir;
  relay_fixture relay(strict_config(dir, 1));
  create_alice(relay.port());
  for (int i = 0; i < 8; ++i) {
    const std::string name = "user" + std::to_string(i);
    test_client c(relay.port(), "127.0.0.3");
    auto f = c.sign_in(name, "a-password-" + name);
    ASSERT_TRUE(f && std::holds_alternative<proto::error>(*f));
    EXPECT_EQ(std::get<proto::error>(*f).code, proto::reason::invalid_credentials) << name;
    c.sign_up_ok(name, "a-password-" + name);
  }
  EXPECT_NE(relay.console("stats").find("sign-in failures     8\n"), std::string::npos)
      << relay.console("stats");
  // A wrong password for an account that exists still counts: the second earns the penalty.
  EXPECT_EQ(try_password(relay.port(), "127.0.0.3", "guess-one"),
            proto::reason::invalid_credentials);
  EXPECT_EQ(try_password(relay.port(), "127.0.0.3", "guess-two"),
            proto::reason::invalid_credentials);
  EXPECT_EQ(try_password(relay.port(), "127.0.0.3", "guess-three"), proto::reason::rate_limited);
}

// Failed sign-ins on an account under attack are answered slowly. That wait must not hold a
// --max-pending-auth slot: a few addresses failing on one name (which need not exist) kept
// every slot and turned everyone else's sign-in away as busy (found by a hostile review).
TEST(Throttle, SlowAnswersToAnAccountUnderAttackHoldNoSignInSlot) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.max_pending_auth = 2;
  cfg.account_penalty.free_failures = 0;  // every failure on a name is answered slowly
  cfg.account_penalty.base = std::chrono::milliseconds(3000);
  cfg.account_penalty.max = std::chrono::milliseconds(3000);
  relay_fixture relay(cfg);
  create_alice(relay.port());
  std::vector<std::unique_ptr<test_client>> guessers;
  for (const char* source : {"127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"}) {
    guessers.push_back(std::make_unique<test_client>(relay.port(), source));
    // A name each: a second failure on one name would be refused unhashed, not waited out.
    guessers.back()->send_frame(proto::sign_in{"nosuchuser" + std::to_string(guessers.size()),
                                               "wrong-password", usable_key()});
    // Its hash is done well within this (cheap Argon2); it waits out the penalty now.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  test_client owner(relay.port(), "127.0.0.2");
  const auto answer = owner.sign_in("alice", "the-right-password");
  ASSERT_TRUE(answer);
  EXPECT_TRUE(std::holds_alternative<proto::welcome>(*answer))
      << "the owner was turned away while others' failures waited";
  for (auto& g : guessers) {
    auto f = g->next_frame(std::chrono::seconds(10));
    ASSERT_TRUE(f && std::holds_alternative<proto::error>(*f));
    EXPECT_EQ(std::get<proto::error>(*f).code, proto::reason::invalid_credentials);
  }
}

// Sign-ins for names with no account are checked as long as any (the answer tells nothing)
// and cost their address no penalty: from four addresses they kept every --max-pending-auth
// slot, and everyone else was told the relay is busy (review 15). One address now holds at
// most --max-pending-auth-per-address of the slots; the rest of its sign-ins are refused.
TEST(Throttle, OneAddressHoldsAtMostItsShareOfTheHashingSlots) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.argon2 = {4, 64 * 1024, 1};  // tenths of a second a check: the flood is still queued
  cfg.workers = 1;
  cfg.max_pending_auth = 4;
  cfg.max_pending_auth_per_address = 2;
  relay_fixture relay(cfg);
  create_alice(relay.port());
  std::vector<std::unique_ptr<test_client>> flood;
  for (int i = 0; i < 4; ++i) {
    flood.push_back(std::make_unique<test_client>(relay.port(), "127.0.0.3"));
    flood.back()->send_frame(
        proto::sign_in{"nosuchuser" + std::to_string(i), "wrong-password", usable_key()});
  }
  test_client owner(relay.port(), "127.0.0.2");
  const auto answer = owner.sign_in("alice", "the-right-password");
  ASSERT_TRUE(answer);
  EXPECT_TRUE(std::holds_alternative<proto::welcome>(*answer))
      << "one address's flood of unknown names turned the owner away";
  int refused = 0;
  int checked = 0;
  for (auto& c : flood) {
    const auto f = c->next_frame(std::chrono::seconds(20));
    ASSERT_TRUE(f && std::holds_alternative<proto::error>(*f));
    const auto& e = std::get<proto::error>(*f);
    if (e.code == proto::reason::busy) {
      ++refused;
      EXPECT_EQ(e.text, "too many sign-ins from your address are being checked; retry in a moment");
    } else {
      EXPECT_EQ(e.code, proto::reason::invalid_credentials);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2);
  EXPECT_EQ(refused, 2);
  // The slots come back: the address may have its sign-ins checked again.
  test_client later(relay.port(), "127.0.0.3");
  const auto again = later.sign_in("alice", "the-right-password");
  EXPECT_TRUE(again && std::holds_alternative<proto::welcome>(*again));
}

// Guessing one account from many addresses: per-address penalties do not add up, so the
// account itself takes one unproven attempt per penalty, refused before any hashing, even
// with the right password; the device that last signed in proves it holds the account's key
// and is let in at once (protocol.md 5.2.1). Unknown names are held back alike.
TEST(Throttle, AnAccountGuessedFromManyAddressesLetsOnlyItsDeviceIn) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.account_penalty.free_failures = 2;
  cfg.account_penalty.base = std::chrono::seconds(30);  // failures answered after 5 s (cap)
  cfg.account_penalty.max = std::chrono::seconds(60);
  relay_fixture relay(cfg);
  crypto::key_pair device = [&] {
    test_client owner(relay.port(), "127.0.0.2");
    owner.sign_up_ok("alice", "the-right-password");
    return owner.identity().copy();
  }();
  // Three wrong guesses on alice and on a name with no account, each from its own address:
  // no address is past its own free failures.
  auto guess = [&](std::string name, int i) {
    const std::string source = "127.0.0." + std::to_string(10 + i);
    test_client c(relay.port(), source.c_str());
    auto f = c.sign_in(name, "guess-" + std::to_string(i));
    return f && std::holds_alternative<proto::error>(*f) &&
           std::get<proto::error>(*f).code == proto::reason::invalid_credentials;
  };
  std::vector<std::future<bool>> guesses;
  for (int i = 0; i < 3; ++i) {
    // One after another (the third on each name is answered after 5 s: the two in parallel).
    for (const char* name : {"alice", "nobody"}) {
      guesses.push_back(std::async(std::launch::async, guess, name, guesses.size()));
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }
  for (auto& g : guesses) EXPECT_TRUE(g.get());
  auto refused_unhashed = [](const std::optional<proto::frame>& f, const char* who) {
    ASSERT_TRUE(f) << who;
    ASSERT_TRUE(std::holds_alternative<proto::error>(*f)) << who << " was let in";
    const auto& e = std::get<proto::error>(*f);
    EXPECT_EQ(e.code, proto::reason::rate_limited) << who << ": " << e.text;
    EXPECT_NE(e.text.find("retry in "), std::string::npos) << e.text;
  };
  {  // a stranger with the right password, from a fresh address and with a key of its own
    test_client stranger(relay.port(), "127.0.0.40");
    refused_unhashed(stranger.sign_in("alice", "the-right-password"), "a stranger");
  }
  {  // one that claims alice's key but cannot prove it
    test_client forger(relay.port(), "127.0.0.41");
    proto::key_bytes k;
    std::copy(device.pub().begin(), device.pub().end(), k.begin());
    forger.send_frame(
        proto::sign_in{"alice", "the-right-password", k, forger.proof_for(forger.identity())});
    refused_unhashed(forger.next_frame(std::chrono::seconds(10)), "a forged proof");
  }
  {  // the name with no account answers the same
    test_client c(relay.port(), "127.0.0.42");
    refused_unhashed(c.sign_in("nobody", "the-right-password"), "an unknown name");
  }
  // alice's own device, from yet another address, is let in at once.
  test_client phone(relay.port(), "127.0.0.43");
  phone.use_identity(device);
  const auto t0 = std::chrono::steady_clock::now();
  auto f = phone.sign_in("alice", "the-right-password");
  ASSERT_TRUE(f);
  EXPECT_TRUE(std::holds_alternative<proto::welcome>(*f)) << "the owner's device was held back";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  // Three attempts held back, none of them hashed: the failures are the six guesses.
  const auto stats = relay.console("stats");
  EXPECT_NE(stats.find("sign-ins held back   3\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("sign-in failures     6\n"), std::string::npos) << stats;
}

// Between holds, an account under attack has one unproven sign-in checked at a time: a crowd
// that arrives as a hold ends is not all hashed (found measuring 100 guessing addresses: each
// hold's end let dozens through, which filled the hashing queue ahead of the owner).
TEST(Throttle, BetweenHoldsOneStrangerAtATimeIsChecked) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.account_penalty.free_failures = 2;
  cfg.account_penalty.base = std::chrono::milliseconds(1500);
  cfg.account_penalty.max = std::chrono::milliseconds(1500);
  relay_fixture relay(cfg);
  create_alice(relay.port());
  for (int i = 0; i < 3; ++i) {  // the third holds alice for 1.5 s, and is answered after it
    const std::string source = "127.0.0." + std::to_string(10 + i);
    EXPECT_EQ(try_password(relay.port(), source.c_str(), "guess"),
              proto::reason::invalid_credentials);
  }
  // The hold is over; eight strangers at once.
  const auto [checked, held] = crowd_guesses(relay.port());
  EXPECT_EQ(checked, 1);
  EXPECT_EQ(held, 7);
}

// A crowd of strangers at once on an account with no failures yet: only as many are checked
// as it has free failures (100 addresses at once had 74 guesses hashed against 10 free).
TEST(Throttle, ACrowdAtOnceGetsNoMoreChecksThanTheFreeFailures) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.account_penalty.free_failures = 3;
  cfg.account_penalty.base = std::chrono::milliseconds(500);
  cfg.account_penalty.max = std::chrono::milliseconds(500);
  // A hash that takes a while, so that all eight are looked at before the first is answered
  // (after three failures, one more at a time would be checked between holds).
  cfg.argon2 = {2, 16384, 1};
  relay_fixture relay(cfg);
  create_alice(relay.port());
  const auto [checked, held] = crowd_guesses(relay.port());
  EXPECT_EQ(checked, 3);
  EXPECT_EQ(held, 5);
}

// One address may create --max-signups-per-address accounts an hour. Sign-ups racing on
// parallel connections take their tokens before any hashing, so they cannot overshoot.
TEST(Throttle, NewAccountsPerAddressAreLimitedEvenWhenSignUpsRace) {
  temp_dir dir;
  auto cfg = test_config(dir.path());
  cfg.max_signups_per_address = 3;
  relay_fixture relay(cfg);
  std::vector<std::unique_ptr<test_client>> racers;
  for (int i = 0; i < 8; ++i) {
    racers.push_back(std::make_unique<test_client>(relay.port(), "127.0.0.7"));
  }
  for (int i = 0; i < 8; ++i) {
    racers[i]->send_frame(
        proto::sign_up{"racer" + std::to_string(i), "a-long-password", usable_key()});
  }
  int welcomed = 0, limited = 0;
  for (auto& r : racers) {
    auto f = r->next_frame(std::chrono::seconds(10));
    ASSERT_TRUE(f);
    if (std::holds_alternative<proto::welcome>(*f)) ++welcomed;
    if (auto* e = std::get_if<proto::error>(&*f); e && e->code == proto::reason::rate_limited) {
      ++limited;
      EXPECT_EQ(e->ref, 0u);
      EXPECT_NE(e->text.find("too many new accounts from your address; retry in 20 min"),
                std::string::npos)
          << e->text;
    }
  }
  EXPECT_EQ(welcomed, 3);
  EXPECT_EQ(limited, 5);
  // Another address has its own bucket; signing in is never limited.
  test_client other(relay.port(), "127.0.0.8");
  other.sign_up_ok("newcomer", "a-long-password");
  racers.clear();
  EXPECT_EQ(try_password(relay.port(), "127.0.0.1", "wrong"), proto::reason::invalid_credentials);
  EXPECT_NE(relay.console("db").find("4 users"), std::string::npos) << relay.console("db");
}

}  // namespace
}  // namespace relay::test
