// The Noise Protocol Framework (rev. 34) for 25519_ChaChaPoly_BLAKE2b and 25519_AESGCM_BLAKE2b,
// sans-I/O: the spec's CipherState / SymmetricState / HandshakeState objects, and noise_session,
// the XX wrapper that the relay and the client speak (with its choice of cipher).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "relay/crypto/keys.hpp"
#include "relay/crypto/noise_primitives.hpp"
#include "relay/crypto/random.hpp"
#include "relay/crypto/secret.hpp"
#include "relay/util/bytes.hpp"
#include "relay/util/result.hpp"

namespace relay::transport {

using cipher = crypto::noise::cipher;

inline constexpr std::string_view protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
inline constexpr std::string_view protocol_name_aesgcm = "Noise_XX_25519_AESGCM_BLAKE2b";
/// The XX protocol name for `c`.
constexpr std::string_view protocol_for(cipher c) noexcept {
  return c == cipher::aesgcm ? protocol_name_aesgcm : protocol_name;
}
/// Bit 0 of the first payload byte of XX message 1: the initiator can use AESGCM.
inline constexpr byte offer_aesgcm = 0x01;
inline constexpr std::string_view prologue = "relaychat/1";  // names the protocol and version
inline constexpr std::size_t max_message = 65535;            // one Noise message, tag included
inline constexpr std::size_t tag_size = 16;
inline constexpr std::size_t max_plaintext = max_message - tag_size;
inline constexpr std::size_t hash_size = 64;  // HASHLEN of BLAKE2b: the handshake hash

/// Why a Noise operation failed. Category name "noise".
enum class noise_errc {
  bad_mac = 1,           ///< a ciphertext failed authentication (tampered, replayed, reordered)
  truncated,             ///< a message is shorter than its pattern requires
  low_order_key,         ///< the peer sent a low-order X25519 key (DH output all zeros)
  wrong_turn,            ///< a handshake write or read out of the pattern's order
  too_long,              ///< a message would exceed max_message (or plaintext max_plaintext)
  nonce_exhausted,       ///< the 2^64-1 nonce was reached; the session must end
  not_ready,             ///< transport use before the handshake finished
  failed,                ///< an earlier error made this state unusable
  missing_key,           ///< the pattern needs a static key that was not supplied
  unsupported_protocol,  ///< not Noise_<pattern>_25519_{ChaChaPoly,AESGCM}_BLAKE2b with a known
                         ///< pattern, or AESGCM on a CPU without AES-NI
};

/// The "noise" error category.
const std::error_category& noise_category() noexcept;
/// Wraps a noise_errc in a std::error_code of noise_category().
std::error_code make_error_code(noise_errc e) noexcept;

}  // namespace relay::transport

template <>
struct std::is_error_code_enum<relay::transport::noise_errc> : std::true_type {};

namespace relay::transport {

/// CipherState (section 5.1): a key (possibly empty) and a 64-bit nonce. Move-only. The cipher
/// function is the owner's to pass in: it belongs to the protocol, and a relay holding ten
/// thousand sessions should not store it twice in each.
class cipher_state {
 public:
  cipher_state() = default;
  ~cipher_state() { crypto::noise::forget_key(id_); }
  cipher_state(cipher_state&& o) noexcept
      : k_(std::move(o.k_)), n_(o.n_), id_(std::exchange(o.id_, 0)) {}
  cipher_state& operator=(cipher_state&& o) noexcept;
  cipher_state(const cipher_state&) = delete;
  cipher_state& operator=(const cipher_state&) = delete;

  /// InitializeKey(k): `key` must be 32 bytes; resets the nonce to 0.
  void initialize_key(byte_view key);
  /// HasKey().
  bool has_key() const noexcept { return !k_.empty(); }
  /// SetNonce(n): only for transports that deliver out of order (section 11.4).
  void set_nonce(std::uint64_t n) noexcept { n_ = n; }
  /// The nonce the next encryption or decryption will use.
  std::uint64_t nonce() const noexcept { return n_; }

  /// EncryptWithAd: appends ENCRYPT(k, n++, ad, plaintext), or the plaintext when there is no
  /// key, to `out`. `plaintext` must not point into `out`. Errors: too_long, nonce_exhausted.
  result<void> encrypt_with_ad(cipher c, byte_view ad, byte_view plaintext, bytes& out);
  /// DecryptWithAd: appends the plaintext to `out`. On any error (too_long, truncated, bad_mac,
  /// nonce_exhausted) neither `out` nor the nonce changes.
  result<void> decrypt_with_ad(cipher c, byte_view ad, byte_view ciphertext, bytes& out);
  /// Rekey(): k = REKEY(k); the nonce is unchanged. No effect without a key.
  void rekey(cipher c) noexcept;

