// End-to-end message envelope: crypto_box from the sender's identity key to the recipient's,
// so the relay routes it without being able to read or alter it. Version 3 seals the message
// again inside, between the two ends' session keys (made for one run of a client and erased
// when it ends), so that the identity keys alone cannot open it later: forward secrecy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

#include "relay/crypto/keys.hpp"
#include "relay/crypto/random.hpp"
#include "relay/util/bytes.hpp"
#include "relay/util/result.hpp"

namespace relay::crypto {

/// The version seal() writes by default without session keys: 2 pads as if both names were
/// 32 bytes (protocol.md 8.2), so that a message's size does not tell who writes to whom.
/// open() also takes version 1.
inline constexpr byte envelope_version = 2;
/// Sealed again between session keys (protocol.md 8.5): what our client writes.
inline constexpr byte session_envelope_version = 3;

/// One chat message as the two ends see it.
struct envelope {
  std::string from;
  std::string to;
  std::uint64_t counter = 0;
  std::string text;
  byte version = envelope_version;  ///< as sealed: 1 or 2 (only the padding differs), or 3
  /// Version 3, as opened: the sender's session key, and whether the message was sealed to
  /// ours (false: to our identity key, the sender not knowing our session key yet).
  public_key sender_session{};
  bool to_session = false;
  bool operator==(const envelope&) const = default;
};

/// The session keys a version 3 envelope is sealed between: the sender's own pair, and the
/// recipient's public session key if the sender has learnt it (nullptr: not yet).
struct session_pair {
  const key_pair& own;
  const public_key* peer = nullptr;
};

/// Most bytes of UTF-8 text in one message.
inline constexpr std::size_t max_text = 16384;
/// Longest sender or recipient name inside an envelope, in bytes.
inline constexpr std::size_t max_envelope_name = 255;
/// Plaintext is zero-padded to a multiple of this, hiding exact lengths from the relay.
inline constexpr std::size_t envelope_padding = 64;
/// Nonce (24) plus Poly1305 tag (16) around the padded plaintext.
inline constexpr std::size_t envelope_overhead = 40;

/// Why open() refused an envelope.
enum class envelope_errc {
  truncated = 1,        ///< shorter than the smallest envelope
  bad_mac,              ///< not sealed by `sender` for `recipient`, or altered
  bad_format,           ///< authentic but malformed plaintext, or an impossible length
  unsupported_version,  ///< authentic, but a plaintext version we do not speak
  stale_session,        ///< version 3 sealed to a session key that is not ours (any more)
  bad_size,             ///< a size seal() never makes (checked before opening)
};
/// The "envelope" error category.
const std::error_category& envelope_category() noexcept;
std::error_code make_error_code(envelope_errc e) noexcept;

/// Plaintext layout (big-endian), zero-padded to a multiple of envelope_padding (version 2:
/// as if each name were at least 32 bytes; version 1: the names as they are):
///   u8 version | u8 from_len | from | u8 to_len | to | u64 counter | u32 text_len | text | 0..
/// Returns nonce(24) || crypto_box_easy(plaintext). Version 3 (m.version, with `sessions`):
/// the plaintext is 3 | sender session key | recipient session key (or zeros) | nonce(24) |
/// crypto_box_easy(inner plaintext) from our session key to theirs (or to their identity
/// key). Throws std::invalid_argument if the text is longer than max_text, a name longer
/// than max_envelope_name, a key is a low-order point, or version 3 comes without sessions.
bytes seal(const envelope& m, const key_pair& sender, const public_key& recipient,
           random_source& rng, const session_pair* sessions = nullptr);
/// Opens and parses; an envelope_errc on anything wrong. Version 3 needs `own_session` (our
/// session key pair): without it, unsupported_version. Does not check names or the counter
/// (the caller does). crypto_box is symmetric, so the caller must check that `from` is the
/// expected sender and `to` is itself: that is what rejects an envelope reflected back to
/// its own sender.
result<envelope> open(byte_view sealed, const key_pair& recipient, const public_key& sender,
                      const key_pair* own_session = nullptr);
/// The padded plaintext seal() encrypts (of m.version, 1 or 2; for 3, the inner plaintext,
/// padded so that the outer one is a multiple of 64); throws like seal(). Exposed for tests
/// and fuzzers: callers should wipe() it after use.
bytes encode_envelope_plaintext(const envelope& m);
/// Parses a plaintext open() has authenticated: bad_format or unsupported_version on anything
/// but exactly what encode_envelope_plaintext() makes. Exposed for tests and fuzzers.
result<envelope> decode_envelope_plaintext(byte_view pt);
/// Size of seal() output for the given name and text lengths.
std::size_t sealed_size(std::size_t from_len, std::size_t to_len, std::size_t text_len,
                        byte version = envelope_version);

}  // namespace relay::crypto

template <>
struct std::is_error_code_enum<relay::crypto::envelope_errc> : std::true_type {};
