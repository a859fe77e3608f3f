// When to hand freed heap pages back to the system (malloc_trim).
//
// Churn (a sign-in crowd, a mass disconnect) leaves the heap full of freed pages that glibc
// keeps unless asked. The relay asks after the events that cause churn, once chat is quiet,
// but frees that come later have no event of their own: the roster batches still being
// written when the trim ran, say. So the relay also looks once a second, while chat is quiet,
// at its resident memory and at how much free memory malloc holds, and trims when resident
// memory grew by `growth` bytes since the last trim (or since its lowest point after it) while
// malloc holds at least that much free.
//
// Why resident memory and not malloc's free count alone: trimmed pages stay counted as free,
// and pages that fault back in and are freed again between two looks leave that count where
// it was. Watching the free count alone, a 10,000-client sign-in kept 21 MB of heap resident
// for 10 MB in use in one run of three; the growth of resident memory shows every such refill.
#pragma once

#include <cstddef>

namespace relay::server {

class trim_policy {
 public:
  explicit trim_policy(std::size_t growth = 2 * 1024 * 1024) : growth_(growth) {}

  /// Given the process's resident bytes and malloc's free bytes now: true if a trim is worth
  /// its cost (the walk of the heap holds malloc's lock for milliseconds). Growth that malloc
  /// does not hold as free is memory in use, which a trim cannot give back.
  bool due(std::size_t resident, std::size_t free_bytes) noexcept {
    if (resident < base_) base_ = resident;
    return resident > base_ + growth_ && free_bytes >= growth_;
  }
  /// After a trim: what stays resident is the new baseline.
  void trimmed(std::size_t resident) noexcept { base_ = resident; }

 private:
  std::size_t growth_;
  std::size_t base_ = 0;
};

}  // namespace relay::server
