// A blocking relaychat client for integration tests: a real TCP socket on loopback, the Noise
// XX initiator, frames and the client's E2E chat state. Every wait has a timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "relay/client/chat.hpp"
#include "relay/crypto/device_proof.hpp"
#include "relay/crypto/keys.hpp"
#include "relay/proto/frames.hpp"
#include "relay/proto/record.hpp"
#include "relay/transport/noise.hpp"

namespace relay::test {

using namespace std::chrono_literals;

/// A TCP connection to 127.0.0.1:port with raw byte I/O.
class raw_socket {
 public:
  /// Connects from `source` (an address in 127.0.0.0/8) when given; "::1" connects over IPv6.
  explicit raw_socket(std::uint16_t port, const char* source = nullptr);
  ~raw_socket();
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;
  void write(byte_view b);
  /// Reads what is available within `timeout`; empty on timeout; nullopt once closed by peer.
  std::optional<bytes> read_some(std::chrono::milliseconds timeout);
  /// True if the peer closes the connection within `timeout` (data read meanwhile is dropped).
  bool closed_within(std::chrono::milliseconds timeout);
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

/// The error a frame is, if it is one.
inline std::optional<proto::error> error_of(const std::optional<proto::frame>& f) {
  if (f && std::holds_alternative<proto::error>(*f)) return std::get<proto::error>(*f);
  return std::nullopt;
}
/// A usable identity key nobody signs in with (X25519's base point): for frames whose key
/// does not matter. Not 32 zero bytes: the relay refuses low-order keys (protocol.md 5.2).
inline proto::key_bytes usable_key() {
  proto::key_bytes k{};
  k[0] = 9;
  return k;
}

/// True if `f` is a welcome.
inline bool welcomed(const std::optional<proto::frame>& f) {
  return f && std::holds_alternative<proto::welcome>(*f);
}

class test_client {
 public:
  /// Connects and completes the handshake (throws std::runtime_error on failure). With
  /// `accept_batches` the handshake announces feature_batch (protocol.md 4.3); without it a
  /// batch from the relay is a test failure (next_frame throws).
  /// `choice` as our client makes it by default: offer AES-256-GCM (protocol.md 4.3.1).
  /// `extra_features` are more message 3 feature bits (feature_padding, feature_last_key).
  explicit test_client(
      std::uint16_t port, const char* source = nullptr, bool accept_batches = false,
      transport::cipher_choice choice = transport::cipher_choice::aesgcm_if_available,
      byte extra_features = 0);

  /// The relay's static key learned in message 2.
  const crypto::public_key& relay_key() const { return relay_key_; }
  /// The transport cipher the handshake settled on.
  transport::cipher cipher_function() const noexcept { return noise_.cipher_function(); }

  void send_frame(const proto::frame& f);
  /// From now on, send_frame() pads frames as our terminal client does (proto::client_padded_size).
  void pad_like_our_client() { pad_ = true; }
  /// Sends `frames` as one batch transport message (protocol.md 5.12).
  void send_batch(const std::vector<proto::frame>& frames);
  /// Transport messages received so far, and how many of them were batches.
  std::size_t transport_messages() const noexcept { return transport_messages_; }
  std::size_t batches_received() const noexcept { return batches_received_; }
  /// Transport messages received that were padded (protocol.md 5.14).
  std::size_t padded_received() const noexcept { return padded_received_; }
  /// Plaintext length of the last transport message received (padding included).
  std::size_t last_message_size() const noexcept { return last_message_size_; }
  /// Encrypts arbitrary bytes as one transport message (for hostile-input tests).
  void send_raw_frame(byte_view plaintext);
  /// The next frame within `timeout`; nullopt on timeout or if the connection closed.
  std::optional<proto::frame> next_frame(std::chrono::milliseconds timeout = 5s);
  /// Skips frames until one of type T arrives (nullopt on timeout/close).
  template <class T>
  std::optional<T> expect(std::chrono::milliseconds timeout = 5s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto f = next_frame(std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now()));
      if (!f) return std::nullopt;
      if (auto* p = std::get_if<proto::presence>(&*f); p && chat_) chat_->apply(*p);
      if (auto* v = std::get_if<T>(&*f)) return *v;
    }
    return std::nullopt;
  }
  /// Holds what we send from now on (TCP_CORK) until shutdown_send(), which sends it with the
  /// FIN in one segment: the relay then finds both behind one edge.
  void cork();
  /// Half-closes our side (a FIN right behind whatever was sent last).
  void shutdown_send();
  /// The socket's descriptor (to set options such as SO_LINGER before it closes).
  int native_fd() const noexcept { return sock_.fd(); }
  bool closed() const noexcept { return closed_; }
  /// True if the relay closes the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) { return sock_.closed_within(timeout); }

