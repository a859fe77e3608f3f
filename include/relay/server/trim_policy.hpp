// When to hand freed heap pages back to the system (malloc_trim).
//
// Churn (a sign-in crowd, a mass disconnect) leaves the heap full of freed pages that glibc
// keeps unless asked. The relay asks after the events that cause churn, once chat is quiet,
// but frees that come later have no event of their own: the roster batches still being
// written when the trim ran, say. So the relay also looks once a second, while chat is quiet,
// at its resident memory and at how much free memory malloc holds, and trims when either grew
// by `growth` bytes since the last trim (or since its lowest point after it) while malloc
// holds at least that much free.
//
// Why both: trimmed pages stay counted as free, so pages that fault back in and are freed
// again between two looks leave malloc's free count where it was (watching it alone, a
// 10,000-client sign-in kept 21 MB of heap resident for 10 MB in use in one run of three);
// resident memory shows every such refill. And memory freed without resident growth since
// the last trim (the last roster round of a sign-in crowd) shows only in the free count.
// Half a megabyte: at 10,000 idle clients that is 50 bytes each, a tenth of the session.
#pragma once

#include <cstddef>

namespace relay::server {

class trim_policy {
 public:
  explicit trim_policy(std::size_t growth = 512 * 1024) : growth_(growth) {}

  /// Given the process's resident bytes and malloc's free bytes now: true if a trim is worth
  /// its cost (the walk of the heap holds malloc's lock for a millisecond or so). Resident
  /// growth that malloc does not hold as free is memory in use, which a trim cannot give
  /// back; free memory that grew without resident growth is pages freed since the last trim.
  bool due(std::size_t resident, std::size_t free_bytes) noexcept {
    if (resident < base_) base_ = resident;
    if (free_bytes < free_low_) free_low_ = free_bytes;
    if (free_bytes < growth_) return false;
    return resident > base_ + growth_ || free_bytes > free_low_ + growth_;
  }
  /// After a trim: what stays resident, and what malloc still calls free (trimmed pages
  /// stay counted), are the new baselines.
  void trimmed(std::size_t resident, std::size_t free_bytes) noexcept {
    base_ = resident;
    free_low_ = free_bytes;
  }

 private:
  std::size_t growth_;
  std::size_t base_ = 0;
  std::size_t free_low_ = 0;
};

}  // namespace relay::server
