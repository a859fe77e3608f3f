// One client connection on the relay: reads (records -> Noise -> frames) and one gathered
// write of everything queued. Runs entirely on the io thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "relay/crypto/device_proof.hpp"
#include "relay/crypto/keys.hpp"
#include "relay/net.hpp"
#include "relay/proto/frames.hpp"
#include "relay/proto/record.hpp"
#include "relay/server/online_registry.hpp"
#include "relay/transport/noise.hpp"

namespace relay::server {

class relay_server;

/// The relay's sockets are bound to the io_context's own executor, not the type-erased
/// any_io_executor: the socket and every pending operation on it are smaller (32 bytes less
/// per socket, more per pending wait), which matters with ten thousand idle connections.
using socket_type = net::basic_stream_socket<tcp, net::io_context::executor_type>;

/// Largest record accepted before the handshake is complete: XX message 1 is 32 bytes and
/// message 3 64 or 65 (with the feature byte), so anything much bigger is not our protocol.
inline constexpr std::size_t max_handshake_record = 128;

/// The source a peer's address counts against for per-address limits and penalties: an
/// IPv4 address itself (an IPv4-mapped IPv6 one too), but an IPv6 address's /64 prefix
/// ("2001:db8:1:2::/64"): one host, or one customer's LAN, usually holds a whole /64, so
/// counting single addresses would put no limit on it.
std::string source_of(const net::ip::address& a);
/// The source an operator's ADDR names (console `block`): an IPv4 address, or an IPv6
/// address or its /64 ("2001:db8:1:2::/64"), as source_of() writes it; nullopt for
/// anything else (a name, another prefix length, a range).
std::optional<std::string> block_source(std::string_view text);

class session : public std::enable_shared_from_this<session> {
 public:
  /// `peer` as accept() gave it: asking the socket later fails once the peer has reset.
  session(socket_type socket, const net::ip::tcp::endpoint& peer, relay_server& owner,
          std::uint64_t id);

  /// Starts reading; every pending handler holds a shared_ptr, so the session lives while any
  /// of them is pending. Deadlines are checked by the relay's sweep (check_deadlines).
  void start();
  /// When check_deadlines() next has something to do (a deadline, a ping to send).
  std::chrono::steady_clock::time_point next_check() const noexcept { return watch_at_; }
  /// Enforces the sign-in deadline, then pings idle peers and closes silent ones. The relay's
  /// once-per-tick sweep calls it when next_check() has passed; one timer for all sessions
  /// instead of one each (a timer and its pending wait cost ~200 bytes per connection).
  void check_deadlines(std::chrono::steady_clock::time_point now);
  /// Queues one frame (in the order of calls; sealed now, or at the next flush for a peer
  /// that accepts batches). io thread only.
  void deliver(const proto::frame& f);
  /// Queues an already encoded frame (a deliver built in place, a shared roster batch).
  void deliver_encoded(byte_view plain);
  /// Writes what is queued now if the socket takes it, so that a broadcast hands each
  /// client's buffers back to the pool before the next client takes them; what the socket
  /// refuses, and any error, is left to the flush already posted. Never ends the session
  /// (broadcasts call it while iterating the registry). io thread only.
  void write_now();
  /// Sends `closing` with the reason, flushes, then closes.
  void close(proto::reason r, std::string_view text);
  /// Queues `last`, flushes, then closes, with no `closing` frame (an account deleted at its
  /// owner's request: the answer says why).
  void say_last_and_close(const proto::frame& last);
  /// Closes at once without a goodbye (peer gone or not speaking our protocol).
  void abort(std::string_view why);
  /// Closes at once, logging `how` the peer left when it is no failure.
  void end_quietly(std::string_view how);

