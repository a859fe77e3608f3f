// node-bench's command line: what to run against which server, and how hard.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace relay::bench {

enum class mode { throughput, latency, idle, storm, hash };

struct bench_config {
  bench::mode mode = mode::throughput;
  std::string host = "127.0.0.1";
  std::uint16_t port = 20001;
  bool irc = false;            ///< drive a plain IRC server instead of a relaychat relay
  bool mqtt = false;           ///< drive an MQTT 3.1.1 broker (QoS 0) instead
  std::string label;           ///< system name in the report (default relaychat / irc)
  std::uint32_t clients = 10;  ///< N (storm: the chatters, M)
  std::size_t size = 64;       ///< payload bytes per message
  unsigned threads = 1;        ///< io_context threads
  std::uint32_t window = 0;    ///< aggregate messages in flight; 0: min(2000, 20 N)
  double rate = 20000;         ///< latency/storm: aggregate messages per second
  double duration = 5;         ///< measured seconds (idle: seconds to hold the clients)
  double warmup = 1;           ///< seconds of traffic before measuring
  double drain = 5;            ///< seconds to wait for messages in flight at the end
  double setup_timeout = 600;  ///< seconds allowed for all sign-ins
  std::string prefix = "bn";   ///< user names are <prefix>0 .. <prefix>N-1
  std::string password = "bench-password";
  int relay_pid = 0;  ///< read CPU and memory of this process from /proc
  bool json = false;  ///< print one JSON object instead of text
  /// Batches both ways (relaychat only): announce feature_batch in handshake message 3 so
  /// the relay may send batches, and seal the frames a client writes in one go as one batch.
  /// --no-batch: empty message 3 payload and one frame per transport message.
  bool batch = true;
  /// --padding (relaychat only): pad as our terminal client does, and set feature_padding
  /// in message 3 so that the relay pads what it sends (protocol.md 5.14).
  bool padding = false;
  /// Handshakes + sign-ins in flight at once; 0: 128, or 8 with --irc (ngircd's small listen
  /// backlog overflows with more, and dropped SYNs cost a 1 s retransmit each).
  std::uint32_t connect_concurrency = 0;
  std::uint32_t storm_clients = 200;     ///< K: clients signing in during the storm
  std::uint32_t storm_concurrency = 64;  ///< storm sign-ins in flight at once
  double storm_max = 120;                ///< seconds the storm phase may last at most
  /// Hash mode / storm: threads hashing; 0 (the relay's default --workers): one per CPU of
  /// the relay's (storm) or node-bench's own (hash mode) CPU mask, at most 8, as the relay.
  unsigned hash_threads = 0;
  double hash_seconds = 3;  ///< seconds of hashing to measure the pool
  /// The relay's --roster-interval, ms: how long presence frames may pause between rounds.
  double roster_interval_ms = 100;

  /// How long without presence frames means the joins' roster is all out: longer than the
  /// longest spacing the relay may put between rounds (ten intervals, protocol.md 5.8), and
  /// at least 1.5 s.
  double roster_settle_seconds() const noexcept {
    const double longest = 10 * roster_interval_ms / 1000;
    return longest + 0.5 > 1.5 ? longest + 0.5 : 1.5;
  }

  /// The server is a relaychat relay (not IRC, not MQTT).
  bool relaychat() const noexcept { return !irc && !mqtt; }
};

/// What the command line asked for.
struct show_text {
  std::string text;
  int exit_code = 0;
};
using parsed_options = std::variant<bench_config, show_text>;

/// Parses argv (without argv[0]); a usage error or --help gives show_text.
parsed_options parse_options(const std::vector<std::string>& args);

/// The window the config implies: min(2000, 20 N) unless set.
std::uint32_t effective_window(const bench_config& c) noexcept;

}  // namespace relay::bench
