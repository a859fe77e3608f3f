// Byte-buffer vocabulary shared by every layer, plus hex helpers for logs, keys and tests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace relay {

using byte = std::uint8_t;
using bytes = std::vector<byte>;
using byte_view = std::span<const byte>;

/// Views a string's characters as bytes (no copy).
inline byte_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const byte*>(s.data()), s.size()};
}
/// Views bytes as characters (no copy).
inline std::string_view as_chars(byte_view b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// Lowercase hex of the bytes.
std::string to_hex(byte_view b);
/// Parses hex (either case; spaces and colons ignored); nullopt on any other character or odd
/// length.
std::optional<bytes> from_hex(std::string_view s);

}  // namespace relay
