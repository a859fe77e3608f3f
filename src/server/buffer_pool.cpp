// Spare byte buffers for the relay's write path.
#include "relay/server/buffer_pool.hpp"

#include <utility>

namespace relay::server {

bytes buffer_pool::take(std::size_t min_capacity) {
  bytes b;
  if (!spare_.empty()) {
    b = std::move(spare_.back());
    spare_.pop_back();
    spare_bytes_ -= b.capacity();
  }
  b.reserve(min_capacity);  // a no-op for a spare that is big enough
  return b;
}

void buffer_pool::give(bytes&& b) noexcept {
  const std::size_t cap = b.capacity();
  if (cap == 0) return;
  if (cap > max_buffer_ || spare_bytes_ + cap > max_bytes_) {
    bytes().swap(b);
    return;
  }
  b.clear();
  try {
    spare_.push_back(std::move(b));
  } catch (...) {
    return;  // out of memory for the list: the buffer is simply freed
  }
  spare_bytes_ += cap;
}

void buffer_pool::shrink(std::size_t keep_bytes) noexcept {
  while (spare_bytes_ > keep_bytes && !spare_.empty()) {
    spare_bytes_ -= spare_.back().capacity();
    spare_.pop_back();
  }
  if (spare_.empty()) std::vector<bytes>().swap(spare_);  // the list's own block too
}

buffer_pool& local_buffer_pool() noexcept {
  thread_local buffer_pool pool;
  return pool;
}

}  // namespace relay::server