  /// Signs in (or up); returns the first answer frame (welcome or error/closing), or nullopt
  /// if none comes within `wait`.
  std::optional<proto::frame> sign_in(const std::string& name, const std::string& password,
                                      bool sign_up = false,
                                      std::chrono::milliseconds wait = std::chrono::seconds(10));
  /// Signs up and waits for welcome and the end of the roster snapshot; throws otherwise.
  void sign_up_ok(const std::string& name, const std::string& password);
  /// sign_up_ok in two halves, so that many clients can have their sign-ups in flight at once.
  void send_sign_up(const std::string& name, const std::string& password);
  void finish_sign_up(const std::string& name);

  /// End-to-end state (after a successful sign-in).
  client::chat& chat() { return *chat_; }
  const crypto::key_pair& identity() const { return identity_; }
  /// Signs in from now on with `k` (a copy), as a device that holds it: its sign-ins carry the
  /// device proof (protocol.md 5.2.1). Every sign_in() carries one for identity().
  void use_identity(const crypto::key_pair& k) { identity_ = k.copy(); }
  /// The device proof for `identity` on this connection.
  crypto::device_proof_bytes proof_for(const crypto::key_pair& identity) const;
  /// Seals and sends `text` to `to` (who must be in our roster).
  void send_text(const std::string& to, const std::string& text, std::uint32_t id = 1);
  /// The send frame send_text() would write (for batches).
  proto::send sealed_send(const std::string& to, const std::string& text, std::uint32_t id = 1);
  /// Waits for a deliver frame and opens it: {from, text or error}.
  struct received {
    std::string from;
    result<std::string> text;
    bool key_notice = false;  ///< no message: the sender's session key (protocol.md 8.6)
  };
  std::optional<received> receive_text(std::chrono::milliseconds timeout = 5s);
  /// Waits until `name` is in (online=true) or out of our roster.
  bool wait_roster(const std::string& name, bool online, std::chrono::milliseconds timeout = 5s);

 private:
  /// Reads the answer to a sign-in; a welcome starts the end-to-end state.
  std::optional<proto::frame> await_welcome(const std::string& name,
                                            std::chrono::milliseconds wait);
  raw_socket sock_;
  crypto::key_pair static_key_;
  crypto::key_pair identity_;
  transport::noise_session noise_;
  proto::record_reader reader_;
  crypto::public_key relay_key_{};
  std::optional<client::chat> chat_;
  bool closed_ = false;
  bool accept_batches_ = false;
  bool pad_ = false;
  std::deque<proto::frame> queued_;  // frames of a received batch not yet returned
  std::size_t transport_messages_ = 0;
  std::size_t batches_received_ = 0;
  std::size_t padded_received_ = 0;
  std::size_t last_message_size_ = 0;
  std::optional<bytes> next_record(std::chrono::milliseconds timeout);
};

/// A TCP proxy on 127.0.0.1:0 forwarding to 127.0.0.1:target that records every byte in
/// both directions (the view of a network observer).
class recording_proxy {
 public:
  explicit recording_proxy(std::uint16_t target);
  ~recording_proxy();
  std::uint16_t port() const noexcept { return port_; }
  /// Everything seen so far, client->relay and relay->client.
  bytes upstream() const;
  bytes downstream() const;
  /// When set, flips one bit of the Nth byte sent client->relay (0-based; -1 = never).
  void corrupt_upstream_byte(long n) { corrupt_at_ = n; }
  /// When set, passes only the first `n` records of each connection client->relay and
  /// swallows the rest (-1 = all): a relay that stops hearing after the handshake.
  void pass_upstream_records(long n) { pass_records_ = n; }
  /// When set, closes each connection once the relay has sent it `n` records (-1 = never):
  /// a relay that fails right after the sign-in.
  void close_after_downstream_records(long n) { close_after_ = n; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
  std::atomic<long> corrupt_at_{-1};
  std::atomic<long> pass_records_{-1};
  std::atomic<long> close_after_{-1};
};

/// A socket listening on 127.0.0.1 at a port the kernel picks (written to `port`); throws
/// std::runtime_error naming `who` if it cannot listen.
int listen_loopback(std::uint16_t& port, const char* who);
/// Writes all of `b` to `fd`; returns quietly if the peer is gone (its next read tells).
void write_all(int fd, byte_view b);

/// True if `needle` occurs anywhere in `haystack`.
bool contains(const bytes& haystack, std::string_view needle);

}  // namespace relay::test
