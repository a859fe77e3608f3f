// When to hand freed heap pages back to the system (malloc_trim).
//
// Churn (a sign-in crowd, a mass disconnect) leaves the heap full of freed pages that glibc
// keeps unless asked. The relay asks after the events that cause churn, once chat is quiet,
// but frees that come later have no event of their own: the roster batches still being
// written when the trim ran, say. A 10,000-client sign-in then kept 22 MB of heap resident
// for 10 MB in use in one run of three. So the relay also looks, once a second, at how much
// free memory malloc holds, and trims when it has grown by `growth` bytes since the last trim
// (or since its lowest point: memory reused and freed again counts as new).
#pragma once

#include <cstddef>

namespace relay::server {

class trim_policy {
 public:
  explicit trim_policy(std::size_t growth = 2 * 1024 * 1024) : growth_(growth) {}

  /// Given malloc's free bytes now: true if a trim is worth its cost (the walk of the heap
  /// holds malloc's lock for milliseconds).
  bool due(std::size_t free_bytes) noexcept {
    if (free_bytes < low_) low_ = free_bytes;
    return free_bytes > low_ + growth_;
  }
  /// After a trim: free memory malloc still reports (trimmed pages stay counted as free)
  /// is the new baseline.
  void trimmed(std::size_t free_bytes) noexcept { low_ = free_bytes; }

 private:
  std::size_t growth_;
  std::size_t low_ = 0;
};

}  // namespace relay::server
