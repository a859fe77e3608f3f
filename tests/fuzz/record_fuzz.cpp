// Fuzzes proto::record_reader: the stream, fed in pieces whose sizes the input chooses, must
// give exactly the records (and the error) a reference parse finds, and re-encode to itself.
#include "relay/proto/record.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "fuzz_support.hpp"

using namespace relay;
using fuzz::check;

namespace {

// The reference: where the stream's whole records end, and whether a bad length follows.
struct expected_records {
  std::size_t consumed = 0;  // bytes of whole, valid records
  bool error = false;        // a complete length header of 0 or over the limit
};

expected_records reference(byte_view s, std::size_t limit) {
  expected_records e;
  while (s.size() - e.consumed >= 2) {
    const std::size_t len = std::size_t{s[e.consumed]} << 8 | s[e.consumed + 1];
    if (len == 0 || len > limit) {
      e.error = true;
      break;
    }
    if (s.size() - e.consumed - 2 < len) break;
    e.consumed += 2 + len;
  }
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input_reader in(data, size);
  // Byte 0 picks the limit (255: max_record, else 1..255) and byte 1 seeds the piece sizes.
  const byte limit_byte = in.u8();
  const std::size_t limit = limit_byte == 0xff ? proto::max_record : std::size_t{limit_byte} + 1;
  std::uint32_t state = 0x9e3779b9u ^ in.u8();
  const byte_view stream = in.rest();
  const expected_records want = reference(stream, limit);

  proto::record_reader reader(limit);
  bytes reencoded;
  std::size_t fed = 0;
  bool failed = false;
  while (!failed) {
    // Drain everything the bytes fed so far complete.
    for (;;) {
      auto r = reader.next();
      if (!r) {
        failed = true;
        break;
      }
      if (!*r) break;
      const byte_view body = **r;
      check(!body.empty() && body.size() <= limit);
      proto::append_record(reencoded, body);  // before feed(): the view points into the reader
    }
    if (failed || fed == stream.size()) break;
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    // Mostly small pieces (0 included), sometimes big ones that complete large records.
    const std::size_t want_piece = (state & 7) == 0 ? state % 20000 : state % 40;
    const std::size_t piece = std::min(want_piece, stream.size() - fed);
    reader.feed(stream.subspan(fed, piece));  // pieces of 0 bytes are fed too
    fed += piece;
  }

  check(failed == want.error);
  check(reencoded.size() == want.consumed);
  check(std::equal(reencoded.begin(), reencoded.end(), stream.begin()));
  if (failed) {
    check(!reader.next().has_value());  // an error poisons the reader
  } else {
    check(reader.buffered() == stream.size() - want.consumed);
    check(reader.next().has_value());
  }
  return 0;
}
