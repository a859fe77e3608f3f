// Fuzzes the client's prompt parser and client::printable, which must leave nothing a
// terminal would act on: no C0 control but tab, no DEL, no C1 control, only valid UTF-8.
#include "relay/client/input.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "fuzz_support.hpp"
#include "relay/client/display.hpp"
#include "relay/proto/names.hpp"

using namespace relay;
using fuzz::check;

namespace {

void check_input(const client::input& parsed) {
  std::visit(
      [](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, client::send_line>) {
          check(proto::valid_name(v.to) && !v.text.empty());
          check(v.text.front() != ' ' && v.text.front() != '\t');
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line = as_chars(byte_view(data, size));
  check_input(client::parse_input(line));

  const std::string shown = client::printable(line);
  check_printable(shown);
  // Its output is printable ASCII and valid, control-free UTF-8: printing it again is a no-op.
  check(client::printable(shown) == shown);
  check(!client::input_help().empty());
  return 0;
}
