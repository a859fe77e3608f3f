// How many CPUs this process may run on.
#include "relay/util/cpus.hpp"

#include <sched.h>

#include <thread>

namespace relay::util {

unsigned usable_cpus() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    if (const int n = CPU_COUNT(&set); n > 0) return static_cast<unsigned>(n);
  }
  const unsigned n = std::thread::hardware_concurrency();  // 0 when unknown
  return n > 0 ? n : 1;
}

}  // namespace relay::util
