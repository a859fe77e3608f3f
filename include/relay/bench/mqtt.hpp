// Just enough MQTT 3.1.1 (OASIS standard, QoS 0 only) for the load tool to drive a broker such
// as mosquitto with the same workload as relaychat and the IRC servers: each client connects
// with a clean session, subscribes to the topic of its own name, and publishes each message to
// the topic named after its receiver. Packets are built into and parsed from caller buffers.
//
// Every packet: a type byte (type << 4 | flags), the remaining length as 1-4 bytes of 7 bits
// (least significant first, 0x80 = more), then that many bytes. Strings are u16 length + bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "relay/util/bytes.hpp"

namespace relay::bench::mqtt {

inline constexpr byte connect = 0x10, connack = 0x20, publish = 0x30, subscribe = 0x82,
                      suback = 0x90, pingreq = 0xC0, pingresp = 0xD0;
/// The largest remaining length four length bytes can say (268,435,455).
inline constexpr std::size_t max_remaining = (std::size_t{1} << 28) - 1;

/// Appends CONNECT: protocol "MQTT" level 4, clean session, no will, user or password,
/// `keepalive_s` seconds (a broker may refuse 0), client identifier `client_id`.
void write_connect(bytes& out, std::string_view client_id, std::uint16_t keepalive_s);
/// Appends SUBSCRIBE with one topic filter at QoS 0.
void write_subscribe(bytes& out, std::uint16_t packet_id, std::string_view topic);
/// Appends the header of a QoS 0 PUBLISH to `topic` with a payload of `len` bytes, grows
/// `out` by the payload and returns it for the caller to fill.
std::span<byte> write_publish(bytes& out, std::string_view topic, std::size_t len);
/// Bytes write_publish adds.
std::size_t publish_size(std::size_t topic_len, std::size_t len) noexcept;

/// One whole packet seen in a byte stream.
struct packet {
  byte type = 0;     ///< the first byte: type << 4 | flags
  byte_view body;    ///< the remaining length's bytes
  std::size_t size;  ///< the whole packet, header included
};
/// The first packet in `in`: a packet, nullopt when more bytes are needed, or an error when
/// the length field is malformed (a fifth length byte, or one past max_len).
struct cut_result {
  std::optional<packet> p;
  bool malformed = false;
};
cut_result next_packet(byte_view in, std::size_t max_len = max_remaining) noexcept;

/// A QoS 0 PUBLISH, in place.
struct publish_view {
  std::string_view topic;
  byte_view payload;
};
/// The topic and payload of a PUBLISH packet at QoS 0; nullopt if it is anything else or
/// malformed.
std::optional<publish_view> parse_publish(const packet& p) noexcept;
/// The return code of a CONNACK (0: accepted), nullopt if malformed.
std::optional<byte> connack_code(const packet& p) noexcept;
/// The granted QoS of a one-topic SUBACK for `packet_id` (0x80: refused), nullopt if malformed.
std::optional<byte> suback_code(const packet& p, std::uint16_t packet_id) noexcept;

}  // namespace relay::bench::mqtt
