// poll()-based line reader.
#include "relay/util/line_reader.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "relay/util/foreground.hpp"

namespace relay {

std::optional<std::string> line_reader::next(const std::atomic<bool>* stop) {
  cut_ = false;
  while (true) {
    if (skipping_) {
      const auto nl = pending_.find('\n');
      pending_.erase(0, nl == std::string::npos ? std::string::npos : nl + 1);
      skipping_ = nl == std::string::npos;
    }
    if (!skipping_) {
      const auto nl = pending_.find('\n');
      if (nl != std::string::npos || (eof_ && !pending_.empty())) {
        // A line that ends here, or the last one at EOF (cut if it is over the limit).
        const std::size_t end = nl != std::string::npos ? nl : pending_.size();
        std::string line = pending_.substr(0, std::min(end, max_line_));
        cut_ = end > max_line_;
        pending_.erase(0, nl != std::string::npos ? nl + 1 : end);
        if (!cut_ && !line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (pending_.size() > max_line_) {
        // Longer than allowed and not over yet: hand out its head, drop the rest as it comes.
        std::string line = pending_.substr(0, max_line_);
        pending_.clear();
        cut_ = true;
        skipping_ = true;
        return line;
      }
    }
    if (eof_) return std::nullopt;
    if (stop && stop->load()) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, stop ? 200 : -1);
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (r <= 0) continue;
    // In the background of our terminal, reading would stop the whole process: the input
    // waits until we are in the foreground again.
    if (util::terminal_taken_by_another_job(fd_)) {
      ::poll(nullptr, 0, 200);
      continue;
    }
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
