#include "relay/util/handler_memory.hpp"

namespace relay {

handler_cache::~handler_cache() {
  for (std::size_t i = 0; i < classes; ++i) {
    while (block* b = free_[i]) {
      free_[i] = b->next;
      ::operator delete(b);
    }
  }
}

void* handler_cache::allocate(std::size_t size) {
  if (size > largest) return ::operator new(size);
  const std::size_t c = class_of(size);
  if (block* b = free_[c]) {
    free_[c] = b->next;
    --count_[c];
    return b;
  }
  return ::operator new(block_size(size));
}

void handler_cache::deallocate(void* p, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (size > largest || count_[c] >= per_class) {
    ::operator delete(p);  // unsized: clang (the fuzz build) has no sized delete by default
    return;
  }
  free_[c] = new (p) block{free_[c]};
  ++count_[c];
}

std::size_t handler_cache::spare() const noexcept {
  std::size_t n = 0;
  for (std::size_t c : count_) n += c;
  return n;
}

namespace {

// A plain pointer (no destructor of its own, so it can still be read during thread exit) and
// a guard that frees the cache at thread exit and leaves the pointer null.
thread_local handler_cache* cache_ptr = nullptr;
struct cache_guard {
  ~cache_guard() {
    delete cache_ptr;
    cache_ptr = nullptr;
    cache_gone = true;
  }
  static thread_local bool cache_gone;
};
thread_local bool cache_guard::cache_gone = false;

handler_cache* cache() {
  if (!cache_ptr && !cache_guard::cache_gone) {
    thread_local cache_guard guard;  // constructed first, destroyed when the thread exits
    cache_ptr = new handler_cache;
  }
  return cache_ptr;
}

}  // namespace

handler_cache* local_handler_cache() noexcept { return cache_ptr; }

void* handler_allocate(std::size_t size) {
  if (handler_cache* c = cache()) return c->allocate(size);
  // A block of its class's size even now: another thread's cache may take it back.
  return ::operator new(size > handler_cache::largest ? size : handler_cache::block_size(size));
}

void handler_deallocate(void* p, std::size_t size) noexcept {
  if (handler_cache* c = cache_ptr) {
    c->deallocate(p, size);
    return;
  }
  ::operator delete(p);  // no cache (thread exit)
}

}  // namespace relay
