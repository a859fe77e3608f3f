// node: the relaychat relay (`node -s`) or terminal client (`node`).
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "relay/cli/options.hpp"

int main(int argc, char** argv) {
  // Key material and passwords must not end up in core files.
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error code, not a process kill
  // Started with stdin, stdout or stderr closed (`<&-`), the next file opened would take that
  // number: a socket or the database would get the console's input or the log's lines. Each
  // closed one is /dev/null instead (the console then sees end of input and says so).
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      const int null = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (null != fd && null >= 0) ::close(null);  // cannot happen: the lowest free number
    }
  }
  // Last resort: an error nothing closer caught ends the run with its message, after the
  // stack unwinds (a terminal in raw mode is given back), not with std::terminate's abort.
  try {
    return relay::cli::run(std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
