// Writing a whole buffer to a blocking file descriptor.
#pragma once

#include <string_view>
#include <system_error>

namespace relay::util {

/// Writes all of `bytes` to the blocking descriptor `fd`, retrying short writes and EINTR.
/// On any other failure it stops and returns the error (EIO if write() returned 0); what was
/// written before stays written.
std::error_code write_all(int fd, std::string_view bytes) noexcept;

}  // namespace relay::util
