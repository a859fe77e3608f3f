// The copy-only relay: the floor that relaychat's CPU per message is measured against (the
// "copy-only relay" column of issue 5). It has relaychat's shape (one event-loop thread, an
// edge-triggered readiness wait and non-blocking reads until a short read, TCP_NODELAY, one
// gathered write per connection after each read) but does no decryption, encryption,
// framing checks, limits or bookkeeping: what it costs per message is what the kernel and
// Asio cost. It speaks just the IRC subset that `node-bench --irc` uses, so the same tool
// drives it with the same workload as ngircd and InspIRCd:
//   NICK <nick>          registers the nick
//   USER ...             answered with ":floor 001 <nick> :ready"
//   PRIVMSG <to> :<text> forwarded to <to> as ":<nick> PRIVMSG <to> :<text>" (else dropped)
//   PING :<x>            answered with "PONG :<x>"
// A benchmark tool, never part of the product: it has no authentication and no encryption.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "relay/net.hpp"

namespace relay::bench {

class floor_relay {
 public:
  /// Listens on `at` (port 0 picks a free one) and accepts on `io`'s thread.
  floor_relay(net::io_context& io, const tcp::endpoint& at);
  ~floor_relay();
  floor_relay(const floor_relay&) = delete;
  floor_relay& operator=(const floor_relay&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// Connections open now.
  std::size_t connections() const noexcept { return open_; }
  /// Lines forwarded so far.
  std::uint64_t forwarded() const noexcept { return forwarded_; }

  /// A line longer than this (no LF in sight) closes the connection.
  static constexpr std::size_t max_line = 64 * 1024;

 private:
  struct conn;
  using socket_type = net::basic_stream_socket<tcp, net::io_context::executor_type>;
  void accept();
  /// `drained`: right after a read emptied the socket (as relaychat's sessions do).
  void wait_readable(const std::shared_ptr<conn>& c, bool drained = false);
  void read_available(const std::shared_ptr<conn>& c);
  /// Handles one complete line from `c`; false if `c` must be closed.
  bool on_line(const std::shared_ptr<conn>& c, std::string_view line);
  void queue(const std::shared_ptr<conn>& to, std::string_view a, std::string_view b = {},
             std::string_view c = {}, std::string_view d = {}, std::string_view e = {});
  void flush_dirty();
  void flush(const std::shared_ptr<conn>& c);
  void close(const std::shared_ptr<conn>& c);

  net::io_context& io_;
  net::basic_socket_acceptor<tcp, net::io_context::executor_type> acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> open_ = 0;  // read by tests on another thread
  std::atomic<std::uint64_t> forwarded_ = 0;
  struct nick_hash {  // finds a nick by string_view without building a string per message
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, std::weak_ptr<conn>, nick_hash, std::equal_to<>> by_nick_;
  std::vector<std::shared_ptr<conn>> dirty_;  // have queued output since the last flush
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace relay::bench
