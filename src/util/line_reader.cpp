// poll()-based line reader.
#include "relay/util/line_reader.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace relay {

std::optional<std::string> line_reader::next(const std::atomic<bool>* stop) {
  while (true) {
    const auto nl = pending_.find('\n');
    if (nl != std::string::npos || pending_.size() >= max_line_ || (eof_ && !pending_.empty())) {
      const std::size_t cut = nl != std::string::npos ? nl : std::min(pending_.size(), max_line_);
      std::string line = pending_.substr(0, cut);
      pending_.erase(0, nl != std::string::npos ? cut + 1 : cut);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (eof_) return std::nullopt;
    if (stop && stop->load()) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, stop ? 200 : -1);
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (r <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      eof_ = true;
      continue;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace relay
