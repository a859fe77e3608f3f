// The load tool's message payload: who sent it to whom, its place in that sender->receiver
// stream, when it left (steady clock), and filler derived from those fields, so a receiver
// can tell a delivered message from a lost, duplicated, reordered or corrupted one.
// The relay forwards `send` ciphertext unread, so the tool sends this instead of an envelope.
//
// binary (relaychat `send` ciphertext), all big-endian:
//   +----------+------------+---------+-------------+------+-------+==============+
//   | sender 4 | receiver 4 | seq 8   | sent_ns 8   | part | parts | filler ...   |
//   +----------+------------+---------+-------------+------+-------+==============+
// text (IRC PRIVMSG): the same fields as fixed-width lowercase hex (52 characters), then filler
// characters from [A-Za-z0-9_-].
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "relay/util/bytes.hpp"

namespace relay::bench {

/// What a payload says about itself.
struct payload_fields {
  std::uint32_t sender = 0;
  std::uint32_t receiver = 0;
  std::uint64_t seq = 0;      ///< per sender->receiver stream, from 0
  std::uint64_t sent_ns = 0;  ///< steady_clock nanoseconds at send
  std::uint8_t part = 0;      ///< IRC splits a message over lines; 0 of 1 otherwise
  std::uint8_t parts = 1;
  bool operator==(const payload_fields&) const = default;
};

inline constexpr std::size_t binary_header = 26;
inline constexpr std::size_t text_header = 52;

/// Writes the payload into all of `out` (out.size() >= binary_header).
void write_binary(const payload_fields& f, std::span<byte> out) noexcept;
/// The fields, or nullopt when the header is inconsistent or the filler does not match.
std::optional<payload_fields> read_binary(byte_view in) noexcept;

/// Writes the text payload into all of `out` (out.size() >= text_header).
void write_text(const payload_fields& f, std::span<char> out) noexcept;
/// The fields, or nullopt when malformed or the filler does not match.
std::optional<payload_fields> read_text(std::string_view in) noexcept;

}  // namespace relay::bench
