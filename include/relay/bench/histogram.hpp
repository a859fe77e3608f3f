// Latency histogram for the load tool: log-linear buckets (256 per power of two, so a reported
// percentile is within 0.4% of the true sample), fixed memory, no allocation when recording,
// mergeable across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace relay::bench {

class histogram {
 public:
  histogram();
  /// Records one value (e.g. nanoseconds).
  void record(std::uint64_t v) noexcept;
  /// Adds all of `o`'s samples.
  void merge(const histogram& o);
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0;
  }
  /// Nearest-rank percentile, q in [0, 100]: the smallest recorded bucket value with at least
  /// q% of samples at or below it; exact below 512, clamped to [min, max]. 0 when empty.
  std::uint64_t percentile(double q) const noexcept;

  /// Bucket of a value, and the smallest value of a bucket (exposed for tests).
  static std::size_t bucket_of(std::uint64_t v) noexcept;
  static std::uint64_t bucket_floor(std::size_t b) noexcept;

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0, sum_ = 0, min_ = UINT64_MAX, max_ = 0;
};

}  // namespace relay::bench
