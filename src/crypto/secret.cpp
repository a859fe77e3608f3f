// Guarded allocation and wiping, the only users of sodium_malloc/sodium_free.
#include "relay/crypto/secret.hpp"

#include <sodium.h>

#include <cstring>
#include <new>

namespace relay::crypto {

void wipe(void* p, std::size_t n) noexcept { sodium_memzero(p, n); }

bool equal(byte_view a, byte_view b) noexcept {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

secret_buffer::secret_buffer(std::size_t n) : n_(n) {
  // sodium_malloc(0) is valid but we keep size-0 buffers pointer-free.
  if (n == 0) return;
  // sodium_malloc aborts before sodium_init (it needs the page size); init is idempotent.
  if (sodium_init() < 0) throw std::bad_alloc();
  p_ = static_cast<byte*>(sodium_malloc(n));
  if (p_ == nullptr) throw std::bad_alloc();
  sodium_memzero(p_, n);
}

secret_buffer::~secret_buffer() { sodium_free(p_); }

secret_buffer& secret_buffer::operator=(secret_buffer&& o) noexcept {
  if (this != &o) {
    sodium_free(p_);
    p_ = std::exchange(o.p_, nullptr);
    n_ = std::exchange(o.n_, 0);
  }
  return *this;
}

void secret_buffer::copy_from(byte_view v) noexcept {
  if (!v.empty()) std::memcpy(p_, v.data(), v.size());
}

}  // namespace relay::crypto
