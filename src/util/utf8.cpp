#include "relay/util/utf8.hpp"

namespace relay::util {

utf8_char utf8_at(std::string_view s, std::size_t i) noexcept {
  const auto lead = static_cast<unsigned char>(s[i]);
  if (lead < 0x80) return {lead, 1};
  const std::size_t n = lead >= 0xf8   ? 0
                        : lead >= 0xf0 ? 4
                        : lead >= 0xe0 ? 3
                        : lead >= 0xc0 ? 2
                                       : 0;
  if (n == 0 || n > s.size() - i) return {};
  char32_t cp = lead & (0x7fu >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xc0) != 0x80) return {};
    cp = cp << 6 | (c & 0x3fu);
  }
  static constexpr char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < smallest[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return {};
  return {cp, n};
}

}  // namespace relay::util
