// Length-prefixed records: the stream framing for Noise messages.
#include "relay/proto/record.hpp"

#include <algorithm>
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
  keep();
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

void record_reader::feed_borrowed(byte_view in) {
  keep();
  if (pos_ == buf_.size()) {
    // Nothing partial is waiting: hold no buffer at all (one is made again for the next
    // record that arrives in pieces).
    pos_ = 0;
    if (buf_.capacity() != 0) bytes().swap(buf_);
    ext_ = in;
    return;
  }
  // A record is partly buffered: copy just enough of `in` to complete it, borrow the rest.
  auto take = [&](std::size_t n) {
    n = std::min(n, in.size());
    buf_.insert(buf_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
    in = in.subspan(n);
  };
  if (buffered() < 2) take(2 - buffered());
  if (buffered() >= 2) {
    const std::size_t len = std::size_t{buf_[pos_]} << 8 | buf_[pos_ + 1];
    // An invalid length fails in next(); its body is never copied.
    if (len != 0 && len <= limit_ && buffered() < 2 + len) take(2 + len - buffered());
  }
  ext_ = in;
}

void record_reader::keep() {
  if (ext_.empty()) return;
  if (pos_ == buf_.size()) {
    pos_ = 0;
    buf_.clear();
  }
  buf_.insert(buf_.end(), ext_.begin(), ext_.end());
  ext_ = {};
}

result<std::optional<byte_view>> record_reader::next() {
  if (failed_ != errc{}) return failure(make_error_code(failed_));
  const bool from_buf = pos_ != buf_.size();
  if (!from_buf && !ext_.empty()) {
    // Straight from the borrowed bytes.
    if (ext_.size() < 2) {
      keep();
      return std::optional<byte_view>{};
    }
    const std::size_t len = std::size_t{ext_[0]} << 8 | ext_[1];
    if (len == 0) failed_ = errc::empty_record;
    if (len > limit_) failed_ = errc::record_too_large;
    if (failed_ != errc{}) {
      keep();
      return failure(make_error_code(failed_));
    }
    if (ext_.size() < 2 + len) {
      keep();
      return std::optional<byte_view>{};
    }
    byte_view body = ext_.subspan(2, len);
    ext_ = ext_.subspan(2 + len);
    return std::optional<byte_view>{body};
  }
  const std::size_t have = buf_.size() - pos_;
  if (have < 2) return std::optional<byte_view>{};
  const std::size_t len = std::size_t{buf_[pos_]} << 8 | buf_[pos_ + 1];
  // Checked before waiting for the body: the length is attacker-controlled.
  if (len == 0) failed_ = errc::empty_record;
  if (len > limit_) failed_ = errc::record_too_large;
  if (failed_ != errc{}) return failure(make_error_code(failed_));
  if (have < 2 + len) return std::optional<byte_view>{};
  byte_view body{buf_.data() + pos_, 2 + len};
  body = body.subspan(2);
  pos_ += 2 + len;
  return std::optional<byte_view>{body};
}

std::string record_reader::failure_text() const {
  std::string text = make_error_code(failed_ == errc{} ? errc::truncated : failed_).message();
  if (failed_ != errc::record_too_large || buf_.size() - pos_ < 2) return text;
  const byte hi = buf_[pos_], lo = buf_[pos_ + 1];
  text += " (" + std::to_string(std::size_t{hi} << 8 | lo) + " bytes declared, at most " +
          std::to_string(limit_) + ")";
  const auto printable = [](byte b) { return b >= 0x20 && b < 0x7f; };
  if (printable(hi) && printable(lo)) {
    text += std::string("; it starts with the text \"") + static_cast<char>(hi) +
            static_cast<char>(lo) + "\": another protocol (HTTP, SSH?) spoken to the relay";
  } else if (hi == 0x16 && lo == 0x03) {
    text += "; it starts like a TLS handshake: a client speaking TLS to the relay";
  }
  return text;
}

}  // namespace relay::proto
