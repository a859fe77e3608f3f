// node-bench's MQTT 3.1.1 subset: packets byte for byte as the OASIS standard lays them out,
// and the load tool driving a small broker written here from that standard (one thread per
// connection, topic = subscriber), so that `--mqtt` is known to work before mosquitto runs.
#include "relay/bench/mqtt.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "relay/bench/options.hpp"
#include "relay/bench/runner.hpp"
#include "relay/net.hpp"

namespace relay::bench::mqtt {
namespace {

bytes hex(std::initializer_list<int> v) {
  bytes b;
  for (int x : v) b.push_back(static_cast<byte>(x));
  return b;
}

TEST(Mqtt, ConnectIsLevel4CleanSessionWithTheKeepaliveAndClientId) {
  bytes out;
  write_connect(out, "bn0", 3600);
  EXPECT_EQ(out,
            hex({0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0x0e, 0x10, 0, 3, 'b', 'n', '0'}));
}

TEST(Mqtt, SubscribeAsksForOneTopicAtQos0) {
  bytes out;
  write_subscribe(out, 1, "bn7");
  EXPECT_EQ(out, hex({0x82, 8, 0, 1, 0, 3, 'b', 'n', '7', 0}));
}

// The remaining length's boundaries, from the standard's table 2.4.
TEST(Mqtt, RemainingLengthsAtEveryByteCountBoundary) {
  const std::pair<std::size_t, bytes> cases[] = {
      {0, hex({0x00})},
      {127, hex({0x7f})},
      {128, hex({0x80, 0x01})},
      {16383, hex({0xff, 0x7f})},
      {16384, hex({0x80, 0x80, 0x01})},
      {2097151, hex({0xff, 0xff, 0x7f})},
      {2097152, hex({0x80, 0x80, 0x80, 0x01})},
  };
  for (const auto& [remaining, encoded] : cases) {
    if (remaining < 2) continue;  // a PUBLISH has at least its topic length
    bytes out;
    auto payload = write_publish(out, "", remaining - 2);
    EXPECT_EQ(payload.size(), remaining - 2);
    ASSERT_GE(out.size(), 1 + encoded.size());
    EXPECT_EQ(bytes(out.begin() + 1, out.begin() + 1 + encoded.size()), encoded) << remaining;
    EXPECT_EQ(out.size(), publish_size(0, remaining - 2));
    const auto cut = next_packet(out);
    ASSERT_TRUE(cut.p) << remaining;
    EXPECT_EQ(cut.p->size, out.size());
    EXPECT_EQ(cut.p->body.size(), remaining);
  }
  const bytes longest = hex({0x30, 0xff, 0xff, 0xff, 0x7f});
  const auto cut = next_packet(longest);
  EXPECT_FALSE(cut.p);  // 268,435,455 bytes announced, not there yet
  EXPECT_FALSE(cut.malformed);
}

TEST(Mqtt, APublishRoundTripsAndIsCutFromAStreamOnlyWhenWhole) {
  bytes out;
  auto payload = write_publish(out, "bob", 5);
  std::memcpy(payload.data(), "hello", 5);
  EXPECT_EQ(out, hex({0x30, 10, 0, 3, 'b', 'o', 'b', 'h', 'e', 'l', 'l', 'o'}));
  for (std::size_t n = 0; n < out.size(); ++n) {
    const auto cut = next_packet(byte_view(out.data(), n));
    EXPECT_FALSE(cut.p) << n;
    EXPECT_FALSE(cut.malformed) << n;
  }
  bytes two = out;
  two.insert(two.end(), out.begin(), out.end());
  const auto cut = next_packet(two);
  ASSERT_TRUE(cut.p);
  EXPECT_EQ(cut.p->size, out.size());
  const auto pub = parse_publish(*cut.p);
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->topic, "bob");
  EXPECT_EQ(std::string(pub->payload.begin(), pub->payload.end()), "hello");
}

TEST(Mqtt, MalformedLengthsAndPacketsAreRefused) {
  EXPECT_TRUE(next_packet(hex({0x30, 0x80, 0x80, 0x80, 0x80, 0x01})).malformed);  // 5 bytes
  EXPECT_TRUE(next_packet(hex({0x30, 0x81, 0x01}), 128).malformed);  // 129 > the limit given
  const bytes short_topic = hex({0x30, 3, 0, 5, 'b'});               // topic past the end
  EXPECT_FALSE(parse_publish(*next_packet(short_topic).p));
  const bytes qos1 = hex({0x32, 5, 0, 1, 'b', 0, 1});  // QoS 1 has a packet id: not ours
  EXPECT_FALSE(parse_publish(*next_packet(qos1).p));
  EXPECT_EQ(connack_code(*next_packet(hex({0x20, 2, 0, 0})).p), byte{0});
  EXPECT_EQ(connack_code(*next_packet(hex({0x20, 2, 0, 5})).p), byte{5});
  EXPECT_FALSE(connack_code(*next_packet(hex({0x20, 1, 0})).p));
  EXPECT_EQ(suback_code(*next_packet(hex({0x90, 3, 0, 1, 0})).p, 1), byte{0});
  EXPECT_EQ(suback_code(*next_packet(hex({0x90, 3, 0, 1, 0x80})).p, 1), byte{0x80});
  EXPECT_FALSE(suback_code(*next_packet(hex({0x90, 3, 0, 2, 0})).p, 1));  // another id
}

// A broker of the subset: CONNACK (with `connack_code`), SUBACK, and each PUBLISH passed
// unchanged to the one subscriber of its topic. Blocking, one thread per connection.
class tiny_broker {
 public:
  explicit tiny_broker(byte connack_code = 0) : code_(connack_code) {
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~tiny_broker() {
    stopping_ = true;
    {  // wakes the blocking accept
      net::io_context io;
      tcp::socket s(io);
      boost::system::error_code ec;
      s.connect(acceptor_.local_endpoint(), ec);
    }
    accept_thread_.join();
    for (auto& t : threads_) t.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::uint64_t forwarded() const { return forwarded_; }

 private:
  struct conn {
    explicit conn(tcp::socket s) : sock(std::move(s)) {}
    tcp::socket sock;
    std::mutex write_mutex;
    void write(byte_view b) {
      std::lock_guard lock(write_mutex);
      boost::system::error_code ec;
      net::write(sock, net::buffer(b.data(), b.size()), ec);
    }
  };
  void accept_loop() {
    for (;;) {
      tcp::socket s(io_);
      acceptor_.accept(s);
      if (stopping_) return;
      auto c = std::make_shared<conn>(std::move(s));
      threads_.emplace_back([this, c] { serve(c); });
    }
  }
  void serve(const std::shared_ptr<conn>& c) {
    bytes in;
    byte buf[65536];
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = c->sock.read_some(net::buffer(buf), ec);
      if (ec) return;
      in.insert(in.end(), buf, buf + n);
      std::size_t at = 0;
      for (;;) {
        const auto cut = next_packet(byte_view(in).subspan(at));
        if (!cut.p) break;
        const packet& p = *cut.p;
        if (p.type == connect) {
          c->write(hex({0x20, 2, 0, code_}));
        } else if (p.type == subscribe) {
          const std::size_t tl = (std::size_t{p.body[2]} << 8) | p.body[3];
          const std::string topic(reinterpret_cast<const char*>(p.body.data()) + 4, tl);
          {
            std::lock_guard lock(mutex_);
            subscribers_[topic] = c;
          }
          c->write(hex({0x90, 3, p.body[0], p.body[1], 0}));
        } else if (auto pub = parse_publish(p)) {
          std::shared_ptr<conn> to;
          {
            std::lock_guard lock(mutex_);
            auto it = subscribers_.find(std::string(pub->topic));
            if (it != subscribers_.end()) to = it->second;
          }
          if (to) {
            to->write(byte_view(in).subspan(at, p.size));
            ++forwarded_;
          }
        }
        at += p.size;
      }
      in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(at));
    }
  }

