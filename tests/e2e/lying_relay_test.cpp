// The real client against a relay that lies (support/fake_relay): what it must refuse, and
// that it says exactly what the relay did wrong, so a person can tell a bug from an attack.
#include <gtest/gtest.h>

#include <string>

#include "support/chat_driver.hpp"
#include "support/fake_relay.hpp"
#include "support/pty_process.hpp"
#include "support/temp_dir.hpp"

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
                  "* connection to the relay lost: protocol error from the relay (a malformed "
                  "frame (unknown frame type)); reconnecting (/quit leaves)"));
  EXPECT_TRUE(saw(*alice, "* reconnected to the relay"));
  EXPECT_GE(relay.sign_ins(), 2);
  alice->send_line("/quit");
  EXPECT_TRUE(alice->wait_exit().has_value());
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

}  // namespace
}  // namespace relay::test
