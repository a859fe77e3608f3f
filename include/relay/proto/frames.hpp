// Application frames: the plaintext of one Noise transport message is exactly one frame,
// a type byte followed by that type's fields. Integers are big-endian; `str8` is a 1-byte
// length then bytes; `blob16` a 2-byte length then bytes; `key` 32 raw bytes.
// docs/protocol.md is the authoritative description; keep them in step.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "relay/util/bytes.hpp"
#include "relay/util/result.hpp"

namespace relay::proto {

using key_bytes = std::array<byte, 32>;

/// Largest frame (Noise message minus its 16-byte tag).
inline constexpr std::size_t max_frame = 65535 - 16;
/// The relay cuts its roster snapshot into presence frames of at most this many bytes
/// (protocol.md 5.8): each chunk is sealed and written on its own, through small buffers.
inline constexpr std::size_t snapshot_chunk = 16 * 1024 - 256;
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
  batch = 0x07,   ///< a container of frames (batch_writer / batch_reader), not in `frame`
  padded = 0x08,  ///< a transport message's content then zero bytes (pad / unpad), not in `frame`
  // client -> relay, signed in: the account itself (protocol.md 5.15, 5.16)
  change_password = 0x09,
  delete_account = 0x0a,
  // relay -> client
  welcome = 0x81,
  presence = 0x82,
  deliver = 0x83,
  error = 0x84,
  closing = 0x85,
  last_key = 0x86,         ///< only to a client that set feature_last_key
  account_changed = 0x87,  ///< the answer to change_password or delete_account
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
  /// Optional: proves that the sender holds `identity`'s secret, for this connection's
  /// handshake (crypto::device_proof, protocol.md 5.2.1). Absent: 32 bytes shorter.
  std::optional<key_bytes> device_proof{};
  bool operator==(const sign_in&) const = default;
};
/// Client asks to create an account (and is signed in on success).
struct sign_up {
  std::string name;
  std::string password;
  key_bytes identity{};
  bool operator==(const sign_up&) const = default;
};
/// A signed-in client changes its account's password: `old_password` must be the current
/// one (protocol.md 5.15).
struct change_password {
  std::string old_password;
  std::string new_password;
  bool operator==(const change_password&) const = default;
};
/// A signed-in client deletes its own account, proving it knows the password (5.16).
struct delete_account {
  std::string password;
  bool operator==(const delete_account&) const = default;
};
/// The relay did what change_password or delete_account asked (protocol.md 5.17).
struct account_changed {
  enum class change : byte { password = 1, deleted = 2 };
  change what = change::password;
  bool operator==(const account_changed&) const = default;
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
/// Right after `welcome`: this account's previous sign-in used another identity key (another
/// device, or someone with the password), at `when` (unix seconds). Protocol.md 5.13.
struct last_key {
  key_bytes identity{};
  std::uint64_t when = 0;
  bool operator==(const last_key&) const = default;
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

using frame =
    std::variant<sign_in, sign_up, send, ping, pong, bye, welcome, presence, deliver, error,
                 closing, last_key, change_password, delete_account, account_changed>;

/// True for the frame types that carry a password: sign_in, sign_up, change_password and
/// delete_account. They are never batched, are padded to 512-byte blocks, and the relay
/// reads nothing more from a connection while one is being checked.
constexpr bool carries_password(byte type) noexcept {
  return type == static_cast<byte>(frame_type::sign_in) ||
         type == static_cast<byte>(frame_type::sign_up) ||
         type == static_cast<byte>(frame_type::change_password) ||
         type == static_cast<byte>(frame_type::delete_account);
}

/// Calls `fn(std::string&)` on each password field of `f` (none for the other frames), so
/// that callers can wipe them; this layer does no memory hygiene of its own.
template <class Fn>
void for_each_password(frame& f, Fn&& fn) {
  std::visit(
      [&](auto& v) {
        if constexpr (requires { v.password; }) fn(v.password);
        if constexpr (requires { v.old_password; }) fn(v.old_password);
        if constexpr (requires { v.new_password; }) fn(v.new_password);
      },
      f);
}

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

// Batches: several frames in one transport message, so one AEAD seal/open (and one record
// header and tag) covers many small frames. Layout: 0x07, then one or more entries, each a
// blob16 holding one frame (not a batch, not sign_in/sign_up). The relay accepts batches
// from every client; it sends them only to a client whose handshake message 3 payload has
// feature_batch set (docs/protocol.md 4.3, 5.12).

/// Handshake message 3 payload bit: "I accept batch frames from the relay".
inline constexpr byte feature_batch = 0x01;
/// Handshake message 3 payload bit: "tell me with `last_key` when my account's previous
/// sign-in used another identity key" (protocol.md 5.13).
inline constexpr byte feature_last_key = 0x02;
/// Handshake message 3 payload bit: "pad every transport message you send me"
/// (protocol.md 5.14): the relay wraps each in `padded`, of relay_padded_size() bytes.
inline constexpr byte feature_padding = 0x04;
/// Bytes a batch adds to a frame (its blob16 length), and once per batch (the type byte).
inline constexpr std::size_t batch_entry_overhead = 2;
inline constexpr std::size_t batch_header = 1;

/// Builds a batch in a caller's buffer: add() entries; take the single frame or the batch.
class batch_writer {
 public:
  /// The capacity add() gives a buffer it starts from empty: a buffer of at least this many
  /// bytes handed to adopt_buffer() is used as it is, without a reallocation.
  static constexpr std::size_t first_capacity = 1024;
  /// Room left for one more entry's frame in a batch that must stay within max_frame.
  std::size_t room() const noexcept;
  /// Appends one encoded frame (1..max_frame - 3 bytes; it must fit room()).
  void add(byte_view f);
  /// Entries so far (walks them: for tests and checks, not the hot path).
  std::size_t count() const noexcept;
  /// Calls f(frame) for each entry in order: for a peer that takes no batches.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t at = batch_header; at + batch_entry_overhead <= buf_.size();) {
      const std::size_t n = std::size_t{buf_[at]} << 8 | buf_[at + 1];
      f(byte_view(buf_).subspan(at + batch_entry_overhead, n));
      at += batch_entry_overhead + n;
    }
  }
  bool empty() const noexcept { return buf_.empty(); }
  /// What to encrypt: the frame itself when there is one, else the whole batch.
  byte_view plaintext() const noexcept;
  /// Forgets the entries; the buffer keeps its capacity (take_buffer() gives it away).
  void clear() noexcept;
  std::size_t capacity() const noexcept { return buf_.capacity(); }
  /// Forgets the entries and hands the buffer out (for reuse elsewhere).
  bytes take_buffer() noexcept;
  /// Uses `spare` (emptied) as the buffer if the writer holds none (capacity 0).
  void adopt_buffer(bytes&& spare) noexcept;

