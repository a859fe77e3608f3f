// node: the relaychat relay (`node -s`) or terminal client (`node`).
#include <sys/prctl.h>
#include <sys/resource.h>

#include <csignal>
#include <string>
#include <vector>

#include "relay/cli/options.hpp"

int main(int argc, char** argv) {
  // Key material and passwords must not end up in core files.
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error code, not a process kill
  return relay::cli::run(std::vector<std::string>(argv, argv + argc));
}