 private:
  crypto::key_slot k_;  // empty means "no key"
  std::uint64_t n_ = 0;
  // Names the current key for the AES-GCM expanded-key cache (noise_primitives.hpp); a new
  // one with every new key, so a stale expansion is never used.
  crypto::noise::key_id id_ = 0;
};

/// SymmetricState (section 5.2): the chaining key, the handshake hash and a cipher_state.
class symmetric_state {
 public:
  /// InitializeSymmetric(protocol_name); `c` is the cipher that the name names.
  symmetric_state(std::string_view name, cipher c);

  /// MixKey(ikm).
  void mix_key(byte_view ikm);
  /// MixHash(data).
  void mix_hash(byte_view data) noexcept;
  /// EncryptAndHash: appends the (encrypted, once a key exists) plaintext to `out`.
  result<void> encrypt_and_hash(byte_view plaintext, bytes& out);
  /// DecryptAndHash: appends the plaintext to `out`; hashes the ciphertext.
  result<void> decrypt_and_hash(byte_view ciphertext, bytes& out);
  /// True once MixKey has run.
  bool has_key() const noexcept { return cs_.has_key(); }
  /// Split(): (c1, c2); c1 always carries initiator-to-responder traffic.
  std::pair<cipher_state, cipher_state> split();
  /// GetHandshakeHash(): h (64 bytes).
  byte_view handshake_hash() const noexcept { return h_; }
  /// The cipher function of the protocol name.
  cipher cipher_function() const noexcept { return c_; }

 private:
  cipher_state cs_;
  cipher c_;
  crypto::secret_bytes<hash_size> ck_;
  std::array<byte, hash_size> h_{};
};

/// HandshakeState (section 5.3) for the non-PSK one-way and fundamental interactive patterns
/// (N, K, X, NN, NK, NX, XN, XK, XX, KN, KK, KX, IN, IK, IX). Any error other than wrong_turn
/// leaves it failed: every later call returns noise_errc::failed. Move-only.
class handshake_state {
 public:
  /// What Initialize() takes; the ephemeral comes from the random_source given to create().
  struct config {
    std::string_view protocol = transport::protocol_name;  ///< full Noise protocol name
    bool initiator = true;
    byte_view prologue;
    const crypto::key_pair* s = nullptr;     ///< our static key, when the pattern uses one
    const crypto::public_key* rs = nullptr;  ///< peer static for a pre-message; else ignored
    /// Our ephemeral, when it must be a given one (the cipher fallback, test vectors); else
    /// generated from the random_source at the "e" token.
    const crypto::key_pair* e = nullptr;
  };

  /// Initialize(): copies the keys it needs (the secret into guarded memory). `rng` must outlive
  /// the state. Errors: unsupported_protocol (also AESGCM where !aesgcm_available()),
  /// missing_key.
  static result<handshake_state> create(const config& cfg, crypto::random_source& rng);

  /// WriteMessage(payload): appends the next handshake message to `out` (unchanged on error).
  /// Errors: wrong_turn, too_long, low_order_key, failed, nonce_exhausted.
  result<void> write_message(byte_view payload, bytes& out);
  /// ReadMessage(message): appends the decrypted payload to `payload` (unchanged on error).
  /// Errors: wrong_turn, too_long, truncated, bad_mac, low_order_key, failed.
  result<void> read_message(byte_view message, bytes& payload);

  /// True after the last handshake message was written or read.
  bool done() const noexcept;
  /// True when write_message is expected next.
  bool my_turn() const noexcept;
  /// True after an error made the state unusable.
  bool failed() const noexcept { return failed_; }
  /// How many handshake messages were written or read so far.
  std::size_t messages() const noexcept { return index_; }
  /// The cipher function of the protocol name.
  cipher cipher_function() const noexcept { return ss_.cipher_function(); }
  /// The peer's static key once known (pre-message or read), else null.
  const crypto::public_key* remote_static() const noexcept { return rs_ ? &*rs_ : nullptr; }
  /// h: the handshake hash so far (final once done()).
  byte_view handshake_hash() const noexcept { return ss_.handshake_hash(); }
  /// Split() once done(): (c1, c2), c1 for initiator-to-responder. Returns not_ready before
  /// the handshake ends and on a second call (two copies of the keys would reuse nonces).
  result<std::pair<cipher_state, cipher_state>> split();

 private:
  struct pattern;
  handshake_state(const pattern& p, bool initiator, crypto::random_source& rng,
                  std::string_view name, cipher c);
  result<void> mix_dh(std::string_view token);
  result<void> write_tokens(byte_view payload, bytes& out);
  result<void> read_tokens(byte_view message, bytes& payload);