 private:
  // 0x07, then (u16 length, frame) per entry; empty when there are none. No count kept:
  // the relay holds one writer per connection, and "one entry" is read off the first length.
  bytes buf_;
  /// True if buf_ holds exactly one entry.
  bool single() const noexcept;
};

/// Walks the frames of a decrypted transport message: a lone frame, or a batch's entries.
/// next() gives each frame in turn, nullopt at the end, or an error for a malformed batch
/// (empty, an entry that is empty, runs past the end, or is itself a batch, a padded
/// message, a sign_in or a sign_up). Entries are checked as they are reached, so frames before a
/// bad entry count.
class batch_reader {
 public:
  explicit batch_reader(byte_view plain) noexcept;
  result<std::optional<byte_view>> next();
  /// True if the message was a batch (so its frames came from entries).
  bool is_batch() const noexcept { return batch_; }

 private:
  byte_view rest_;
  bool batch_ = false;
  bool done_ = false;
  std::size_t entries_ = 0;
};

/// `padded` (protocol.md 5.14): 0x08, u16 length, that many bytes of content (one frame or
/// a batch), then zero bytes up to the end of the transport message. It hides how long the
/// content is from anyone who sees only record lengths: a password's length in a sign_in,
/// a recipient name's in a send.
inline constexpr std::size_t padded_header = 1 + 2;
/// Wraps `content` as a padded message of exactly `total` bytes (at least content + 3, at
/// most max_frame), into `out` (cleared first).
void pad(byte_view content, std::size_t total, bytes& out);
/// The content of a padded message, checked (a length of 0 or past the end, content that is
/// itself padded, or a padding byte that is not zero is malformed); anything else is
/// returned as it is.
result<byte_view> unpad(byte_view plain) noexcept;

