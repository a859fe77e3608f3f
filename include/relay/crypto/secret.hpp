// Move-only holders for key material in libsodium-guarded memory (guard pages, mlock,
// wiped on free). Secrets of at most 64 bytes share slabs (see secret_pool.hpp). Use for long-lived
// secrets; per-message scratch stays on the stack and is wiped with wipe().
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "relay/util/bytes.hpp"

namespace relay::crypto {

/// Zeroes memory in a way the compiler cannot elide (sodium_memzero).
void wipe(void* p, std::size_t n) noexcept;
/// Zeroes all of a string's buffer, capacity included: a moved-from short string keeps its
/// bytes in place, and a shrunk one keeps them past its size.
inline void wipe(std::string& s) noexcept { wipe(s.data(), s.capacity()); }
/// Constant-time equality of two equal-length buffers (sodium_memcmp); false if lengths differ.
bool equal(byte_view a, byte_view b) noexcept;

/// A variable-size secret in sodium_malloc memory; empty when moved from.
class secret_buffer {
 public:
  secret_buffer() = default;
  /// Allocates n zeroed bytes; throws std::bad_alloc on failure.
  explicit secret_buffer(std::size_t n);
  /// Copies the bytes in (the caller should wipe its own copy).
  explicit secret_buffer(byte_view v) : secret_buffer(v.size()) { copy_from(v); }
  ~secret_buffer();
  secret_buffer(secret_buffer&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  secret_buffer& operator=(secret_buffer&& o) noexcept;
  secret_buffer(const secret_buffer&) = delete;
  secret_buffer& operator=(const secret_buffer&) = delete;

  byte* data() noexcept { return p_; }
  const byte* data() const noexcept { return p_; }
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  byte_view view() const noexcept { return {p_, n_}; }
  std::span<byte> span() noexcept { return {p_, n_}; }

 private:
  void copy_from(byte_view v) noexcept;
  void release() noexcept;
  byte* p_ = nullptr;
  std::size_t n_ = 0;
};

/// A 32-byte key in guarded memory (the shared 32-byte slots), or none: a single pointer,
/// half a secret_buffer, since a relay holds two per connection (Noise's transport keys).
class key_slot {
 public:
  static constexpr std::size_t key_size = 32;
  key_slot() = default;
  ~key_slot() { reset(); }
  key_slot(key_slot&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  key_slot& operator=(key_slot&& o) noexcept;
  key_slot(const key_slot&) = delete;
  key_slot& operator=(const key_slot&) = delete;

  /// Copies in a key of key_size bytes (allocating the slot if there is none); throws
  /// std::invalid_argument for another size, std::bad_alloc if out of guarded memory.
  void assign(byte_view key);
  /// Wipes and frees the key; empty() afterwards.
  void reset() noexcept;
  bool empty() const noexcept { return p_ == nullptr; }
  /// The key (key_size bytes); only when !empty().
  byte* data() noexcept { return p_; }
  const byte* data() const noexcept { return p_; }

 private:
  byte* p_ = nullptr;
};

/// A fixed-size secret (keys), always allocated.
template <std::size_t N>
class secret_bytes {
 public:
  static constexpr std::size_t size_v = N;
  secret_bytes() : b_(N) {}
  byte* data() noexcept { return b_.data(); }
  const byte* data() const noexcept { return b_.data(); }
  static constexpr std::size_t size() noexcept { return N; }
  byte_view view() const noexcept { return b_.view(); }
  std::span<byte, N> span() noexcept { return std::span<byte, N>(b_.data(), N); }

 private:
  secret_buffer b_;
};

}  // namespace relay::crypto
