// Application frames: the plaintext of one Noise transport message is exactly one frame,
// a type byte followed by that type's fields. Integers are big-endian; `str8` is a 1-byte
// length then bytes; `blob16` a 2-byte length then bytes; `key` 32 raw bytes.
// docs/protocol.md is the authoritative description; keep them in step.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "relay/util/bytes.hpp"
#include "relay/util/result.hpp"

namespace relay::proto {

using key_bytes = std::array<byte, 32>;

/// Largest frame (Noise message minus its 16-byte tag).
inline constexpr std::size_t max_frame = 65535 - 16;
/// Largest end-to-end ciphertext in send/deliver.
inline constexpr std::size_t max_ciphertext = 32768;
/// Longest password accepted on the wire (bytes).
inline constexpr std::size_t max_password = 255;

enum class frame_type : byte {
  // client -> relay
  sign_in = 0x01,
  sign_up = 0x02,
  send = 0x03,
  // either direction
  ping = 0x04,
  pong = 0x05,
  bye = 0x06,
  // relay -> client
  welcome = 0x81,
  presence = 0x82,
  deliver = 0x83,
  error = 0x84,
  closing = 0x85,
};

/// Error and closing reasons (one byte on the wire).
enum class reason : byte {
  invalid_credentials = 1,  ///< unknown name or wrong password: deliberately the same answer
  name_taken = 2,
  invalid_name = 3,
  busy = 4,  ///< the relay's password workers are saturated: retry shortly
  unknown_recipient = 5,
  not_signed_in = 6,
  already_signed_in = 7,
  rate_limited = 8,
  too_large = 9,
  protocol_error = 10,
  replaced = 11,  ///< the same user signed in elsewhere
  shutting_down = 12,
  kicked = 13,
  timeout = 14,
  weak_password = 15,
  too_many_attempts = 16,
  banned = 17,  ///< the operator banned the account: closing when online, error at sign-in
};

/// Client asks to sign in to an existing account, announcing its current identity key.
struct sign_in {
  std::string name;
  std::string password;
  key_bytes identity{};
  bool operator==(const sign_in&) const = default;
};
/// Client asks to create an account (and is signed in on success).
struct sign_up {
  std::string name;
  std::string password;
  key_bytes identity{};
  bool operator==(const sign_up&) const = default;
};
/// Client sends an end-to-end ciphertext to one online user; `id` is echoed in errors.
struct send {
  std::uint32_t id = 0;
  std::string to;
  bytes ciphertext;
  bool operator==(const send&) const = default;
};
struct ping {
  std::uint64_t token = 0;
  bool operator==(const ping&) const = default;
};
struct pong {
  std::uint64_t token = 0;
  bool operator==(const pong&) const = default;
};
/// Orderly goodbye (Noise spec section 13: make truncation detectable).
struct bye {
  bool operator==(const bye&) const = default;
};
/// Relay accepted the sign-in or sign-up; `name` is the account now signed in.
struct welcome {
  std::string name;
  bool operator==(const welcome&) const = default;
};
/// One user coming online (with current identity key) or leaving.
struct presence_entry {
  enum class kind : byte { online = 1, offline = 2 };
  kind what = kind::online;
  std::string name;
  key_bytes identity{};  ///< only on the wire for `online`
  bool operator==(const presence_entry&) const = default;
};
/// A batch of presence changes. The snapshot after welcome has `snapshot` set on every
/// chunk and `last` on its final chunk; later batches are live joins/leaves.
struct presence {
  bool snapshot = false;
  bool last = false;
  std::vector<presence_entry> entries;
  bool operator==(const presence&) const = default;
};
/// An end-to-end ciphertext from `from`.
struct deliver {
  std::string from;
  bytes ciphertext;
  bool operator==(const deliver&) const = default;
};
/// A request failed; the connection stays open. `ref` is the send id it concerns (or 0).
struct error {
  reason code = reason::protocol_error;
  std::uint32_t ref = 0;
  std::string text;
  bool operator==(const error&) const = default;
};
/// The relay is closing this connection, and why.
struct closing {
  reason code = reason::protocol_error;
  std::string text;
  bool operator==(const closing&) const = default;
};

using frame = std::variant<sign_in, sign_up, send, ping, pong, bye, welcome, presence, deliver,
                           error, closing>;

/// Appends the encoding of `f` to `out`. Throws std::length_error if a field exceeds its
/// wire limit (callers check limits first; this guards invariants).
void encode_into(const frame& f, bytes& out);
/// The encoding of `f`.
bytes encode(const frame& f);
/// Decodes exactly one frame from `in` (all bytes must be used).
result<frame> decode(byte_view in);

/// A send frame's fields pointing into the buffer it was decoded from: the relay's per-message
/// path reads and forwards without copying the ciphertext.
struct send_view {
  std::uint32_t id = 0;
  std::string_view to;
  byte_view ciphertext;
};
/// Decodes a send frame in place, with exactly decode()'s checks and errors (unknown_type if
/// `in` is another frame type). The views are valid while `in` is.
result<send_view> decode_send_view(byte_view in);
/// Appends exactly what encode_into(deliver{from, ciphertext}) would, without building one.
void encode_deliver_into(std::string_view from, byte_view ciphertext, bytes& out);

/// Wire size of a presence entry (to split batches under max_frame).
std::size_t encoded_size(const presence_entry& e) noexcept;
/// Frame header bytes of a presence frame before its entries.
inline constexpr std::size_t presence_header = 1 + 1 + 2;

/// A short name for logs ("send", "deliver", ...).
const char* type_name(const frame& f) noexcept;
/// A human-readable text for a reason code.
const char* describe(reason r) noexcept;

}  // namespace relay::proto
