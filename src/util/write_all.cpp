// write_all: the retry loop every writer of a log or file line needs.
#include "relay/util/write_all.hpp"

#include <unistd.h>

#include <cerrno>

namespace relay::util {

std::error_code write_all(int fd, std::string_view bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {n < 0 ? errno : EIO, std::generic_category()};
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace relay::util
