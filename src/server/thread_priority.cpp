// The scheduling class of the relay's hashing threads.
#include "relay/server/thread_priority.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace relay::server {

namespace {
constexpr int fallback_nice = 10;

hashing_priority lower_this_thread() noexcept {
  sched_param none{};
  if (::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &none) == 0) {
    return hashing_priority::idle;
  }
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), fallback_nice) == 0) {
    return hashing_priority::nice;
  }
  return hashing_priority::unchanged;
}
}  // namespace

hashing_priority yield_to_event_loop() noexcept {
  thread_local const hashing_priority p = lower_this_thread();
  return p;
}

}  // namespace relay::server
