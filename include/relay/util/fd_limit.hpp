// The open-file limit: every connection is a descriptor, and Debian's default soft limit
// (1024) is far below the relay's --max-connections.
#pragma once

#include <cstdint>

namespace relay::util {

/// Raises this process's soft limit on open files toward `wanted`, as far as the hard limit
/// allows (never lowers it), and returns the soft limit in force afterwards.
std::uint64_t raise_open_file_limit(std::uint64_t wanted) noexcept;

/// One descriptor kept in reserve (on /dev/null). Out of descriptors, accept() fails and
/// leaves the connection in the listen queue, where its client waits unanswered until it
/// gives up; with the spare let go for a moment, the connection is accepted and closed at
/// once instead (the client sees the close and can say so).
class spare_descriptor {
 public:
  spare_descriptor() noexcept { take(); }
  ~spare_descriptor();
  spare_descriptor(const spare_descriptor&) = delete;
  spare_descriptor& operator=(const spare_descriptor&) = delete;
  /// Lets go of the spare, accepts one pending connection on the listening socket
  /// `listening` (non-blocking) and closes it, then takes the spare again (if that fails,
  /// the next call tries first). Out of descriptors, accept() fails whether or not a
  /// connection waits (Linux takes the descriptor first): `none_pending` tells the two apart.
  enum class outcome { closed, none_pending, no_spare };
  outcome close_one_pending(int listening) noexcept;

 private:
  void take() noexcept;
  int fd_ = -1;
};

}  // namespace relay::util
