// Fuzzes proto::decode, batch_reader and unpad. Encodings are canonical (one encoding per value:
// exact lengths, no trailing bytes, flags and enums checked), so a decoded frame must
// re-encode to the input, and a batch read entry by entry must rebuild to the input.
#include "relay/proto/frames.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <variant>

#include "fuzz_support.hpp"

using namespace relay;
using fuzz::check;

namespace {
void batch_round_trip(byte_view in) {
  proto::batch_reader r(in);
  proto::batch_writer w;
  while (true) {
    auto f = r.next();
    if (!f) return;  // malformed: refused, nothing to compare
    if (!*f) break;
    check(!(*f)->empty() && (*f)->data() >= in.data() &&
          (*f)->data() + (*f)->size() <= in.data() + in.size());
    if (r.is_batch()) {
      check((*f)->size() <= w.room());
      w.add(**f);
    }
  }
  if (!r.is_batch() || w.count() == 1) return;  // a lone frame, or a batch of one entry
  const byte_view rebuilt = w.plaintext();
  check(rebuilt.size() == in.size() && std::equal(rebuilt.begin(), rebuilt.end(), in.begin()));
}

// A padded message that unpads must be rebuilt, byte for byte, by pad() from its content.
void padded_round_trip(byte_view in) {
  auto content = proto::unpad(in);
  if (!content || in.empty() || in[0] != static_cast<byte>(proto::frame_type::padded)) return;
  check(!content->empty() && content->data() == in.data() + proto::padded_header);
  bytes again;
  proto::pad(*content, in.size(), again);
  check(std::equal(again.begin(), again.end(), in.begin(), in.end()));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const byte_view in(data, size);
  if (size <= proto::max_frame) {
    batch_round_trip(in);
    padded_round_trip(in);
  }
  auto f = proto::decode(in);
  if (!f) return 0;
  check(size <= proto::max_frame);
  const bytes again = proto::encode(*f);
  check(again.size() == size && std::equal(again.begin(), again.end(), in.begin()));
  auto twice = proto::decode(again);
  check(twice.has_value() && *twice == *f);
  check(proto::type_name(*f) != nullptr);

  if (const auto* p = std::get_if<proto::presence>(&*f)) {
    std::size_t n = proto::presence_header;
    for (const auto& e : p->entries) n += proto::encoded_size(e);
    check(n == size);  // the relay splits batches with this arithmetic
  } else if (const auto* e = std::get_if<proto::error>(&*f)) {
    check(proto::describe(e->code) != nullptr);
  } else if (const auto* c = std::get_if<proto::closing>(&*f)) {
    check(proto::describe(c->code) != nullptr);
  }
  return 0;
}
