// Spare byte buffers for the relay's write path, reused instead of freed.
//
// A connection holds a record buffer only while it has something to write (idle
// connections hold none), so at 1000 chatting clients every flush would malloc and free
// a few KiB, and during a sign-in crowd those freed blocks end up as holes between
// long-lived sessions, which keeps idle RSS up. The pool keeps a bounded number of small
// buffers for the next flush. One pool per thread; the contents are ciphertext or frames
// on their way out, never key material.
#pragma once

#include <cstddef>
#include <vector>

#include "relay/util/bytes.hpp"

namespace relay::server {

class buffer_pool {
 public:
  /// Keeps at most `max_bytes` of spare capacity, and no buffer larger than `max_buffer`
  /// (a 400 KiB roster snapshot is not worth keeping for the next 60-byte message).
  /// Half a megabyte: at 1000 chatting clients one turn of the event loop holds a frame
  /// buffer and a record buffer for each of a few hundred recipients, all given back at
  /// their flush; with 64 KiB most were freed and taken from malloc again every turn
  /// (two mallocs per delivered message, counted with a uprobe). shrink() gives the spares
  /// back when chat goes quiet, so idle memory does not carry this.
  explicit buffer_pool(std::size_t max_bytes = 512 * 1024, std::size_t max_buffer = 16 * 1024)
      : max_bytes_(max_bytes), max_buffer_(max_buffer) {}

  /// An empty buffer with capacity for at least `min_capacity` bytes.
  bytes take(std::size_t min_capacity);
  /// Takes `b` back (its contents are dropped); frees it if the pool is full or it is big.
  void give(bytes&& b) noexcept;
  /// Frees spares until at most `keep_bytes` of them are left (when chat is quiet).
  void shrink(std::size_t keep_bytes) noexcept;

  std::size_t spare_buffers() const noexcept { return spare_.size(); }
  std::size_t spare_bytes() const noexcept { return spare_bytes_; }

 private:
  std::size_t max_bytes_;
  std::size_t max_buffer_;
  std::size_t spare_bytes_ = 0;
  std::vector<bytes> spare_;
};

/// The calling thread's pool (the relay's io thread writes; tests may run several relays).
buffer_pool& local_buffer_pool() noexcept;

}  // namespace relay::server
