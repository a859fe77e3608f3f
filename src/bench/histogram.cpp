// Log-linear histogram: values below 2*half are their own bucket; above, the top 9 bits.
#include "relay/bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace relay::bench {
namespace {
constexpr unsigned sub_bits = 9;                        // 512 exact values, then 256 per octave
constexpr std::uint64_t half = 1ULL << (sub_bits - 1);  // 256
constexpr std::size_t n_buckets = (64 - sub_bits + 1) * half + half;
}  // namespace

histogram::histogram() : counts_(n_buckets, 0) {}

std::size_t histogram::bucket_of(std::uint64_t v) noexcept {
  if (v < 2 * half) return static_cast<std::size_t>(v);
  const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
  const unsigned shift = msb - (sub_bits - 1);  // >= 1
  return static_cast<std::size_t>(shift * half + (v >> shift));
}

std::uint64_t histogram::bucket_floor(std::size_t b) noexcept {
  if (b < 2 * half) return b;
  const std::uint64_t shift = (b - half) / half;  // inverse of bucket_of
  const std::uint64_t mant = b - shift * half;
  return mant << shift;
}

void histogram::record(std::uint64_t v) noexcept {
  ++counts_[bucket_of(v)];
  ++count_;
  sum_ += v;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void histogram::merge(const histogram& o) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

std::uint64_t histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  const double want = std::ceil(std::clamp(q, 0.0, 100.0) / 100.0 * static_cast<double>(count_));
  const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(want));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < counts_.size(); ++b) {
    seen += counts_[b];
    if (seen >= rank) {
      // Middle of the bucket: half its width at most away from any sample in it.
      const std::uint64_t lo = bucket_floor(b), hi = bucket_floor(b + 1);
      const std::uint64_t mid = lo + (hi - lo - 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace relay::bench
