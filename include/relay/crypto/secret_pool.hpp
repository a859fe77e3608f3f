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

#include <algorithm>
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
  /// Most slots in one slab (slot indices are 16-bit).
  static constexpr std::size_t max_slots_per_slab = 65536;

  /// The process-wide pool for secrets of 1 to max_slot bytes: 32-byte slots up to 32 bytes,
  /// 64-byte slots above (thread-safe: a mutex, taken only to allocate and release).
  static secret_pool& for_size(std::size_t n);

  /// A slab is one sodium_malloc of slots_per_slab * slot_size bytes, and costs two more
  /// resident pages (libsodium's canary page and the partial page before the data): the
  /// shared 32-byte pool, which holds two keys per connection for as long as it lasts, uses
  /// 4096 slots (128 KiB, 6% on those pages; 1024 slots spent 25%); the 64-byte pool, used
  /// only during handshakes, 1024 (64 KiB: its emptied slab stays resident).
  explicit secret_pool(std::size_t slot_size = max_slot, std::size_t slots_per_slab = 1024)
      : slot_size_(slot_size),
        slots_per_slab_(std::clamp<std::size_t>(slots_per_slab, 1, max_slots_per_slab)) {}
  ~secret_pool();
  secret_pool(const secret_pool&) = delete;
  secret_pool& operator=(const secret_pool&) = delete;

  std::size_t slot_size() const noexcept { return slot_size_; }
  std::size_t slots_per_slab() const noexcept { return slots_per_slab_; }

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
  const std::size_t slot_size_;
  const std::size_t slots_per_slab_;
  mutable std::mutex m_;
  std::map<const byte*, slab> slabs_;  // by base address, to find a slot's slab on release
  std::size_t in_use_ = 0;
};

}  // namespace relay::crypto