  byte code_;
  net::io_context io_;
  tcp::acceptor acceptor_{io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> forwarded_{0};
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<conn>> subscribers_;
  std::thread accept_thread_;
  std::vector<std::thread> threads_;
};

bench_config mqtt_config(std::uint16_t port, mode m) {
  bench_config cfg;
  cfg.port = port;
  cfg.mqtt = true;
  cfg.label = "mqtt";
  cfg.mode = m;
  cfg.clients = 8;
  cfg.size = 300;  // two length bytes
  cfg.rate = 2000;
  cfg.duration = 0.4;
  cfg.warmup = 0.1;
  return cfg;
}

TEST(MqttBench, NodeBenchDrivesABrokerWithTheSameWorkloadAndLosesNothing) {
  tiny_broker broker;
  for (mode m : {mode::throughput, mode::latency}) {
    const auto report = run(mqtt_config(broker.port(), m));
    EXPECT_TRUE(report.value("ok", false)) << report.dump();
    EXPECT_EQ(report.value("system", ""), "mqtt");
    EXPECT_GT(report.value("delivered", 0), 50) << report.dump();
    EXPECT_EQ(report.value("lost", -1), 0);
    EXPECT_EQ(report.value("duplicated", -1), 0);
    EXPECT_EQ(report.value("corrupted", -1), 0);
    EXPECT_FALSE(report.contains("transport"));  // relaychat's own counters
  }
  EXPECT_GT(broker.forwarded(), 100u);
}

TEST(MqttBench, ARefusedConnectionIsAFailedRunThatSaysWhy) {
  tiny_broker broker(5);  // "not authorized"
  auto cfg = mqtt_config(broker.port(), mode::idle);
  cfg.duration = 0.1;
  const auto report = run(cfg);
  EXPECT_FALSE(report.value("ok", true));
  EXPECT_NE(report.dump().find("CONNACK refused with code 5"), std::string::npos) << report.dump();
}

TEST(MqttBench, OptionsTakeMqttAloneAndNameTheSystem) {
  auto c = parse_options({"--mqtt"});
  ASSERT_TRUE(std::holds_alternative<bench_config>(c));
  EXPECT_TRUE(std::get<bench_config>(c).mqtt);
  EXPECT_EQ(std::get<bench_config>(c).label, "mqtt");
  EXPECT_FALSE(std::get<bench_config>(c).relaychat());
  auto both = parse_options({"--mqtt", "--irc"});
  ASSERT_TRUE(std::holds_alternative<show_text>(both));
  EXPECT_EQ(std::get<show_text>(both).exit_code, 2);
}

}  // namespace
}  // namespace relay::bench::mqtt