  std::uint64_t id() const noexcept { return id_; }
  /// "ip:port" of the peer, for logs (built on demand: sessions stay small).
  std::string address() const;
  bool signed_in() const noexcept { return !name_.empty(); }
  const std::string& name() const noexcept { return name_; }
  const crypto::public_key& identity() const noexcept { return identity_; }
  /// When the user signed in (wall clock, for the console).
  std::chrono::system_clock::time_point since() const noexcept;
  bool stopped() const noexcept { return stopped_; }
  /// A sign-in or account change of this connection is being checked (its answer is owed).
  bool checking() const noexcept { return checking_; }
  /// Stopped, or closing (a goodbye is being flushed): no longer eligible to sign in.
  bool ending() const noexcept { return stopped_ || closing_; }
  /// The peer's IP address (no port) as text ("?" if unknown).
  std::string ip() const;
  /// source_of() this peer's address ("?" if unknown).
  std::string source() const;
  /// Whether this session holds a slot in the unauthenticated counts.
  bool& counted_unauthenticated() noexcept { return counted_unauthenticated_; }
  /// Whether this connection's own lines (connected, closed, dropped) are logged; false for
  /// one past its address's log_budget. Lines after it signs in are always logged.
  /// The peer announced `feature` (proto::feature_*) in handshake message 3.
  bool peer_has(byte feature) const noexcept { return (peer_features_ & feature) != 0; }
  bool logged() const noexcept { return logged_; }
  void set_logged(bool on) noexcept { logged_ = on; }
  /// Counts a failed sign-in on this connection; returns the count so far.
  unsigned note_failure() noexcept {
    if (failures_ < 127) ++failures_;
    return failures_;
  }
  /// The last roster change this client has been told about (relay_server's sequence).
  std::uint64_t& presence_seen() noexcept { return presence_seen_; }
  /// The roster sequence of this session's own sign-in announcement.
  std::uint64_t& presence_joined() noexcept { return presence_joined_; }
  /// This session's index in the relay's list of connections (relay_server keeps it).
  std::uint32_t& registry_slot() noexcept { return slot_; }
  /// Marks the session signed in as `name` (the relay's registry calls this).
  void set_signed_in(std::string name, const crypto::public_key& identity);

  /// Sends `f` if the connection's token bucket holds a token, else drops it: answers that
  /// cost the peer nothing (pongs, refusals) stay within its message rate, so a peer that
  /// floods and never reads queues nothing (protocol.md 5.5).
  void answer_within_rate(const proto::frame& f);
  /// True if `proof` shows that the peer holds `identity`'s secret, for this connection's
  /// handshake (before sign-in only; protocol.md 5.2.1). One X25519.
  bool proves_device(const crypto::public_key& identity,
                     const crypto::device_proof_bytes& proof) const;

