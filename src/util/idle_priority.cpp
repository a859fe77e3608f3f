// Lowering the calling thread to the idle scheduling class.
#include "relay/util/idle_priority.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace relay::util {

thread_priority lower_to_idle(int fallback_nice) noexcept {
  sched_param none{};
  if (::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &none) == 0) {
    return thread_priority::idle;
  }
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), fallback_nice) == 0) {
    return thread_priority::nice;
  }
  return thread_priority::unchanged;
}

}  // namespace relay::util
