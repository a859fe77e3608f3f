// Fuzzes the client's prompt parser and client::printable, which must leave nothing a
// terminal would act on: no C0 control but tab, no DEL, no C1 control, only valid UTF-8; and
// term::wrap of what printable leaves, as the client wraps a peer's message on screen.
#include "relay/client/input.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "fuzz_support.hpp"
#include "relay/client/display.hpp"
#include "relay/proto/names.hpp"
#include "relay/term/text_width.hpp"
#include "relay/term/wrap.hpp"

using namespace relay;
using fuzz::check;

namespace {

void check_input(const client::input& parsed) {
  std::visit(
      [](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, client::send_line>) {
          // Indentation is the message's own (one separator space is dropped), but a message
          // of blanks alone is refused.
          check(proto::valid_name(v.to) && !v.text.empty());
          check(v.text.find_first_not_of(" \t\r\n") != std::string::npos);
        } else if constexpr (std::is_same_v<T, client::accept_line> ||
                             std::is_same_v<T, client::verify_line>) {
          check(proto::valid_name(v.name));
        } else if constexpr (std::is_same_v<T, client::input_error>) {
          check(!v.message.empty());
        }
      },
      parsed);
}

void check_printable(const std::string& out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    check((c >= 0x20 || c == '\t') && c != 0x7f);
    // U+0080..U+009F are 0xc2 0x80..0x9f in UTF-8.
    if (c == 0xc2 && i + 1 < out.size()) {
      const auto next = static_cast<unsigned char>(out[i + 1]);
      check(next < 0x80 || next > 0x9f);
    }
  }
}

/// Columns of one row of wrap()'s output (valid UTF-8 without controls but tab), counted as
/// wrap counts them: tabs to the next multiple of 8.
std::size_t row_columns(std::string_view row) {
  std::size_t cols = 0;
  for (std::size_t i = 0; i < row.size();) {
    const auto c = static_cast<unsigned char>(row[i]);
    const std::size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (c == '\t') {
      cols = (cols / 8 + 1) * 8;
    } else {
      const char32_t cp = term::decode_utf8(row, i, n);
      if (!term::joins_previous(cp)) cols += static_cast<std::size_t>(term::columns(cp));
    }
    i += n;
  }
  return cols;
}

/// The characters of `s` other than spaces, tabs and line breaks, in order.
std::string words_of(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c != ' ' && c != '\t' && c != '\n') out.push_back(c);
  }
  return out;
}

void check_wrap(const std::string& shown, std::size_t width, std::size_t hang) {
  const std::string rows = term::wrap(shown, width, hang);
  check(words_of(rows) == words_of(shown));  // nothing lost, added or reordered
  std::string_view rest = rows;
  while (true) {
    const auto nl = rest.find('\n');
    // Never wider than the row, but for one character wider than the whole row.
    check(row_columns(rest.substr(0, nl)) <= (width < 2 ? 2 : width));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  check(term::wrap(shown, 0, hang) == shown);  // an unknown width changes nothing
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line = as_chars(byte_view(data, size));
  check_input(client::parse_input(line));

  const std::string shown = client::printable(line);
  check_printable(shown);
  // Its output is printable ASCII and valid, control-free UTF-8: printing it again is a no-op.
  check(client::printable(shown) == shown);
  check(!client::input_help(true).empty() && !client::input_help(false).empty());
  if (size >= 2) check_wrap(shown, 1 + data[0] % 120, data[1] % 48);
  return 0;
}
