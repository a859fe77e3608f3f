// Injected randomness: production code takes a random_source& so known-answer tests can fix
// keys (e.g. Noise ephemerals) and fuzzers stay deterministic.
#pragma once

#include <cstddef>
#include <span>

#include "relay/util/bytes.hpp"

namespace relay::crypto {

/// Fills buffers with random bytes.
class random_source {
 public:
  virtual ~random_source() = default;
  /// Fills `out` entirely.
  virtual void fill(std::span<byte> out) = 0;
};

/// The operating system's CSPRNG (randombytes_buf).
class system_random final : public random_source {
 public:
  void fill(std::span<byte> out) override;
};

/// The process-wide system_random.
random_source& os_random();

/// Test-only: returns queued byte strings in order (each fill() must ask for exactly the
/// next queued length), then falls back to a deterministic counter stream.
class scripted_random final : public random_source {
 public:
  void push(bytes b) { queue_.push_back(std::move(b)); }
  void fill(std::span<byte> out) override;

 private:
  std::vector<bytes> queue_;
  std::size_t next_ = 0;
  byte counter_ = 0;
};

}  // namespace relay::crypto
