// Per sender->receiver stream bookkeeping: what each receiver expects next from each sender,
// so lost, duplicated and reordered messages are counted without storing the messages.
// The relay (and an IRC server) keeps one sender's messages to one receiver in order.
#pragma once

#include <cstdint>
#include <vector>

#include "relay/bench/payload.hpp"

namespace relay::bench {

/// What one arriving part means.
enum class arrival {
  partial,    ///< an expected part of a multi-line message, more to come
  complete,   ///< the last part of the next expected message: one delivery
  duplicate,  ///< a part already seen (or older)
  gap,        ///< later than expected: the messages in between are lost (see lost()); a single-part
              ///< `f` is itself delivered
};

/// Expectations of one receiver for `senders` senders.
class stream_checker {
 public:
  explicit stream_checker(std::uint32_t senders = 0) : next_(senders) {}
  /// Classifies the arrival of `f` (f.sender < senders). A gap counts its skipped messages
  /// in lost() and resynchronises after `f`.
  arrival on_part(const payload_fields& f) noexcept;
  /// Messages fully received from `sender`.
  std::uint64_t received_from(std::uint32_t sender) const noexcept { return next_[sender].seq; }
  /// Messages known lost from gaps so far.
  std::uint64_t lost() const noexcept { return lost_; }

 private:
  struct expect {
    std::uint64_t seq = 0;
    std::uint8_t part = 0;
  };
  std::vector<expect> next_;
  std::uint64_t lost_ = 0;
};

}  // namespace relay::bench
