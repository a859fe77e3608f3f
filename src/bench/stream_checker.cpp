// Stream checker: compares (seq, part) against what the sender must have sent next.
#include "relay/bench/stream_checker.hpp"

namespace relay::bench {

arrival stream_checker::on_part(const payload_fields& f) noexcept {
  expect& e = next_[f.sender];
  if (f.seq < e.seq || (f.seq == e.seq && f.part < e.part)) return arrival::duplicate;
  if (f.seq == e.seq && f.part == e.part) {
    if (f.part + 1 == f.parts) {
      ++e.seq;
      e.part = 0;
      return arrival::complete;
    }
    ++e.part;
    return arrival::partial;
  }
  // Ahead of expectations: everything from e.seq up to f.seq is lost; a part missing inside
  // f.seq loses f.seq too, and its later parts then read as duplicates.
  lost_ += f.seq - e.seq;
  if (f.part == 0 && f.parts == 1) {
    e.seq = f.seq + 1;
    e.part = 0;
  } else if (f.part == 0) {
    e.seq = f.seq;
    e.part = 1;
  } else {
    ++lost_;
    e.seq = f.seq + 1;
    e.part = 0;
  }
  return arrival::gap;
}

}  // namespace relay::bench
