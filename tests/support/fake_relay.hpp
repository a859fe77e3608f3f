// A relay that lies, for tests of how the real client takes a relay that breaks the
// protocol (a welcome for another account, a malformed frame): the harness's real relay
// never does, and a proxy cannot forge what the transport encrypts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "relay/proto/frames.hpp"
#include "relay/util/bytes.hpp"

namespace relay::test {

/// Listens on 127.0.0.1:0 with a static key of its own (the same for every connection, so a
/// client pins it once). On each connection it completes the Noise XX handshake as the
/// responder, reads the client's first frame (a sign_in or sign_up, unpadded), sends the
/// transport messages `answer` returns for it, then answers pings with pongs and drops
/// everything else until the client leaves (or says bye: see `on_bye`). A change_password or
/// delete_account ends the connection unanswered, as a relay lost before it answers. A connection
/// closed during the handshake (the client's first-use probe stops after message 2) is simply
/// ended.
class fake_relay {
 public:
  /// Plaintexts of the transport messages to send after the first frame: encode() of a
  /// frame, or any bytes (a malformed frame). Sent unpadded, as a relay may to any client.
  /// An empty one is no message but a pause of `pause` (rounds a client sees apart).
  using script = std::function<std::vector<bytes>(const proto::frame& first)>;
  static constexpr std::chrono::milliseconds pause{600};
  /// `on_bye`, if given: what to send when the client says bye (for the same first frame),
  /// after which the connection is closed, as a relay sends what it had queued (7.6).
  explicit fake_relay(script answer, script on_bye = {});
  ~fake_relay();
  fake_relay(const fake_relay&) = delete;
  fake_relay& operator=(const fake_relay&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// How many connections have sent a first frame (sign-ins answered so far).
  int sign_ins() const noexcept { return sign_ins_.load(); }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
  std::atomic<int> sign_ins_{0};
};

}  // namespace relay::test
