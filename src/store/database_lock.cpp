// An exclusive lock on the relay's database file.
#include "relay/store/database_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace relay::store {

database_lock::database_lock(const std::string& path) {
  if (path.empty() || path.starts_with(':') || path.starts_with("file:")) return;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open database '" + path + "': " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      // A relay just stopped may still be closing its connections (up to 2 s): say so,
      // or a quick restart reads as two relays on one file (review 12).
      throw std::runtime_error("database '" + path +
                               "' is in use by another relay (one relay per database; a relay "
                               "that was just stopped may take a few seconds to finish)");
    }
    throw std::runtime_error("cannot lock database '" + path + "': " + std::strerror(err));
  }
}

database_lock::~database_lock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace relay::store
