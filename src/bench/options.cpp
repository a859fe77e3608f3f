// node-bench command line (Boost.Program_options), validated before anything connects.
#include "relay/bench/options.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <sstream>

#include "relay/bench/payload.hpp"

namespace relay::bench {
namespace po = boost::program_options;

std::uint32_t effective_window(const bench_config& c) noexcept {
  if (c.window) return c.window;
  return std::min<std::uint32_t>(2000, 20 * c.clients);
}

parsed_options parse_options(const std::vector<std::string>& args) {
  bench_config c;
  std::string mode_name = "throughput";
  bool no_batch = false;
  po::options_description d(
      "usage: node-bench [options]\n"
      "Drives N real clients against a running relay (or IRC server, or MQTT broker) on "
      "loopback.\n\noptions");
  d.add_options()("help,h", "show this help")("mode",
                                              po::value(&mode_name)->default_value(mode_name),
                                              "throughput | latency | idle | storm | hash")(
      "host", po::value(&c.host)->default_value(c.host), "server address")(
      "port,p", po::value(&c.port)->default_value(c.port), "server port")(
      "irc", po::bool_switch(&c.irc), "the server is a plain IRC server (NICK/USER, PRIVMSG)")(
      "mqtt", po::bool_switch(&c.mqtt),
      "the server is an MQTT 3.1.1 broker (CONNECT, SUBSCRIBE to one's own name, PUBLISH at "
      "QoS 0 to the receiver's)")("label", po::value(&c.label), "system name in the report")(
      "clients,n", po::value(&c.clients)->default_value(c.clients),
      "clients N (storm: chatting clients M)")("size", po::value(&c.size)->default_value(c.size),
                                               "payload bytes per message")(
      "threads", po::value(&c.threads)->default_value(c.threads), "io threads of the tool")(
      "window", po::value(&c.window)->default_value(0),
      "throughput: aggregate messages in flight (0: min(2000, 20 N))")(
      "rate", po::value(&c.rate)->default_value(c.rate),
      "latency/storm: aggregate messages per second")(
      "duration", po::value(&c.duration)->default_value(c.duration),
      "measured seconds (idle: seconds to hold the clients signed in)")(
      "warmup", po::value(&c.warmup)->default_value(c.warmup), "seconds before measuring")(
      "drain", po::value(&c.drain)->default_value(c.drain),
      "seconds to wait for messages still in flight")(
      "setup-timeout", po::value(&c.setup_timeout)->default_value(c.setup_timeout),
      "seconds allowed for all sign-ins")("prefix", po::value(&c.prefix)->default_value(c.prefix),
                                          "user names are <prefix><i>")(
      "password", po::value(&c.password)->default_value(c.password), "password of every user")(
      "relay-pid", po::value(&c.relay_pid)->default_value(0),
      "PID of the server: report its CPU time and memory from /proc")(
      "json", po::bool_switch(&c.json), "print one JSON object")(
      "no-batch", po::bool_switch(&no_batch),
      "relaychat: one frame per transport message both ways (no feature_batch in handshake "
      "message 3, no batches sent); default: batches both ways")(
      "padding", po::bool_switch(&c.padding),
      "relaychat: pad sign-ins and sends as our client does and have the relay pad what it "
      "sends (feature_padding, protocol.md 5.14)")(
      "connect-concurrency",
      po::value(&c.connect_concurrency)->default_value(c.connect_concurrency),
      "handshakes and sign-ins in flight at once (0: 128, or 8 with --irc)")(
      "storm-clients", po::value(&c.storm_clients)->default_value(c.storm_clients),
      "storm: clients K that sign in during the storm")(
      "storm-concurrency", po::value(&c.storm_concurrency)->default_value(c.storm_concurrency),
      "storm: sign-ins in flight at once")("storm-max",
                                           po::value(&c.storm_max)->default_value(c.storm_max),
                                           "storm: longest storm phase, seconds")(
      "hash-threads", po::value(&c.hash_threads)->default_value(c.hash_threads),
      "hash/storm: threads hashing (the relay's --workers; 0: one per CPU of the relay, as "
      "the relay's default)")("hash-seconds",
                              po::value(&c.hash_seconds)->default_value(c.hash_seconds),
                              "hash/storm: seconds of hashing (0 in storm: skip)")(
      "roster-interval", po::value(&c.roster_interval_ms)->default_value(c.roster_interval_ms),
      "the relay's --roster-interval, ms: idle/throughput/latency/storm wait for presence "
      "frames to pause longer than the relay may space its rounds (ten intervals, at least "
      "1.5 s) before measuring");

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(d).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return show_text{std::string("node-bench: ") + e.what() + "\n", 2};
  }
  if (vm.count("help")) {
    std::ostringstream s;
    s << d;
    return show_text{s.str(), 0};
  }
  static const std::pair<const char*, mode> modes[] = {{"throughput", mode::throughput},
                                                       {"latency", mode::latency},
                                                       {"idle", mode::idle},
                                                       {"storm", mode::storm},
                                                       {"hash", mode::hash}};
  auto m = std::find_if(std::begin(modes), std::end(modes),
                        [&](const auto& p) { return mode_name == p.first; });
  if (m == std::end(modes)) return show_text{"node-bench: unknown --mode " + mode_name + "\n", 2};
  c.mode = m->second;
  c.batch = !no_batch;
  if (c.irc && c.mqtt) return show_text{"node-bench: --irc or --mqtt, not both\n", 2};
  if (c.label.empty()) c.label = c.irc ? "irc" : c.mqtt ? "mqtt" : "relaychat";
  const bool messaging =
      c.mode == mode::throughput || c.mode == mode::latency || c.mode == mode::storm;
  if (messaging && c.clients < 2) return show_text{"node-bench: need at least 2 clients\n", 2};
  if (messaging && c.clients > 20000) {
    return show_text{"node-bench: at most 20000 chatting clients (N^2 stream table)\n", 2};
  }
  const std::size_t min_size = c.irc ? text_header : binary_header;
  if (c.size < min_size || c.size > (c.irc ? 255 * 400 : 32768)) {
    return show_text{"node-bench: --size must be " + std::to_string(min_size) + ".." +
                         (c.irc ? std::string("102000") : std::string("32768")) + "\n",
                     2};
  }
  if (c.threads < 1 || c.threads > 64) return show_text{"node-bench: --threads 1..64\n", 2};
  // Said as what is allowed, so that NaN (every comparison false) fails too.
  const auto finite_at_least = [](double v, double lo) { return v >= lo && v < 1e9; };
  if (!(c.rate > 0 && c.rate < 1e9) || !finite_at_least(c.duration, 0) ||
      !finite_at_least(c.warmup, 0) || !finite_at_least(c.drain, 0) ||
      !finite_at_least(c.setup_timeout, 0) || !finite_at_least(c.storm_max, 0) ||
      !finite_at_least(c.hash_seconds, 0)) {
    return show_text{"node-bench: --rate must be > 0, times >= 0 (and below 1e9)\n", 2};
  }
  // As the relay's own option: 0..10 s, said as what is allowed so that NaN fails too.
  if (!(c.roster_interval_ms >= 0 && c.roster_interval_ms <= 10000)) {
    return show_text{"node-bench: --roster-interval must be 0..10000 ms\n", 2};
  }
  if (c.prefix.empty() || c.prefix.size() > 20) {
    return show_text{"node-bench: --prefix must be 1..20 characters\n", 2};
  }
  if (c.connect_concurrency == 0) c.connect_concurrency = c.irc ? 8 : 128;
  if (c.storm_concurrency < 1) {
    return show_text{"node-bench: concurrency must be at least 1\n", 2};
  }
  return c;
}

}  // namespace relay::bench
