#include "relay/util/thread_name.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace relay::util {
namespace {

TEST(ThreadName, AThreadTakesItsNameAndALongOneIsCutTo15Bytes) {
  std::string short_name, long_name;
  std::thread t([&] {
    name_this_thread(hashing_thread_name);
    short_name = this_thread_name();
    name_this_thread("a-name-of-twenty-bytes");  // the kernel would refuse it whole
    long_name = this_thread_name();
  });
  t.join();
  EXPECT_EQ(short_name, "node-hash");
  EXPECT_EQ(long_name, "a-name-of-twent");
}

TEST(ThreadName, TheRelaysThreadNamesFitTheKernelsLimit) {
  for (auto n : {hashing_thread_name, database_thread_name, console_thread_name}) {
    EXPECT_LE(n.size(), 15u) << n;
  }
}

}  // namespace
}  // namespace relay::util
