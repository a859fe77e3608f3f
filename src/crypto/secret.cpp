// Guarded allocation and wiping, the only users of sodium_malloc/sodium_free.
#include "relay/crypto/secret.hpp"

#include <sodium.h>

#include <cstring>
#include <new>
#include <stdexcept>

#include "relay/crypto/secret_pool.hpp"

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
  if (n <= secret_pool::max_slot) {
    p_ = secret_pool::for_size(n).allocate();
    return;
  }
  p_ = static_cast<byte*>(sodium_malloc(n));
  if (p_ == nullptr) throw std::bad_alloc();
  sodium_memzero(p_, n);
}

void secret_buffer::release() noexcept {
  if (p_ == nullptr) return;
  if (n_ <= secret_pool::max_slot) {
    secret_pool::for_size(n_).release(p_);
  } else {
    sodium_free(p_);  // wipes
  }
}

secret_buffer::~secret_buffer() { release(); }

secret_buffer& secret_buffer::operator=(secret_buffer&& o) noexcept {
  if (this != &o) {
    release();
    p_ = std::exchange(o.p_, nullptr);
    n_ = std::exchange(o.n_, 0);
  }
  return *this;
}

void secret_buffer::copy_from(byte_view v) noexcept {
  if (!v.empty()) std::memcpy(p_, v.data(), v.size());
}

key_slot& key_slot::operator=(key_slot&& o) noexcept {
  if (this != &o) {
    reset();
    p_ = std::exchange(o.p_, nullptr);
  }
  return *this;
}

void key_slot::assign(byte_view key) {
  if (key.size() != key_size) throw std::invalid_argument("key_slot: a key is 32 bytes");
  if (p_ == nullptr) {
    if (sodium_init() < 0) throw std::bad_alloc();
    p_ = secret_pool::for_size(key_size).allocate();
  }
  std::memcpy(p_, key.data(), key_size);
}

void key_slot::reset() noexcept {
  if (p_ == nullptr) return;
  secret_pool::for_size(key_size).release(p_);  // wipes
  p_ = nullptr;
}

secret_pool& secret_pool::for_size(std::size_t n) {
  // Never destroyed: secrets in static objects may be released during exit.
  static auto* small = new secret_pool(32, 4096);
  static auto* large = new secret_pool(64, 1024);
  return n <= 32 ? *small : *large;
}

secret_pool::~secret_pool() {
  for (auto& [base, s] : slabs_) sodium_free(s.base);
}

byte* secret_pool::allocate() {
  std::lock_guard lock(m_);
  for (auto& [base, s] : slabs_) {
    if (s.free.empty()) continue;
    byte* p = s.base + std::size_t{s.free.back()} * slot_size_;
    s.free.pop_back();
    ++in_use_;
    return p;
  }
  auto* base = static_cast<byte*>(sodium_malloc(slots_per_slab_ * slot_size_));
  if (base == nullptr) throw std::bad_alloc();
  sodium_memzero(base, slots_per_slab_ * slot_size_);
  slab s{base, {}};
  s.free.reserve(slots_per_slab_);
  // Hand out low addresses first (pop_back), so a lightly used slab touches few pages.
  for (std::size_t i = slots_per_slab_; i-- > 1;) s.free.push_back(static_cast<std::uint16_t>(i));
  slabs_.emplace(base, std::move(s));
  ++in_use_;
  return base;
}

void secret_pool::release(byte* p) noexcept {
  sodium_memzero(p, slot_size_);
  std::lock_guard lock(m_);
  auto it = slabs_.upper_bound(p);
  if (it == slabs_.begin()) return;  // not ours: cannot happen
  --it;
  slab& s = it->second;
  s.free.push_back(static_cast<std::uint16_t>((p - s.base) / slot_size_));
  --in_use_;
  if (s.free.size() == slots_per_slab_ && slabs_.size() > 1) {
    // Keep one slab around; give the rest back when they empty out.
    sodium_free(s.base);
    slabs_.erase(it);
  }
}

secret_pool::usage secret_pool::current() const {
  std::lock_guard lock(m_);
  return {slabs_.size(), in_use_};
}

}  // namespace relay::crypto
