// Safety numbers: what two users read to each other to check they hold each other's real key.
#pragma once

#include <string>
#include <string_view>

#include "relay/crypto/keys.hpp"

namespace relay::crypto {

/// Signal-style safety number for two users: 60 decimal digits in 12 groups of 5 separated by
/// spaces, order-independent (same result whichever side computes it). Each side's 30 digits
/// come from 5200 iterations of BLAKE2b-512 (first over u16 version=0 || key || name, then over
/// previous digest || key); the lexicographically smaller side's digits come first.
std::string safety_number(std::string_view name_a, const public_key& key_a, std::string_view name_b,
                          const public_key& key_b);

}  // namespace relay::crypto
