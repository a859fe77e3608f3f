#include "relay/bench/mqtt.hpp"

#include <cstring>

namespace relay::bench::mqtt {
namespace {

std::size_t length_bytes(std::size_t n) noexcept {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}
void put_length(bytes& out, std::size_t n) {
  do {
    byte b = static_cast<byte>(n & 0x7f);
    n >>= 7;
    if (n) b |= 0x80;
    out.push_back(b);
  } while (n);
}
void put_u16(bytes& out, std::size_t v) {
  out.push_back(static_cast<byte>(v >> 8));
  out.push_back(static_cast<byte>(v));
}
void put_string(bytes& out, std::string_view s) {
  put_u16(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}
std::uint16_t u16(byte_view b, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((std::uint16_t{b[at]} << 8) | b[at + 1]);
}

}  // namespace

void write_connect(bytes& out, std::string_view client_id, std::uint16_t keepalive_s) {
  out.push_back(connect);
  put_length(out, 10 + 2 + client_id.size());
  put_string(out, "MQTT");
  out.push_back(4);     // protocol level: 3.1.1
  out.push_back(0x02);  // clean session
  put_u16(out, keepalive_s);
  put_string(out, client_id);
}

void write_subscribe(bytes& out, std::uint16_t packet_id, std::string_view topic) {
  out.push_back(subscribe);
  put_length(out, 2 + 2 + topic.size() + 1);
  put_u16(out, packet_id);
  put_string(out, topic);
  out.push_back(0);  // QoS 0
}

std::size_t publish_size(std::size_t topic_len, std::size_t len) noexcept {
  const std::size_t remaining = 2 + topic_len + len;
  return 1 + length_bytes(remaining) + remaining;
}

std::span<byte> write_publish(bytes& out, std::string_view topic, std::size_t len) {
  out.push_back(publish);  // QoS 0, no DUP, no RETAIN: no packet identifier
  put_length(out, 2 + topic.size() + len);
  put_string(out, topic);
  const std::size_t at = out.size();
  out.resize(at + len);
  return std::span<byte>(out.data() + at, len);
}

cut_result next_packet(byte_view in, std::size_t max_len) noexcept {
  std::size_t len = 0;
  for (std::size_t i = 1; i <= 4; ++i) {
    if (in.size() <= i) return {};
    len |= std::size_t{static_cast<byte>(in[i] & 0x7f)} << (7 * (i - 1));
    if (!(in[i] & 0x80)) {
      if (len > max_len) return {std::nullopt, true};
      if (in.size() - (i + 1) < len) return {};
      return {packet{in[0], in.subspan(i + 1, len), i + 1 + len}, false};
    }
  }
  return {std::nullopt, true};  // a fifth length byte
}

std::optional<publish_view> parse_publish(const packet& p) noexcept {
  if (p.type != publish || p.body.size() < 2) return std::nullopt;
  const std::size_t tl = u16(p.body, 0);
  if (p.body.size() - 2 < tl) return std::nullopt;
  return publish_view{std::string_view(reinterpret_cast<const char*>(p.body.data()) + 2, tl),
                      p.body.subspan(2 + tl)};
}

std::optional<byte> connack_code(const packet& p) noexcept {
  if (p.type != connack || p.body.size() != 2) return std::nullopt;
  return p.body[1];
}

std::optional<byte> suback_code(const packet& p, std::uint16_t packet_id) noexcept {
  if (p.type != suback || p.body.size() != 3 || u16(p.body, 0) != packet_id) return std::nullopt;
  return p.body[2];
}

}  // namespace relay::bench::mqtt
