#include "relay/term/text_width.hpp"

#include <locale.h>
#include <wchar.h>

namespace relay::term {
namespace {

/// glibc's C.UTF-8 (always there on Debian 12) knows every code point's width; the user's
/// own locale may be "C", where wcwidth knows only ASCII. Made once, never freed.
locale_t utf8_locale() noexcept {
  static const locale_t loc = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  return loc;
}

}  // namespace

char32_t decode_utf8(std::string_view s, std::size_t i, std::size_t n) noexcept {
  const auto b = [&](std::size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]));
  };
  switch (n) {
    case 1:
      return b(0);
    case 2:
      return (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
    case 3:
      return (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
    default:
      return (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
  }
}

int columns(char32_t cp) noexcept {
  if (cp < 0x7F) return 1;  // ASCII: no locale switch on the common path
  const locale_t loc = utf8_locale();
  if (loc == locale_t{}) return 1;
  // uselocale switches this thread only: nothing else in the process sees it.
  const locale_t before = ::uselocale(loc);
  const int w = ::wcwidth(static_cast<wchar_t>(cp));
  ::uselocale(before);
  return w < 0 ? 1 : w;
}

bool joins_previous(char32_t cp) noexcept {
  return cp >= 0x300 && !is_bidi_control(cp) && columns(cp) == 0;
}

bool is_bidi_control(char32_t cp) noexcept {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

std::size_t escape_length(std::string_view s, std::size_t i) noexcept {
  std::size_t j = i + 1;
  if (j < s.size() && s[j] == '[') {
    ++j;
    while (j < s.size() && !(s[j] >= 0x40 && s[j] <= 0x7e)) ++j;
    if (j < s.size()) ++j;  // the final byte
  }
  return j - i;
}

}  // namespace relay::term
