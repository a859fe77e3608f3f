#include "relay/util/fd_limit.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace relay::util {
namespace {

/// Restores the limits the test found, whatever it changed.
class FdLimit : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved_), 0); }
  void TearDown() override { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  rlimit saved_{};
};

TEST_F(FdLimit, TheSoftLimitIsRaisedToWhatIsWantedWithinTheHardLimit) {
  if (saved_.rlim_max != RLIM_INFINITY && saved_.rlim_max < 200)
    GTEST_SKIP() << "hard limit too low";
  rlimit low{100, saved_.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  EXPECT_EQ(raise_open_file_limit(150), 150u);
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, 150u);
  EXPECT_EQ(now.rlim_max, saved_.rlim_max) << "the hard limit is left as it was";
  // Never lowered: wanting less than there is keeps what there is.
  EXPECT_EQ(raise_open_file_limit(120), 150u);
}

TEST_F(FdLimit, AHardLimitBelowWhatIsWantedIsAllThereIs) {
  if (saved_.rlim_max != RLIM_INFINITY && saved_.rlim_max < 200)
    GTEST_SKIP() << "hard limit too low";
  // Lowering the hard limit is for good in this process: done in a child.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    rlimit low{100, 180};
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0) ::_exit(2);
    ::_exit(raise_open_file_limit(5000) == 180 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the soft limit did not stop at the hard one";
}

}  // namespace
}  // namespace relay::util