  const pattern* pattern_;
  bool initiator_;
  crypto::random_source* rng_;
  symmetric_state ss_;
  std::optional<crypto::key_pair> s_, e_;
  std::optional<crypto::public_key> rs_, re_;
  std::size_t index_ = 0;  // next message in the pattern
  bool failed_ = false;
  bool split_ = false;
};

/// Which cipher a noise_session may use.
enum class cipher_choice : std::uint8_t {
  /// Noise_XX_25519_ChaChaPoly_BLAKE2b only; the handshake payloads are all the caller's.
  chachapoly,
  /// The first byte of message 1's payload is the cipher offer (docs/protocol.md, section
  /// 4.3), added by the initiator and removed by the responder. Where aesgcm_available(), the
  /// initiator offers AESGCM and reads message 2 with it, falling back to ChaChaPoly, and
  /// the responder picks AESGCM when offered; elsewhere both stay with ChaChaPoly.
  aesgcm_if_available,
};

/// Noise_XX_25519_{ChaChaPoly,AESGCM}_BLAKE2b with prologue "relaychat/1": the handshake, then
/// transport messages (initiator sends with c1, responder with c2). Move-only. A handshake
/// error makes the session unusable (every later call returns noise_errc::failed); a
/// transport decrypt error does not (the nonce does not advance), but callers should close.
class noise_session {
 public:
  enum class role { initiator, responder };

  /// Copies what it needs of `static_key` (into guarded memory); `rng` must outlive the session
  /// and provides the ephemeral key. With `keep_details` false, remote_static() and
  /// handshake_hash() are empty once the handshake is done: a relay holding ten thousand
  /// sessions never reads them, and they would cost 100 bytes in each. With `choice`
  /// aesgcm_if_available on both sides (and AES-NI on both CPUs) the session uses AESGCM;
  /// the offer byte is added to message 1's payload by the initiator and removed by the
  /// responder, so callers see the same payloads either way.
  noise_session(role r, const crypto::key_pair& static_key, crypto::random_source& rng,
                bool keep_details = true, cipher_choice choice = cipher_choice::chachapoly);
  ~noise_session();
  noise_session(noise_session&&) noexcept;
  noise_session& operator=(noise_session&&) noexcept;

  /// The next handshake message carrying `payload`, only when my_turn(). XX payload privacy:
  /// message 1 is cleartext, message 2 is readable by an unauthenticated initiator.
  result<bytes> write_handshake(byte_view payload);
  /// Reads the peer's next handshake message; returns its decrypted payload.
  result<bytes> read_handshake(byte_view message);
  /// True once the three XX messages have been exchanged.
  bool handshake_done() const noexcept { return done_; }
  /// True when write_handshake is expected next.
  bool my_turn() const noexcept;
  /// The peer's static key once read (initiator: after message 2; responder: after 3), else null
  /// (and null after the handshake without keep_details).
  const crypto::public_key* remote_static() const noexcept;
  /// h (64 bytes) once done, for channel binding; empty before (and without keep_details).
  byte_view handshake_hash() const noexcept;
  /// Drops what keep_details kept (the relay keeps it only until sign-in).
  void forget_details() noexcept { details_.reset(); }
  /// The cipher the session uses; final once the responder has read message 1 and the
  /// initiator message 2.
  cipher cipher_function() const noexcept { return cipher_; }

  /// A transport message for `plaintext`. Errors: not_ready, too_long (> max_plaintext),
  /// nonce_exhausted, failed.
  result<bytes> encrypt(byte_view plaintext);
  /// Appends the transport message for `plaintext` to `out` (for batching many frames in one
  /// buffer); `out` is unchanged on error. `plaintext` must not point into `out`.
  result<void> encrypt_into(byte_view plaintext, bytes& out);
  /// The plaintext of the peer's next transport message. Errors: not_ready, too_long,
  /// truncated, bad_mac (tampered, replayed or out of order), nonce_exhausted, failed.
  result<bytes> decrypt(byte_view ciphertext);
  /// Appends the plaintext to `out` (reused across messages); `out` is unchanged on error.
  result<void> decrypt_into(byte_view ciphertext, bytes& out);

 private:
  void finish();

  struct pending;
  static handshake_state start(bool initiator, cipher c, const crypto::key_pair& s,
                               const crypto::key_pair* e, crypto::random_source& rng);
  result<void> read_message1_choosing(byte_view message, bytes& payload);
  result<void> read_message2_either(byte_view message, bytes& payload);

  // On the heap and dropped after Split(): e and ck are wiped early, and an established
  // session (the relay holds thousands) does not carry the handshake's size.
  std::unique_ptr<pending> hs_;
  cipher_state send_, recv_;
  // What the handshake leaves for the caller (remote_static, handshake_hash), kept only on
  // request: on the heap, so that a session without it does not carry its 100 bytes.
  struct details {
    std::optional<crypto::public_key> rs;
    std::array<byte, hash_size> h{};
  };
  std::unique_ptr<details> details_;
  bool keep_details_;
  bool initiator_;
  bool negotiate_;  // cipher_choice::aesgcm_if_available: message 1 carries the offer byte
  bool done_ = false;
  bool failed_ = false;
  cipher cipher_ = cipher::chachapoly;
};

}  // namespace relay::transport
