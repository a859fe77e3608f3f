#include "relay/util/cpus.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <thread>

namespace relay::util {
namespace {

TEST(UsableCpus, CountsTheCpusThisThreadMayRunOnNotTheMachines) {
  cpu_set_t all;
  CPU_ZERO(&all);
  ASSERT_EQ(::pthread_getaffinity_np(::pthread_self(), sizeof all, &all), 0);
  EXPECT_EQ(usable_cpus(), static_cast<unsigned>(CPU_COUNT(&all)));

  unsigned pinned = 0;
  std::thread t([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &all)) {
        CPU_SET(c, &one);
        break;
      }
    }
    if (::pthread_setaffinity_np(::pthread_self(), sizeof one, &one) == 0) pinned = usable_cpus();
  });
  t.join();
  EXPECT_EQ(pinned, 1u);
}

}  // namespace
}  // namespace relay::util
