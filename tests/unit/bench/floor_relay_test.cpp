#include "relay/bench/floor_relay.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "relay/bench/options.hpp"
#include "relay/bench/runner.hpp"

namespace relay::bench {
namespace {

// The floor relay on its own thread, on a free loopback port.
class FloorRelay : public ::testing::Test {
 protected:
  void SetUp() override {
    floor_ =
        std::make_unique<floor_relay>(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    net::post(io_, [this] { floor_.reset(); });
    net::post(io_, [this] { io_.stop(); });
    thread_.join();
  }

  // A blocking client: connects, sends text, reads lines.
  struct client {
    net::io_context io;
    tcp::socket sock{io};
    std::string buffered;
    explicit client(std::uint16_t port) {
      sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }
    void send(const std::string& text) { net::write(sock, net::buffer(text)); }
    std::string line() {
      std::size_t lf;
      while ((lf = buffered.find('\n')) == std::string::npos) {
        char buf[4096];
        const std::size_t n = sock.read_some(net::buffer(buf));
        buffered.append(buf, n);
      }
      std::string l = buffered.substr(0, lf + 1);
      buffered.erase(0, lf + 1);
      return l;
    }
    void sign_in(const std::string& nick) {
      send("NICK " + nick + "\r\nUSER " + nick + " 0 * :test\r\n");
      EXPECT_EQ(line(), ":floor 001 " + nick + " :ready\r\n");
    }
  };

  net::io_context io_{1};
  std::unique_ptr<floor_relay> floor_;
  std::thread thread_;
};

TEST_F(FloorRelay, ForwardsAPrivmsgToTheNamedNickWithTheSenderAsPrefix) {
  client alice(floor_->port()), bob(floor_->port());
  alice.sign_in("alice");
  bob.sign_in("bob");
  alice.send("PRIVMSG bob :hello there\r\n");
  EXPECT_EQ(bob.line(), ":alice PRIVMSG bob :hello there\r\n");
  bob.send("PRIVMSG alice :hi\r\n");
  EXPECT_EQ(alice.line(), ":bob PRIVMSG alice :hi\r\n");
}

TEST_F(FloorRelay, ALineSplitAcrossWritesArrivesWholeAndUnknownNicksAreDropped) {
  client alice(floor_->port()), bob(floor_->port());
  alice.sign_in("alice");
  bob.sign_in("bob");
  alice.send("PRIVMSG nobody :lost\r\nPRIVMSG bob :fir");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the relay reads the half
  alice.send("st\r\nPING :x\r\n");
  EXPECT_EQ(bob.line(), ":alice PRIVMSG bob :first\r\n");
  EXPECT_EQ(alice.line(), "PONG :x\r\n");
}

TEST_F(FloorRelay, NodeBenchDrivesItWithTheIrcWorkloadAndLosesNothing) {
  bench_config cfg;
  cfg.port = floor_->port();
  cfg.irc = true;
  cfg.label = "floor";
  cfg.clients = 10;
  cfg.duration = 0.5;
  cfg.warmup = 0.2;
  const auto report = run(cfg);
  EXPECT_TRUE(report.value("ok", false)) << report.dump();
  EXPECT_GT(report.value("delivered", 0), 100);
  EXPECT_EQ(report.value("lost", -1), 0);
  EXPECT_GT(floor_->forwarded(), 100u);
}

}  // namespace
}  // namespace relay::bench
