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

/// "\u202e", or "\U000e0001" past U+FFFF.
void code_point_escape(std::string& out, char32_t cp) {
  static constexpr char digits[] = "0123456789abcdef";
  const int top = cp > 0xffff ? 28 : 12;
  out += cp > 0xffff ? "\\U" : "\\u";
  for (int shift = top; shift >= 0; shift -= 4) out.push_back(digits[(cp >> shift) & 15]);
}

bool is_tag(char32_t cp) { return cp >= 0xe0000 && cp <= 0xe007f; }

/// Bidi controls would reorder what follows on a bidi terminal; line and paragraph
/// separators break lines on some; invisible ones make two texts that differ look the same.
bool shown_as_notation(char32_t cp) {
  return term::is_bidi_control(cp) || cp == 0x2028 || cp == 0x2029 || util::is_invisible(cp);
}

/// Combining marks shown on one character (see printable).
constexpr std::size_t most_marks = 8;

/// The length of an emoji tag sequence at `i` (a black flag, tags U+E0020..U+E007E, then
/// the cancel tag U+E007F: the flags of England, Scotland, Wales), or 0 if there is none.
std::size_t flag_tag_sequence(std::string_view s, std::size_t i) {
  auto [cp, n] = util::utf8_at(s, i);
  if (n == 0 || cp != 0x1f3f4) return 0;
  std::size_t j = i + n;
  for (int tags = 0; tags < 32; ++tags) {
    const auto [t, m] = util::utf8_at(s, j);
    if (m == 0 || !is_tag(t)) return 0;
    j += m;
    if (t == 0xe007f) return tags > 0 ? j - i : 0;
    if (t < 0xe0020) return 0;
  }
  return 0;
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  // Combining marks on one character: no script needs more than a few, while a stack of
  // dozens ("Zalgo") is drawn over the rows above and below, over a warning, say. Past
  // most_marks, they are counted, and the count is shown once the character ends.
  std::size_t marks = 0, hidden = 0;
  const auto end_of_character = [&] {
    if (hidden > 0) out += "[+" + std::to_string(hidden) + (hidden == 1 ? " mark]" : " marks]");
    marks = hidden = 0;
  };
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (const auto [cp, n] = util::utf8_at(s, i);
        n > 0 && term::joins_previous(cp) && !shown_as_notation(cp)) {
      if (++marks > most_marks) {
        ++hidden;
      } else {
        out.append(s.substr(i, n));
      }
      i += n;
      continue;
    }
    end_of_character();
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
    } else if (const std::size_t flag = flag_tag_sequence(s, i); flag > 0) {
      out.append(s.substr(i, flag));  // a flag's tags are its name, shown as the flag
      i += flag;
    } else if (const auto [cp, n] = util::utf8_at(s, i); n > 0 && !util::is_c1_control(cp)) {
      // C1 controls (8-bit CSI and friends) are shown as bytes, below.
      if (shown_as_notation(cp)) {
        code_point_escape(out, cp);
      } else {
        out.append(s.substr(i, n));
      }
      i += n;
    } else {
      hex_escape(out, c);
      ++i;
    }
  }
  end_of_character();
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
