// Neutralises terminal control sequences in network-supplied text.
#include "relay/client/display.hpp"

#include <algorithm>

#include "relay/term/text_width.hpp"
#include "relay/util/utf8.hpp"

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
    } else if (const auto [cp, n] = util::utf8_at(s, i); n > 0 && !util::is_c1_control(cp)) {
      // Bidi controls would reorder what follows on a bidi terminal; line and paragraph
      // separators break lines on some; the invisible ones (zero-width space, word joiner,
      // BOM) make two texts that differ look the same. ZWJ and ZWNJ stay: emoji and scripts
      // need them. C1 controls (8-bit CSI and friends) are shown as bytes, below.
      if (term::is_bidi_control(cp) || cp == 0x2028 || cp == 0x2029 || cp == 0x200b ||
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
    const std::size_t n = std::max<std::size_t>(util::utf8_at(first, end).length, 1);
    if (end + n > most) break;
    end += n;
  }
  const bool cut = end < text.size();
  return "\"" + printable(first.substr(0, end)) + (cut ? "...\"" : "\"");
}

}  // namespace relay::client
