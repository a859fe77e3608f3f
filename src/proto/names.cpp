// User-name and password rules.
#include "relay/proto/names.hpp"

#include "relay/proto/frames.hpp"

namespace relay::proto {

bool valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_name) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  for (char c : name) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

std::string lookalike_key(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    const char looks = c == '0' ? 'o' : c == '1' ? 'l' : (c == '_' || c == '-') ? '.' : c;
    // A run of separators reads as one ("bob__smith", "bob._smith").
    if (looks == '.' && !out.empty() && out.back() == '.') continue;
    // Pairs that read as one letter, once the single characters are mapped: "rn" is "m",
    // "vv" is "w", "cl" is "d" (review 14 signed up "clave" beside "dave").
    if (!out.empty()) {
      const char pair = out.back() == 'r' && looks == 'n'   ? 'm'
                        : out.back() == 'v' && looks == 'v' ? 'w'
                        : out.back() == 'c' && looks == 'l' ? 'd'
                                                            : '\0';
      if (pair != '\0') {
        out.back() = pair;
        continue;
      }
    }
    out += looks;
  }
  // A separator at the end is easy to miss on screen: "alice." reads as "alice".
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool acceptable_password(std::string_view pw) noexcept {
  return pw.size() >= min_password && pw.size() <= max_password;
}

}  // namespace relay::proto
