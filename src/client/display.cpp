// Neutralises terminal control sequences in network-supplied text.
#include "relay/client/display.hpp"

#include <algorithm>

#include "relay/term/text_width.hpp"

namespace relay::client {
namespace {

void hex_escape(std::string& out, unsigned char c) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\x";
  out.push_back(digits[c >> 4]);
  out.push_back(digits[c & 15]);
}

void bidi_escape(std::string& out, char32_t cp) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(digits[(cp >> shift) & 15]);
}

/// Length of a valid UTF-8 sequence starting at s[i] (1..4), or 0 if invalid.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned cp = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xe0) == 0xc0)
    n = 2, cp = b0 & 0x1f;
  else if ((b0 & 0xf0) == 0xe0)
    n = 3, cp = b0 & 0x0f;
  else if ((b0 & 0xf8) == 0xf0)
    n = 4, cp = b0 & 0x07;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b & 0x3f);
  }
  // Overlong forms, surrogates and out-of-range code points are invalid.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  if (cp >= 0x80 && cp <= 0x9f) return 0;  // C1 controls (8-bit CSI and friends)
  return n;
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\t') {
      out.push_back('\t');
      ++i;
    } else if (c == 0x1b) {
      out += "^[";
      ++i;
    } else if (c < 0x20) {
      out.push_back('^');
      out.push_back(static_cast<char>(c + 0x40));
      ++i;
    } else if (c == 0x7f) {
      out += "^?";
      ++i;
    } else if (std::size_t n = utf8_length(s, i); n > 0) {
      // Bidi controls would reorder what follows on a bidi terminal; line and paragraph
      // separators break lines on some; the invisible ones (zero-width space, word joiner,
      // BOM) make two texts that differ look the same. ZWJ and ZWNJ stay: emoji and scripts
      // need them.
      if (const char32_t cp = term::decode_utf8(s, i, n);
          term::is_bidi_control(cp) || cp == 0x2028 || cp == 0x2029 || cp == 0x200b ||
          cp == 0x2060 || cp == 0xfeff) {
        bidi_escape(out, cp);
      } else {
        out.append(s.substr(i, n));
      }
      i += n;
    } else {
      hex_escape(out, c);
      ++i;
    }
  }
  return out;
}

std::string excerpt(std::string_view text, std::size_t most) {
  const std::string_view first = text.substr(0, text.find('\n'));
  std::size_t end = 0;  // whole characters only; an invalid byte counts as one
  while (end < first.size()) {
    const std::size_t n = std::max<std::size_t>(utf8_length(first, end), 1);
    if (end + n > most) break;
    end += n;
  }
  const bool cut = end < text.size();
  return "\"" + printable(first.substr(0, end)) + (cut ? "...\"" : "\"");
}

}  // namespace relay::client