/// How long our clients make a padded message holding `content` (one frame or a batch) so
/// that its length tells nothing of its secrets, or 0 to send it unpadded (protocol.md
/// 5.14): a sign_in or sign_up to a multiple of 512 bytes, whatever the name and password;
/// sends (alone or batched) as long as if each `to` were 32 bytes; nothing else.
std::size_t client_padded_size(byte_view content) noexcept;

/// How long the relay makes a padded message holding `content` (one frame or a batch, as
/// the relay encodes them) for a client that set feature_padding (protocol.md 5.14): as long
/// as if every user name in it (welcome, deliver, presence entries) were 32 bytes, every
/// presence entry an online one, every error or closing text 255 bytes, and a batch with a
/// welcome had a last_key. May exceed max_frame: the relay then sends a batch's frames one by
/// one, and pads a lone frame to max_frame.
std::size_t relay_padded_size(byte_view content) noexcept;

/// Wire size of a presence entry: kind, name length, name, and the key if online. The
/// presence_writer splits frames under max_frame with it.
constexpr std::size_t encoded_size(presence_entry::kind what, std::size_t name_size) noexcept {
  return 1 + 1 + name_size + (what == presence_entry::kind::online ? 32 : 0);
}
inline std::size_t encoded_size(const presence_entry& e) noexcept {
  return encoded_size(e.what, e.name.size());
}
/// Frame header bytes of a presence frame before its entries.
inline constexpr std::size_t presence_header = 1 + 1 + 2;

/// Builds a presence frame in place, entry by entry, with no presence struct in between:
/// the relay's roster snapshot writes thousands of entries per sign-in, and a roster round
/// is cut into frames here too. The bytes are exactly what encode() gives for the same
/// presence.
class presence_writer {
 public:
  /// Starts a frame in `out` (cleared first); frames are cut at `limit` bytes (at most
  /// max_frame).
  presence_writer(bytes& out, bool snapshot, std::size_t limit = max_frame);
  /// Starts the next frame, with the same flags, in the same buffer (after the last one
  /// was finished and sent).
  void restart();
  /// Appends an entry (`identity` only goes on the wire for `online`); false, with nothing
  /// written, if it would take the frame over max_frame (or past 65535 entries). `name` is
  /// 1..255 bytes.
  bool add(presence_entry::kind what, std::string_view name, std::span<const byte, 32> identity);
  bool add(const presence_entry& e) { return add(e.what, e.name, e.identity); }
  std::size_t entries() const noexcept { return count_; }
  /// Sets the `last` flag if asked and the entry count; the frame is then complete in `out`.
  bytes& finish(bool last);

 private:
  bytes& out_;
  bool snapshot_;
  std::size_t limit_;
  std::size_t count_ = 0;
};

/// A short name for logs ("send", "deliver", ...).
const char* type_name(const frame& f) noexcept;
/// A human-readable text for a reason code.
const char* describe(reason r) noexcept;
/// Why a frame from the peer was refused, for the `closing` text: the decode error and what
/// an implementer needs to find the fault (the type byte, or the limit that was broken).
std::string describe_bad_frame(byte_view bad, std::error_code ec);

}  // namespace relay::proto
