// Job control: who has the terminal's foreground.
#include "relay/util/foreground.hpp"

#include <unistd.h>

namespace relay::util {

bool terminal_taken_by_another_job(int fd) noexcept {
  const pid_t foreground = ::tcgetpgrp(fd);  // -1 unless fd is our controlling terminal
  return foreground > 0 && foreground != ::getpgrp();
}

}  // namespace relay::util
