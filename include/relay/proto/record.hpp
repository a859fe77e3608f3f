// Stream framing under everything: each record is a 2-byte big-endian length and that many
// bytes (one Noise message). Sans-I/O: feed bytes as they arrive, take whole records out.
//
//   +--------+--------+==========================+
//   | len hi | len lo |  body: len bytes (1..N)  |
//   +--------+--------+==========================+
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "relay/proto/errc.hpp"
#include "relay/util/bytes.hpp"
#include "relay/util/result.hpp"

namespace relay::proto {

/// Buffers that grew past this for a large record are released once drained.
inline constexpr std::size_t shrink_above = 16384;
/// The largest body a record can carry (the Noise message limit).
inline constexpr std::size_t max_record = 65535;

/// Appends one record (length prefix + body) to `out`; body must be 1..max_record bytes.
void append_record(bytes& out, byte_view body);

/// Incremental record reader; the length is checked before any body byte is buffered.
class record_reader {
 public:
  /// Records longer than `limit` (<= max_record) are rejected with errc::record_too_large.
  explicit record_reader(std::size_t limit = max_record) { set_limit(limit); }
  /// Changes the limit for records not yet returned (e.g. raised after a handshake).
  void set_limit(std::size_t limit) noexcept {
    limit_ = static_cast<std::uint32_t>(std::min(limit, max_record));
  }
  /// Buffers bytes from the stream.
  void feed(byte_view in);
  /// Like feed(), but borrows `in` instead of copying it: records are returned straight from
  /// it, and only a partial record left at its end is copied (when next() runs out). `in`
  /// must stay valid and unchanged until next() returns "need more" or an error, or keep()
  /// is called. A relay reading into one buffer shared by all connections copies almost
  /// nothing, and an idle connection holds no buffered bytes.
  void feed_borrowed(byte_view in);
  /// Copies whatever is still borrowed, so the caller may reuse its buffer now.
  void keep();
  /// The next whole record; nullopt when more bytes are needed; an error poisons the reader.
  /// A returned view is valid until the next call to feed(), feed_borrowed(), next() or keep().
  result<std::optional<byte_view>> next();
  /// Bytes buffered (or borrowed) but not yet returned.
  std::size_t buffered() const noexcept { return buf_.size() - pos_ + ext_.size(); }
  /// After next() failed: why, in words for a log, with the length declared and the limit,
  /// and what the two length bytes look like when they are not a length at all (text such
  /// as "GE" of an HTTP request, or a TLS handshake's first bytes).
  std::string failure_text() const;

 private:
  bytes buf_;
  std::size_t pos_ = 0;
  byte_view ext_;  // borrowed bytes after everything in buf_
  // Packed (not a size_t and a std::error_code): the relay keeps a reader per connection.
  std::uint32_t limit_ = 0;
  errc failed_{};  // errc{} while healthy
};

}  // namespace relay::proto
