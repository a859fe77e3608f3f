// Makes text from the network safe to print: control characters and escape sequences
// become visible, inert notation, so a peer cannot move the cursor or rewrite the screen.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace relay::client {

/// C0 controls (except tab), DEL, C1 controls (U+0080..U+009F) and invalid UTF-8 bytes are
/// replaced: ESC -> "^[", other C0 -> "^X" caret notation, the rest -> "\xNN"; bidi
/// embedding, override and isolate controls (text_width.hpp), line and paragraph separators
/// and invisible characters that no language needs (zero-width space, soft hyphen, tag
/// characters outside a flag, ...) -> "\u202e" or "\U000e0041".
std::string printable(std::string_view s);

/// A message named in a notice ("not sent to bob: ..."): its first line, quoted and
/// printable, cut after at most `most` bytes at a character boundary, with "..." when
/// anything was left out.
std::string excerpt(std::string_view text, std::size_t most = 50);

}  // namespace relay::client
