// The relaychat client side of the wire for the load tool, sans-I/O: a Noise XX initiator and
// transport ciphers, and frame encoders/decoders that work in caller buffers. Why not
// transport::noise_session: its decrypt() returns a fresh vector per message, and the tool
// must not allocate per message (nor hold guarded key memory for 10,000 throwaway clients).
// The handshake here is checked against noise_session in tests/unit/bench/wire_test.cpp.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "relay/crypto/noise_primitives.hpp"
#include "relay/crypto/random.hpp"
#include "relay/proto/frames.hpp"
#include "relay/util/bytes.hpp"
#include "relay/util/result.hpp"

namespace relay::bench {

using key32 = std::array<byte, 32>;

/// A Noise CipherState for transport messages (ad empty).
struct bench_cipher {
  key32 key{};
  std::uint64_t n = 0;
  crypto::noise::cipher c = crypto::noise::cipher::chachapoly;
  /// Appends the record (u16 length + ciphertext + tag) for `plain` to `out`.
  void seal_record(byte_view plain, bytes& out) noexcept;
  /// Decrypts one transport message into out (out.size() >= ct.size() - 16); the plaintext
  /// length, or nullopt on a bad tag.
  std::optional<std::size_t> open(byte_view ct, std::span<byte> out) noexcept;
};

/// Noise_XX_25519_{AESGCM,ChaChaPoly}_BLAKE2b initiator, prologue "relaychat/1", as our client
/// speaks it: message 1 offers AESGCM (payload 0x01) when `offer_aesgcm` and the CPU has
/// AES-NI, else its payload is empty; message 2 has an empty payload; message 3 carries the
/// feature byte (proto::feature_batch) unless told not to.
class xx_initiator {
 public:
  /// `static_secret` is the client's static X25519 secret; the ephemeral comes from `rng`.
  xx_initiator(const key32& static_secret, crypto::random_source& rng, bool offer_aesgcm = true);
  /// Appends message 1 (a record of 33 bytes with the offer, else 32) to `out`.
  void write_message1(bytes& out);
  /// Reads message 2 (the record body), under AESGCM if offered and else (or if that fails)
  /// ChaChaPoly; false if it does not authenticate.
  bool read_message2(byte_view m2);
  /// The cipher in use: final after read_message2.
  crypto::noise::cipher cipher_function() const noexcept { return c_; }
  /// Appends message 3 to `out`, then splits: {send, receive}. Its payload is the one byte
  /// `features` (a record of 65 bytes; by default proto::feature_batch: the relay may send
  /// batches), or empty for 0 (64 bytes, one frame per transport message, nothing padded).
  std::pair<bench_cipher, bench_cipher> write_message3(bytes& out,
                                                       byte features = proto::feature_batch);
  /// The relay's static key, after read_message2.
  const key32& relay_key() const noexcept { return rs_; }

 private:
  void start(crypto::noise::cipher c) noexcept;
  bool read_message2_as(byte_view m2) noexcept;
  byte_view message1_payload() const noexcept;
  void mix_hash(byte_view d) noexcept;
  void mix_key(byte_view ikm) noexcept;
  bool dh(const key32& sec, const key32& pub, key32& out) noexcept;
  std::array<byte, 64> h_{}, ck_{};
  key32 k_{};
  std::uint64_t n_ = 0;
  crypto::noise::cipher c_ = crypto::noise::cipher::chachapoly;
  bool offer_ = false;
  key32 s_sec_{}, s_pub_{}, e_sec_{}, e_pub_{}, re_{}, rs_{};
};

/// X25519 public key of a secret.
key32 public_of(const key32& secret) noexcept;

/// Writes a `send` frame (id, to, ciphertext of `len` bytes) into `out` and returns a view of
/// the ciphertext area for the caller to fill; `out` must hold send_frame_size(to, len).
std::span<byte> write_send_frame(std::span<byte> out, std::uint32_t id, std::string_view to,
                                 std::size_t len) noexcept;
constexpr std::size_t send_frame_size(std::size_t to_len, std::size_t len) noexcept {
  return 1 + 4 + 1 + to_len + 2 + len;
}

/// Builds the plaintext of one transport message from frames written in place into a caller's
/// buffer: one frame is sent as itself, two or more as a batch (type 0x07, then a blob16 per
/// frame; docs/protocol.md). No allocation: the buffer must hold max_plaintext bytes.
class batch_builder {
 public:
  /// Largest transport plaintext (a Noise message minus its tag).
  static constexpr std::size_t max_plaintext = 65535 - 16;

  explicit batch_builder(std::span<byte> buf) noexcept : buf_(buf) {}
  /// True if one more frame of `len` bytes (1..max_plaintext - 3) fits in this message.
  bool fits(std::size_t len) const noexcept {
    return len > 0 && used() + 2 + len <= std::min(buf_.size(), max_plaintext);
  }
  /// Reserves the next frame of `len` bytes (fits(len) must hold) for the caller to fill.
  std::span<byte> add(std::size_t len) noexcept;
  std::size_t count() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  /// Bytes of the batch so far (0 when empty).
  std::size_t size() const noexcept { return count_ ? used_ : 0; }
  /// What to encrypt: the frame itself when there is one, else the whole batch.
  byte_view plaintext() const noexcept;
  void clear() noexcept { count_ = 0; }

 private:
  std::size_t used() const noexcept { return count_ ? used_ : 1; }
  std::span<byte> buf_;
  std::size_t used_ = 1;  // the type byte, then (u16 length, frame) per entry
  std::size_t count_ = 0;
};

/// A `deliver` frame seen in place (views into the plaintext).
struct deliver_view {
  std::string_view from;
  byte_view ciphertext;
};
/// The deliver frame in `plain`, or nullopt if it is not a well-formed deliver.
std::optional<deliver_view> parse_deliver(byte_view plain) noexcept;
/// The token of a ping frame in `plain`, or nullopt.
std::optional<std::uint64_t> parse_ping(byte_view plain) noexcept;
/// Writes a pong frame (9 bytes) into `out`.
void write_pong(std::span<byte, 9> out, std::uint64_t token) noexcept;

}  // namespace relay::bench
