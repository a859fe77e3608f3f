// Memory for Asio's operations (a pending read wait, a write, a posted flush), reused per
// thread instead of malloc and free per message.
//
// Every message the relay forwards starts a write and a readiness wait and posts a flush,
// and Asio allocates an operation object for each. Its own per-thread cache keeps one or
// two blocks, which a thousand connections exhaust at once: with the record buffers, at
// 1000 clients that was about 3 allocations per message. Handlers that name handler_allocator as
// their allocator get their operations from a per-thread cache of freed blocks instead, by size
// class, bounded so that a burst does not pin memory.
#pragma once

#include <array>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace relay {

class handler_cache {
 public:
  // Size classes step by this, and each block is 8 bytes short of a multiple of 16: what
  // glibc's malloc hands out from a chunk (an 8-byte header, 16-byte steps). The pending
  // readiness wait of 84 bytes that every idle connection holds takes an 88-byte block in a
  // 96-byte chunk; a 96-byte block would take a 112-byte chunk.
  static constexpr std::size_t granule = 16;
  static constexpr std::size_t smallest = 24;
  static constexpr std::size_t largest = 512;  // bigger blocks are not cached
  /// The block a request of `size` bytes (1..largest) gets.
  static constexpr std::size_t block_size(std::size_t size) noexcept {
    return smallest + class_of(size) * granule;
  }
  static constexpr std::size_t per_class = 256;  // at most this many spare blocks per class

  handler_cache() = default;
  ~handler_cache();
  handler_cache(const handler_cache&) = delete;
  handler_cache& operator=(const handler_cache&) = delete;

  void* allocate(std::size_t size);
  void deallocate(void* p, std::size_t size) noexcept;

  /// Spare blocks held now (all classes).
  std::size_t spare() const noexcept;

 private:
  struct block {
    block* next;
  };
  static constexpr std::size_t class_of(std::size_t size) noexcept {
    return size <= smallest ? 0 : (size - smallest + granule - 1) / granule;
  }
  static constexpr std::size_t classes = (largest - smallest + granule - 1) / granule + 1;
  std::array<block*, classes> free_{};
  std::array<std::size_t, classes> count_{};
};

/// From the calling thread's cache (plain operator new once the thread's cache is gone, at
/// thread exit).
void* handler_allocate(std::size_t size);
void handler_deallocate(void* p, std::size_t size) noexcept;
/// The calling thread's cache, or null at thread exit (for tests and statistics).
handler_cache* local_handler_cache() noexcept;

/// An allocator for Asio's associated_allocator: takes from the calling thread's cache. A
/// block may be freed on another thread than the one that allocated it (it is plain
/// operator new memory), so it then joins that thread's cache.
template <class T>
struct handler_allocator {
  using value_type = T;
  handler_allocator() noexcept = default;
  template <class U>
  handler_allocator(const handler_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(handler_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { handler_deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const handler_allocator<U>&) const noexcept {
    return true;
  }
};

/// Wraps a completion handler so that Asio allocates its operation with handler_allocator.
template <class F>
struct cached_handler {
  F f;
  using allocator_type = handler_allocator<void>;
  allocator_type get_allocator() const noexcept { return {}; }
  template <class... Args>
  void operator()(Args&&... args) {
    f(std::forward<Args>(args)...);
  }
};

template <class F>
cached_handler<std::decay_t<F>> cached(F&& f) {
  return {std::forward<F>(f)};
}

}  // namespace relay
