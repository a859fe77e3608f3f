// The open-file limit, raised toward what the relay needs.
#include "relay/util/fd_limit.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace relay::util {

std::uint64_t raise_open_file_limit(std::uint64_t wanted) noexcept {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
    rlimit raised = lim;
    raised.rlim_cur =
        lim.rlim_max == RLIM_INFINITY || lim.rlim_max > wanted ? wanted : lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : lim.rlim_cur;
}

spare_descriptor::~spare_descriptor() {
  if (fd_ >= 0) ::close(fd_);
}

void spare_descriptor::take() noexcept {
  if (fd_ < 0) fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

spare_descriptor::outcome spare_descriptor::close_one_pending(int listening) noexcept {
  take();  // one lost to a race last time
  if (fd_ < 0) return outcome::no_spare;
  ::close(fd_);
  fd_ = -1;
  const int conn = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  const int error = errno;
  if (conn >= 0) ::close(conn);
  take();
  if (conn >= 0) return outcome::closed;
  return error == EAGAIN || error == EWOULDBLOCK ? outcome::none_pending : outcome::no_spare;
}

}  // namespace relay::util
