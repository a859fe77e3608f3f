// The open-file limit: every connection is a descriptor, and Debian's default soft limit
// (1024) is far below the relay's --max-connections.
#pragma once

#include <cstdint>

namespace relay::util {

/// Raises this process's soft limit on open files toward `wanted`, as far as the hard limit
/// allows (never lowers it), and returns the soft limit in force afterwards.
std::uint64_t raise_open_file_limit(std::uint64_t wanted) noexcept;

}  // namespace relay::util
