#include "relay/util/foreground.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "relay/util/line_reader.hpp"
#include "support/child_wait.hpp"

namespace relay {
namespace {

using namespace std::chrono_literals;

// From a black-box review: a relay that a shell had put in the background (after an outside
// SIGSTOP and SIGCONT) was stopped by the kernel (SIGTTIN) at the next key pressed in its
// terminal, and served no one until `fg`. Reading now waits for the foreground.
//
// A session of its own on a new pty: its leader holds the foreground while a second process
// group, the reader, waits in the background with a line already typed; then the leader
// hands it the foreground, and the line is read.
TEST(Foreground, ATerminalIsReadOnlyWhenThisProcessHasItsForeground) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const std::string slave_name = ::ptsname(master);
  const pid_t leader = ::fork();
  ASSERT_GE(leader, 0);
  if (leader == 0) {
    ::setsid();
    const int tty = ::open(slave_name.c_str(), O_RDWR);  // our controlling terminal now
    if (tty < 0 || ::ioctl(tty, TIOCSCTTY, 0) != 0) ::_exit(10);
    if (util::terminal_taken_by_another_job(tty)) ::_exit(11);  // the leader has it
    const pid_t reader = ::fork();
    if (reader == 0) {
      ::setpgid(0, 0);  // a job of its own, in the background
      if (!util::terminal_taken_by_another_job(tty)) ::_exit(12);
      line_reader lines(tty);
      const auto line = lines.next();
      ::_exit(line && *line == "typed in the background" ? 0 : 13);
    }
    ::setpgid(reader, reader);
    // The line is typed while the reader is in the background: without the check it reads
    // at once and is stopped (SIGTTIN), which waitpid reports.
    if (const auto early = test::wait_status(reader, 600ms, WUNTRACED)) {
      ::kill(reader, SIGKILL);
      ::_exit(WIFSTOPPED(*early) ? 14 : 15);
    }
    if (::tcsetpgrp(tty, reader) != 0) ::_exit(16);  // `fg`: now it reads the line
    ::_exit(test::exited_cleanly(test::wait_or_kill(reader, 5000ms)) ? 0 : 17);
  }
  std::this_thread::sleep_for(100ms);
  const std::string typed = "typed in the background\n";
  ASSERT_EQ(::write(master, typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
  const auto status = test::wait_or_kill(leader, 10000ms);
  ::close(master);
  ASSERT_TRUE(status && WIFEXITED(*status)) << "the session did not end";
  // 14: the reader was stopped by SIGTTIN; 15: it read in the background.
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

// Anything that is not our controlling terminal is never "taken": a pipe is read at once.
TEST(Foreground, APipeIsNeverTakenByAnotherJob) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(util::terminal_taken_by_another_job(fds[0]));
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace relay
