// The client's connection to a relay: TCP, the Noise XX handshake as initiator (with a
// chance to refuse the relay's key before message 3, so nothing of ours is sent to an
// impostor), then frames over Noise transport messages. io thread only.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "relay/crypto/keys.hpp"
#include "relay/net.hpp"
#include "relay/proto/frames.hpp"
#include "relay/proto/record.hpp"
#include "relay/transport/noise.hpp"

namespace relay::client {

enum class link_errc {
  unreachable = 1,   ///< DNS or TCP connect failed
  key_rejected,      ///< the relay's key did not pass the pin check
  handshake_failed,  ///< not a relaychat relay, or tampering
  closed,            ///< the connection ended
  protocol,          ///< undecodable or undecryptable data from the relay
  timeout,
};
const std::error_category& link_category() noexcept;
std::error_code make_error_code(link_errc e) noexcept;

/// Handshake message 2 is 96 bytes (protocol.md 4.2): a record announcing more is not a
/// relay's (an HTTP or SSH server, random bytes) and is refused before it is waited for.
inline constexpr std::size_t handshake_record_limit = 128;

class link : public std::enable_shared_from_this<link> {
 public:
  /// Create with std::make_shared: the write loop keeps the link alive while it runs.
  /// With `offer_aesgcm` (and AES-NI here) the handshake offers AES-256-GCM; the relay
  /// may still choose ChaCha20-Poly1305.
  explicit link(net::io_context& io, bool offer_aesgcm = true);

  /// Connects and handshakes. `accept_key` sees the relay's static key after message 2 and
  /// returns false to abort before message 3. Gives up after `timeout`.
  awaitable<result<void>> open(const std::string& host, std::uint16_t port,
                               std::function<bool(const crypto::public_key&)> accept_key,
                               std::chrono::seconds timeout = std::chrono::seconds(15));
  /// Queues a frame; it is written in order by the write loop.
  void send(const proto::frame& f);
  /// The next frame from the relay (link_errc::closed at end of stream).
  awaitable<result<proto::frame>> receive();
  /// Waits until everything queued is written (or the link fails).
  awaitable<void> flush();
  /// Closes the socket; pending receive() calls end with closed.
  void close();
  bool is_open() const noexcept { return socket_.is_open(); }
  const crypto::public_key& relay_key() const noexcept { return relay_key_; }
  /// Why the relay could not be reached, as the system put it ("Connection refused", "Host
  /// not found"); empty unless open() failed with link_errc::unreachable.
  const std::string& unreachable_because() const noexcept { return unreachable_because_; }
  /// What the relay sent that made receive() fail with link_errc::protocol, or open() with
  /// link_errc::handshake_failed (closed before message 2, or sent something else), or
  /// where open()'s time ran out (link_errc::timeout: lookup, connection or handshake).
  const std::string& protocol_fault() const noexcept { return protocol_fault_; }
  /// A fault found above the link (a frame that makes no sense where it came): closes it.
  void fail_protocol(std::string what) {
    protocol_fault_ = std::move(what);
    close();
  }
  /// The transport cipher; final once open() has succeeded.
  transport::cipher cipher_function() const noexcept { return noise_.cipher_function(); }
  /// The handshake hash once open() has succeeded (for a device proof, protocol.md 5.2.1).
  byte_view handshake_hash() const noexcept { return noise_.handshake_hash(); }

 private:
  awaitable<result<byte_view>> next_record();
  awaitable<void> write_loop();

  tcp::socket socket_;
  net::steady_timer wake_;
  crypto::key_pair static_key_;  // per-connection: the relay learns no lasting client key
  transport::noise_session noise_;
  std::deque<proto::frame> received_;  // frames of a batch not yet returned by receive()
  proto::record_reader reader_;
  bytes out_, writing_;
  bool writer_running_ = false;
  crypto::public_key relay_key_{};
  std::string unreachable_because_;
  std::string protocol_fault_;
};

}  // namespace relay::client

template <>
struct std::is_error_code_enum<relay::client::link_errc> : std::true_type {};
