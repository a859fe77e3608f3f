// System and scripted random sources.
#include "relay/crypto/random.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace relay::crypto {

void system_random::fill(std::span<byte> out) { randombytes_buf(out.data(), out.size()); }

random_source& os_random() {
  static system_random r;
  return r;
}

void scripted_random::fill(std::span<byte> out) {
  if (next_ < queue_.size()) {
    const bytes& b = queue_[next_++];
    if (b.size() != out.size()) throw std::logic_error("scripted_random: length mismatch");
    std::copy(b.begin(), b.end(), out.begin());
    return;
  }
  for (byte& c : out) c = counter_++;
}

}  // namespace relay::crypto
