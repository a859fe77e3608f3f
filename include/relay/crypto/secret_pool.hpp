// Small secrets (keys, chaining keys: at most 64 bytes) share slabs of libsodium-guarded
// memory. One sodium_malloc per key costs three or four pages and an mlock, about 16 KiB of
// address space and 8 KiB resident for 32 bytes of key; a relay holding two transport keys per
// connection would spend most of its memory on that. A slab keeps the properties that matter
// (mlocked, excluded from core dumps, guard pages around it, wiped on release) at 64 bytes per
// key. Two slot sizes, 32 bytes (transport keys, the two a connection holds) and 64 (chaining
// keys, during handshakes), so a 32-byte key does not pay for 64. What is given up: no guard page
// between two keys of the same slab, so an overflow out of one key would reach its neighbour
// instead of faulting; every user writes keys through fixed-size spans, which is what keeps that
// from happening.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "relay/util/bytes.hpp"

namespace relay::crypto {

class secret_pool {
 public:
  /// Largest allocation the pools serve; bigger secrets get their own sodium_malloc.
  static constexpr std::size_t max_slot = 64;
  /// Slots per slab (one sodium_malloc of slots_per_slab * slot_size() bytes: 128 KiB of
  /// 32-byte slots). Each slab costs two more resident pages (libsodium's canary page and
  /// the partial page before the data): 1024 slots spent 25% on them, 4096 spend 6%.
  static constexpr std::size_t slots_per_slab = 4096;

  /// The process-wide pool for secrets of 1 to max_slot bytes: 32-byte slots up to 32 bytes,
  /// 64-byte slots above (thread-safe: a mutex, taken only to allocate and release).
  static secret_pool& for_size(std::size_t n);

  explicit secret_pool(std::size_t slot_size = max_slot) : slot_size_(slot_size) {}
  ~secret_pool();
  secret_pool(const secret_pool&) = delete;
  secret_pool& operator=(const secret_pool&) = delete;

  std::size_t slot_size() const noexcept { return slot_size_; }

  /// A zeroed slot of slot_size() bytes; throws std::bad_alloc.
  byte* allocate();
  /// Wipes the slot and returns it; frees a slab that became empty while another has room.
  void release(byte* p) noexcept;

  struct usage {
    std::size_t slabs = 0;
    std::size_t slots_in_use = 0;
  };
  usage current() const;

 private:
  struct slab {
    byte* base = nullptr;
    std::vector<std::uint16_t> free;  // indices of the slots not in use
  };
  static_assert(slots_per_slab <= 65536);
  const std::size_t slot_size_;
  mutable std::mutex m_;
  std::map<const byte*, slab> slabs_;  // by base address, to find a slot's slab on release
  std::size_t in_use_ = 0;
};

}  // namespace relay::crypto
