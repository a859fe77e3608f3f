// Payload encoding for the load tool: fixed header, then filler from a seeded generator.
#include "relay/bench/payload.hpp"

#include <cstring>

namespace relay::bench {
namespace {

std::uint64_t splitmix(std::uint64_t& s) noexcept {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t seed_of(const payload_fields& f) noexcept {
  std::uint64_t s = (std::uint64_t{f.sender} << 32) ^ f.receiver;
  s ^= f.seq * 0x2545f4914f6cdd1dULL;
  s ^= std::uint64_t{f.part} << 56;
  return s;
}

// Filler bytes 8 at a time: cheap enough that the tool, not the generator, stays off the profile.
template <class F>
void for_filler(const payload_fields& f, std::size_t n, F&& each8) noexcept {
  std::uint64_t s = seed_of(f);
  for (std::size_t i = 0; i < n; i += 8) each8(i, splitmix(s));
}

void put_be(byte* p, std::uint64_t v, int n) noexcept {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<byte>(v);
    v >>= 8;
  }
}
std::uint64_t get_be(const byte* p, int n) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
constexpr char hexdig[] = "0123456789abcdef";

void put_hex(char* p, std::uint64_t v, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i) {
    p[i] = hexdig[v & 15];
    v >>= 4;
  }
}
bool get_hex(const char* p, int digits, std::uint64_t& v) noexcept {
  v = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = p[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return true;
}

bool consistent(const payload_fields& f) noexcept { return f.parts >= 1 && f.part < f.parts; }

}  // namespace

void write_binary(const payload_fields& f, std::span<byte> out) noexcept {
  byte* p = out.data();
  put_be(p, f.sender, 4);
  put_be(p + 4, f.receiver, 4);
  put_be(p + 8, f.seq, 8);
  put_be(p + 16, f.sent_ns, 8);
  p[24] = f.part;
  p[25] = f.parts;
  const std::size_t n = out.size() - binary_header;
  byte* fill = p + binary_header;
  for_filler(f, n, [&](std::size_t i, std::uint64_t r) {
    std::memcpy(fill + i, &r, n - i < 8 ? n - i : 8);
  });
}

std::optional<payload_fields> read_binary(byte_view in) noexcept {
  if (in.size() < binary_header) return std::nullopt;
  const byte* p = in.data();
  payload_fields f;
  f.sender = static_cast<std::uint32_t>(get_be(p, 4));
  f.receiver = static_cast<std::uint32_t>(get_be(p + 4, 4));
  f.seq = get_be(p + 8, 8);
  f.sent_ns = get_be(p + 16, 8);
  f.part = p[24];
  f.parts = p[25];
  if (!consistent(f)) return std::nullopt;
  const std::size_t n = in.size() - binary_header;
  const byte* fill = p + binary_header;
  bool ok = true;
  for_filler(f, n, [&](std::size_t i, std::uint64_t r) {
    ok = ok && std::memcmp(fill + i, &r, n - i < 8 ? n - i : 8) == 0;
  });
  if (!ok) return std::nullopt;
  return f;
}

void write_text(const payload_fields& f, std::span<char> out) noexcept {
  char* p = out.data();
  put_hex(p, f.sender, 8);
  put_hex(p + 8, f.receiver, 8);
  put_hex(p + 16, f.seq, 16);
  put_hex(p + 32, f.sent_ns, 16);
  put_hex(p + 48, f.part, 2);
  put_hex(p + 50, f.parts, 2);
  const std::size_t n = out.size() - text_header;
  char* fill = p + text_header;
  for_filler(f, n, [&](std::size_t i, std::uint64_t r) {
    for (std::size_t k = i; k < n && k < i + 8; ++k) {
      fill[k] = alphabet[r & 63];
      r >>= 8;
    }
  });
}

std::optional<payload_fields> read_text(std::string_view in) noexcept {
  if (in.size() < text_header) return std::nullopt;
  const char* p = in.data();
  std::uint64_t v[6];
  const int digits[6] = {8, 8, 16, 16, 2, 2};
  for (int i = 0, at = 0; i < 6; at += digits[i], ++i) {
    if (!get_hex(p + at, digits[i], v[i])) return std::nullopt;
  }
  payload_fields f{static_cast<std::uint32_t>(v[0]), static_cast<std::uint32_t>(v[1]), v[2], v[3],
                   static_cast<std::uint8_t>(v[4]),  static_cast<std::uint8_t>(v[5])};
  if (!consistent(f)) return std::nullopt;
  const std::size_t n = in.size() - text_header;
  const char* fill = p + text_header;
  bool ok = true;
  for_filler(f, n, [&](std::size_t i, std::uint64_t r) {
    for (std::size_t k = i; k < n && k < i + 8; ++k) {
      ok = ok && fill[k] == alphabet[r & 63];
      r >>= 8;
    }
  });
  if (!ok) return std::nullopt;
  return f;
}

}  // namespace relay::bench
