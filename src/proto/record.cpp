// Length-prefixed records: the stream framing for Noise messages.
#include "relay/proto/record.hpp"

#include <stdexcept>

#include "relay/proto/errc.hpp"

namespace relay::proto {

void append_record(bytes& out, byte_view body) {
  if (body.empty() || body.size() > max_record) throw std::length_error("record body size");
  out.push_back(static_cast<byte>(body.size() >> 8));
  out.push_back(static_cast<byte>(body.size() & 0xff));
  out.insert(out.end(), body.begin(), body.end());
}

void record_reader::feed(byte_view in) {
  if (pos_ == buf_.size()) {
    // Everything was consumed: start over, and give back a buffer a big record left behind.
    pos_ = 0;
    buf_.clear();
    if (buf_.capacity() > shrink_above) bytes().swap(buf_);
  } else if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    // Compact lazily: drop consumed bytes only when they dominate the buffer.
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), in.begin(), in.end());
}

result<std::optional<byte_view>> record_reader::next() {
  if (failed_) return failure(failed_);
  if (buffered() < 2) return std::optional<byte_view>{};
  const std::size_t len = std::size_t{buf_[pos_]} << 8 | buf_[pos_ + 1];
  // Checked before waiting for the body: the length is attacker-controlled.
  if (len == 0) failed_ = make_error_code(errc::empty_record);
  if (len > limit_) failed_ = make_error_code(errc::record_too_large);
  if (failed_) return failure(failed_);
  if (buffered() < 2 + len) return std::optional<byte_view>{};
  byte_view body{buf_.data() + pos_ + 2, len};
  pos_ += 2 + len;
  return std::optional<byte_view>{body};
}

}  // namespace relay::proto
