// User-name rules shared by relay and client: 1..32 characters from [a-z0-9_.-], starting
// with a letter or digit. Lowercase only, so "Bob" and "bob" cannot be two people.
#pragma once

#include <string>
#include <string_view>

namespace relay::proto {

inline constexpr std::size_t max_name = 32;

/// True if `name` follows the rules above.
bool valid_name(std::string_view name) noexcept;
/// The rules, for error messages.
inline constexpr std::string_view name_rules =
    "1-32 characters: lowercase letters, digits, '_', '.', '-', starting with a letter or digit";

/// What `name` looks like on screen: names with the same key are easily mistaken for each
/// other ("b0b" and "bob", "rnallory" and "mallory", "bob_smith" and "bob.smith"), so the
/// relay makes no account whose key another account has. `0` reads as `o`, `1` as `l`, `_`
/// and `-` as `.`, then `rn` as `m` and `vv` as `w`.
std::string lookalike_key(std::string_view name);

/// Password rules for new accounts: 8..255 bytes.
inline constexpr std::size_t min_password = 8;
bool acceptable_password(std::string_view pw) noexcept;

}  // namespace relay::proto