 private:
  /// The peer's address, rebuilt from the compact copy kept per connection.
  std::optional<net::ip::address> peer_ip() const;
  /// Token bucket: true if the peer may have one more frame forwarded or answered now (a
  /// send, a pong, a refusal; refilled on each read).
  bool take_token();
  /// Waits until the socket is readable, then read_available(). `drained`: called right
  /// after a read found the socket empty (util::async_wait_drained, one system call less).
  void wait_readable(bool drained = false);
  /// Reads until the socket is drained (or a sign-in must be awaited), handling records.
  void read_available();
  /// Handles the records buffered so far; false if reading must not go on now.
  bool handle_records();
  /// Awaits authenticate() or change_account() for auth_, then resumes reading.
  void authenticate_then_read_on();
  /// Sets when check_deadlines() next has work.
  void arm_watch(std::chrono::steady_clock::time_point at) noexcept { watch_at_ = at; }
  /// Writes everything queued in one write; finishes a close once nothing is left.
  void flush();
  /// Writes as much of out_ as the socket takes now, without blocking, and hands the buffer
  /// back to the pool when all of it went (out_ is then empty). Returns the bytes written;
  /// `failed` is set on an error other than a full socket.
  std::size_t write_queued(boost::system::error_code& failed);
  /// A record arrived: refills the message-rate bucket, notes the time for idle detection.
  void received_at(std::chrono::steady_clock::time_point now);
  /// What the read loop does after a record: read on, stop, or await authenticate(auth_).
  enum class step { next, stop, authenticate };
  /// Handles one record synchronously (no coroutine frame per message).
  step on_record(byte_view record);
  /// The per-message path: decodes in place and routes without copying the ciphertext.
  step on_send(byte_view plain);
  /// One frame, alone or from a batch.
  step on_plain_frame(byte_view plain);
  /// Encrypts `plain` as the next transport message into out_, padded to `padded_total`
  /// bytes (at most max_frame) unless that is 0. Does not wake the writer:
  /// flush() and write_now() seal and then write themselves, and a flush posted from
  /// there would find nothing left (one wasted handler and reactor poll per write).
  void seal(byte_view plain, std::size_t padded_total);
  /// How long a padded message holding `plain` is for this peer (protocol.md 5.14, may pass
  /// max_frame), or 0 if it asked for no padding.
  std::size_t padded_total(byte_view plain) const noexcept;
  /// Seals the frames gathered in batch_ (if any): as one transport message for a batching
  /// peer, else one message per frame.
  void seal_batch();
  step on_frame(proto::frame f);
  void enqueue_record(byte_view body);
  void wake_writer();
  /// abort() from a posted handler: safe while the caller iterates relay state. The reason
  /// is logged at once.
  void abort_later(std::string_view why);
  /// The "dropped: why" line, for connections the operator sees (signed in, or logged).
  void log_dropped(std::string_view why) const;
  void begin_close();
  void stop();

  socket_type socket_;
  relay_server& owner_;
  std::uint64_t id_;
  net::ip::address_v6::bytes_type addr_{};  // the peer's address; IPv4 in the first 4 bytes
  std::uint16_t port_ = 0;
  std::uint8_t family_ = 0;                         // 4 or 6; 0 if the address was unknown
  std::uint32_t slot_ = 0;                          // see registry_slot()
  std::chrono::steady_clock::time_point watch_at_;  // see next_check()
  proto::record_reader reader_{max_handshake_record};
  transport::noise_session noise_;
  bytes out_;                  // records waiting for the writer
  proto::batch_writer batch_;  // frames for a batching peer, sealed by the next flush
  // Flags and the failure count share one 8-byte word (the session's size is a figure of
  // merit: SessionFootprint).
  byte peer_features_ = 0;  // the feature bits of the peer's handshake message 3
  bool closing_ = false;
  bool stopped_ = false;
  bool flush_posted_ = false;  // a flush() is posted and will write what is queued
  bool writing_now_ = false;   // an async_write is in progress (its handler holds the buffer)
  bool pinged_ : 1 = false;    // pinged and no record from the peer since
  bool checking_ : 1 = false;  // a sign-in or account change is being checked (see below)
  bool counted_unauthenticated_ = false;
  std::uint8_t failures_ : 7 = 0;  // failed sign-ins, saturating
  std::uint8_t logged_ : 1 = 1;    // see logged()

 public:
  // A session is its own entry in the relay's registry of who is online (online_registry),
  // its hook next to the name and key that a walk of the registry reads.
  online_hook online_link_;

 private:
  std::string name_;
  crypto::public_key identity_{};

 public:
  std::uint32_t online_slot_ = 0;  // the session's index in the registry's array

 private:
  std::chrono::steady_clock::time_point last_rx_;  // last record from the peer
  double tokens_ = 0;  // the message-rate bucket, refilled by the time since last_rx_
  std::uint64_t presence_seen_ = 0;
  std::uint64_t presence_joined_ = 0;
  // Accepted at, until the sign-in; signed in at, after (since()).
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<proto::frame> auth_;  // a frame with a password, waiting to be checked
};

/// The relay's registry of who is online.
using online_sessions = online_registry<session, &session::online_link_, &session::online_slot_>;

}  // namespace relay::server
