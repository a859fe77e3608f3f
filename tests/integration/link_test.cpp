// The client's link over real loopback sockets: what open() tells a person whose address is
// not a relay's (a server that stays silent, one that hangs up, one speaking HTTP), and that
// it opens against a real relay.
#include "relay/client/link.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "support/relay_fixture.hpp"
#include "support/temp_dir.hpp"

namespace relay::test {
namespace {

using namespace std::chrono_literals;

/// A listener on 127.0.0.1 that does `what` with the one connection it accepts.
enum class peer_does { stay_silent, hang_up, speak_http };

/// What open() gave, and its protocol_fault() (copied: the link must not outlive the
/// io_context whose timers it holds).
struct opened {
  result<void> outcome;
  std::string fault;
};

/// Opens a link to a fake server doing `what`, with open()'s `timeout`.
opened open_against(peer_does what, std::chrono::seconds timeout) {
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  tcp::socket accepted(io);
  acceptor.async_accept(accepted, [&](boost::system::error_code ec) {
    if (ec) return;
    if (what == peer_does::hang_up) accepted.close();
    if (what == peer_does::speak_http) {
      static const std::string reply = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
      net::write(accepted, net::buffer(reply), ec);
    }
  });
  auto l = std::make_shared<client::link>(io);
  std::optional<result<void>> out;
  net::co_spawn(
      io,
      [&]() -> awaitable<void> {
        out = co_await l->open(
            "127.0.0.1", acceptor.local_endpoint().port(),
            [](const crypto::public_key&) { return true; }, timeout);
      },
      net::detached);
  while (!out && io.run_one_for(timeout + 5s) > 0) {
  }
  if (!out) throw std::runtime_error("open() never finished");
  return {std::move(*out), l->protocol_fault()};
}

TEST(Link, AServerThatTakesTheConnectionButStaysSilentIsNamedAsNoRelay) {
  // Before, the person read only "the relay did not answer in time" (review 13): a web
  // server on the port waits, silent, for a request that never comes.
  const auto [outcome, fault] = open_against(peer_does::stay_silent, 1s);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error(), client::link_errc::timeout);
  EXPECT_EQ(fault,
            "it took the connection but did not answer the secure handshake in 1 s: not a "
            "relaychat relay (a web or other server waits silently for its own protocol), or a "
            "wedged one");
}

TEST(Link, AServerThatHangsUpOrSpeaksHttpIsToldApart) {
  const auto [closed, closed_fault] = open_against(peer_does::hang_up, 5s);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error(), client::link_errc::handshake_failed);
  EXPECT_NE(closed_fault.find("it closed the connection before answering"), std::string::npos)
      << closed_fault;

  const auto [http, http_fault] = open_against(peer_does::speak_http, 5s);
  ASSERT_FALSE(http);
  EXPECT_EQ(http.error(), client::link_errc::handshake_failed);
  EXPECT_NE(http_fault.find("not a relaychat handshake message"), std::string::npos) << http_fault;
}

TEST(Link, OpensAgainstARealRelayAndSeesItsKey) {
  temp_dir dir;
  relay_fixture relay(test_config(dir.path()));
  net::io_context io;
  auto l = std::make_shared<client::link>(io);
  std::optional<crypto::public_key> seen;
  std::optional<result<void>> out;
  net::co_spawn(
      io,
      [&]() -> awaitable<void> {
        out = co_await l->open("127.0.0.1", relay.port(), [&](const crypto::public_key& k) {
          seen = k;
          return true;
        });
      },
      net::detached);
  while (!out && io.run_one_for(10s) > 0) {
  }
  ASSERT_TRUE(out);
  EXPECT_TRUE(*out) << out->error().message();
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, relay.key());
  EXPECT_EQ(l->relay_key(), relay.key());
  EXPECT_TRUE(l->protocol_fault().empty());
}

}  // namespace
}  // namespace relay::test
