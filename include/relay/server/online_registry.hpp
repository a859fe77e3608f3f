// Who is signed in, by name: a hash set threaded through the entries themselves
// (Boost.Intrusive), plus a dense array of them for walking everyone. Each entry carries one
// pointer (its hook) and its index in the array; the registry has a bucket and an array slot
// per entry. A std::unordered_map<string_view, session*> took a 32-byte node (a 48-byte
// malloc block) and a bucket, and walking it chased one pointer per entry: the roster
// snapshot walks everyone online for every sign-in (50 million entries signing in 10,000
// users), and waited for memory at each. The array lets the walk read ahead.
#pragma once

#include <algorithm>
#include <boost/intrusive/unordered_set.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace relay::server {

/// An entry holds one of these as a member, next to what a walk reads (its name): reading
/// ahead then fetches both. Safe-link mode: a hook knows whether it is linked.
using online_hook = boost::intrusive::unordered_set_member_hook<>;

/// Entries of type T by name (`name()`), with the hook `T::*Hook` and the array index
/// `T::*Slot` that the registry keeps. An entry's name must not change while it is
/// registered, and an entry must leave before it is destroyed. Not thread-safe (the relay's
/// io thread only).
template <class T, online_hook T::*Hook, std::uint32_t T::*Slot>
class online_registry {
  struct name_of {
    using type = std::string_view;
    std::string_view operator()(const T& t) const noexcept { return t.name(); }
  };
  using set_type = boost::intrusive::unordered_set<
      T, boost::intrusive::member_hook<T, online_hook, Hook>,
      boost::intrusive::key_of_value<name_of>, boost::intrusive::hash<std::hash<std::string_view>>,
      boost::intrusive::power_2_buckets<true>, boost::intrusive::constant_time_size<true>>;
  using bucket_type = typename set_type::bucket_type;
  using bucket_traits = typename set_type::bucket_traits;

 public:
  static constexpr std::size_t min_buckets = 16;
  /// How many entries a walk reads ahead: enough to overlap the cache misses of one entry
  /// with the work on the ones before it.
  static constexpr std::size_t read_ahead = 8;

  online_registry() : buckets_(min_buckets), set_(bucket_traits(buckets_.data(), min_buckets)) {}
  online_registry(const online_registry&) = delete;
  online_registry& operator=(const online_registry&) = delete;

  /// The entry named `name`, or nullptr.
  T* find(std::string_view name) noexcept {
    auto it = set_.find(name);
    return it == set_.end() ? nullptr : &*it;
  }
  /// Makes room for one more entry, so that the next insert cannot fail. Throws
  /// std::bad_alloc, with nothing changed, if there is no memory for it.
  void reserve_one() {
    if (list_.size() == list_.capacity()) list_.reserve(std::max(min_buckets, 2 * list_.size()));
    if (set_.size() + 1 > buckets_.size()) resize(buckets_.size() * 2);
  }
  /// Registers `t`, which must not be registered, under a name no other entry has. If it
  /// throws (out of memory), nothing changed.
  void insert(T& t) {
    reserve_one();
    set_.insert(t);
    t.*Slot = static_cast<std::uint32_t>(list_.size());
    list_.push_back(&t);
  }
  /// Removes `t` if it is registered (here); false if it was not. Never during for_each.
  bool erase(T& t) noexcept {
    if (!contains(t)) return false;
    set_.erase(set_.iterator_to(t));
    T* last = list_.back();  // fills t's slot
    list_[t.*Slot] = last;
    last->*Slot = t.*Slot;
    list_.pop_back();
    // The memory comes back after a mass disconnect, with room to grow again before the next.
    try {
      if (buckets_.size() > min_buckets && set_.size() < buckets_.size() / 8) {
        resize(buckets_.size() / 2);
      }
      if (list_.capacity() > min_buckets && list_.size() < list_.capacity() / 8) {
        list_.shrink_to_fit();
      }
    } catch (...) {  // out of memory for the smaller arrays: keep the bigger ones
    }
    return true;
  }
  /// Whether `t` is registered (a hook is only ever in the one registry).
  static bool contains(const T& t) noexcept { return (t.*Hook).is_linked(); }
  std::size_t size() const noexcept { return list_.size(); }
  bool empty() const noexcept { return list_.empty(); }
  std::size_t bucket_count() const noexcept { return buckets_.size(); }

  /// Calls f(T&) for every entry, in no particular order, fetching entries read_ahead
  /// places ahead into the cache. `f` must not insert or erase.
  template <class F>
  void for_each(F&& f) const {
    const std::size_t n = list_.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (i + read_ahead < n) {
        const auto* at = reinterpret_cast<const char*>(&(list_[i + read_ahead]->*Hook));
        __builtin_prefetch(at);
        __builtin_prefetch(at + 64);  // the rest of what follows the hook (a name, a key)
      }
      f(*list_[i]);
    }
  }

 private:
  void resize(std::size_t n) {
    std::vector<bucket_type> next(n);
    set_.rehash(bucket_traits(next.data(), n));
    buckets_.swap(next);  // the old array goes with `next`
  }

  std::vector<bucket_type> buckets_;  // declared first: the set lives on it
  set_type set_;
  std::vector<T*> list_;  // every entry, in no order; an entry knows its index (T::*Slot)
};

}  // namespace relay::server
