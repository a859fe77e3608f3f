// write_all: everything arrives, in order, even past a pipe's capacity; errors come back.
#include "relay/util/write_all.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <thread>

namespace relay::util {
namespace {

TEST(WriteAll, WritesEverythingPastAPipesCapacityInOrder) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  std::string sent;
  for (int i = 0; i < 50000; ++i) sent += std::to_string(i) + '\n';  // ~290 KB, > 64 KiB
  std::string got;
  std::thread reader([&] {
    char buf[4096];
    ssize_t k;
    while ((k = ::read(p[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(k));
  });
  EXPECT_FALSE(write_all(p[1], sent));
  ::close(p[1]);
  reader.join();
  ::close(p[0]);
  EXPECT_EQ(got, sent);
}

TEST(WriteAll, AClosedReaderIsAnErrorNotACrash) {
  const auto old = std::signal(SIGPIPE, SIG_IGN);  // as the relay runs
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::close(p[0]);
  EXPECT_EQ(write_all(p[1], "line\n"), std::error_code(EPIPE, std::generic_category()));
  ::close(p[1]);
  std::signal(SIGPIPE, old);
}

TEST(WriteAll, ABadDescriptorIsAnError) {
  EXPECT_EQ(write_all(-1, "x"), std::error_code(EBADF, std::generic_category()));
}

}  // namespace
}  // namespace relay::util
