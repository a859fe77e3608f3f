// The scheduling class of the relay's hashing threads.
#include "relay/server/thread_priority.hpp"

#include "relay/util/thread_name.hpp"

namespace relay::server {

namespace {
constexpr int fallback_nice = 10;
}  // namespace

hashing_priority yield_to_event_loop() noexcept {
  thread_local const hashing_priority p = [] {
    util::name_this_thread(util::hashing_thread_name);
    return util::lower_to_idle(fallback_nice);
  }();
  return p;
}

}  // namespace relay::server
