// Shared by the fuzz targets: check() that traps, a reader that splits one input into pieces,
// and the fixed keys and scripted randomness that keep every run deterministic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/crypto/keys.hpp"
#include "relay/crypto/random.hpp"
#include "relay/transport/noise.hpp"
#include "relay/util/bytes.hpp"

namespace relay::fuzz {

/// Stops the run unless `ok`; libFuzzer reports the trap as a crash with this input.
inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

/// Consumes one fuzz input front to back; reads past the end yield zeros or short pieces.
class input_reader {
 public:
  input_reader(const std::uint8_t* data, std::size_t size) : in_(data, size) {}

  /// True once every byte was consumed.
  bool empty() const noexcept { return in_.empty(); }
  /// The next byte, or 0 when the input is used up.
  byte u8() {
    if (in_.empty()) return 0;
    const byte b = in_.front();
    in_ = in_.subspan(1);
    return b;
  }
  /// A big-endian u16 length, then that many bytes (fewer if the input ends first).
  byte_view chunk() {
    const std::size_t hi = u8();
    const std::size_t n = hi << 8 | u8();
    const byte_view out = in_.first(n < in_.size() ? n : in_.size());
    in_ = in_.subspan(out.size());
    return out;
  }
  /// Everything not consumed yet.
  byte_view rest() {
    const byte_view out = in_;
    in_ = {};
    return out;
  }

 private:
  byte_view in_;
};

/// Appends `body` as a chunk() would read it (for building inputs).
inline void append_chunk(bytes& out, byte_view body) {
  out.push_back(static_cast<byte>(body.size() >> 8));
  out.push_back(static_cast<byte>(body.size() & 0xff));
  out.insert(out.end(), body.begin(), body.end());
}

/// A key pair whose secret is 32 bytes of `seed`: the same on every run.
inline crypto::key_pair fixed_key(byte seed) {
  return crypto::key_pair::from_secret(bytes(crypto::key_size, seed));
}

/// The Noise static keys of the two sides (initiator = client, responder = relay).
inline const crypto::key_pair& initiator_static() {
  static const crypto::key_pair k = fixed_key(0x11);
  return k;
}
inline const crypto::key_pair& responder_static() {
  static const crypto::key_pair k = fixed_key(0x22);
  return k;
}

/// Secrets of the Noise ephemerals: each side's first fill() of its random source.
inline constexpr byte initiator_ephemeral = 0x66;
inline constexpr byte responder_ephemeral = 0x77;

/// A random source whose first 32-byte fill (the Noise ephemeral) is 32 bytes of `seed`.
inline void script_ephemeral(crypto::scripted_random& rng, byte seed) {
  rng.push(bytes(crypto::key_size, seed));
}

/// Handshake payloads of XX messages 1, 2 and 3 (the seed corpus was made with these).
inline constexpr std::string_view payload1 = "";
inline constexpr std::string_view payload2 = "relay";
inline constexpr std::string_view payload3 = "client";

/// Runs the XX handshake between two fresh sessions; traps if any step fails.
inline void handshake(transport::noise_session& initiator, transport::noise_session& responder) {
  auto m1 = initiator.write_handshake(as_bytes(payload1));
  check(m1.has_value() && responder.read_handshake(*m1).has_value());
  auto m2 = responder.write_handshake(as_bytes(payload2));
  check(m2.has_value() && initiator.read_handshake(*m2).has_value());
  auto m3 = initiator.write_handshake(as_bytes(payload3));
  check(m3.has_value() && responder.read_handshake(*m3).has_value());
  check(initiator.handshake_done() && responder.handshake_done());
}

}  // namespace relay::fuzz
