// Typed decode errors of the protocol layer (std::error_code category "proto").
#pragma once

#include <system_error>

namespace relay::proto {

/// Why bytes from the network were rejected. Any of these closes the connection.
enum class errc {
  empty_record = 1,  ///< a record of length 0
  record_too_large,  ///< record length above the reader's limit
  empty_frame,       ///< a frame with no type byte
  unknown_type,      ///< type byte we do not know (or not allowed in this direction)
  truncated,         ///< a field runs past the end of the frame
  trailing_bytes,    ///< bytes left over after the last field
  field_too_long,    ///< a field over its documented limit
  bad_value,         ///< a field value out of its documented range
  empty_batch,       ///< a batch with no entries
  not_in_batch,      ///< a batch entry of a type that must travel alone (batch, padded, a
                     ///< frame carrying a password)
  bad_padding,       ///< a padded message whose length is wrong, nests, or pads with non-zero bytes
};

const std::error_category& category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

}  // namespace relay::proto

template <>
struct std::is_error_code_enum<relay::proto::errc> : std::true_type {};
