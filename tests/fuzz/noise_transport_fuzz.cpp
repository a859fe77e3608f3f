// Fuzzes noise_session transport messages after a real (deterministic) XX handshake. The input
// is a list of (u8 mode, u16 len, bytes): mode bit 0 clear: the responder decrypts the bytes as
// a message from the initiator; set: the bytes go responder -> initiator and must come back.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "relay/transport/noise.hpp"

using namespace relay;
using fuzz::check;
using role = transport::noise_session::role;

namespace {

// One handshake with `choice`, then the input's messages through it.
void run(transport::cipher_choice choice, const std::uint8_t* data, std::size_t size) {
  crypto::scripted_random irng, rrng;
  fuzz::script_ephemeral(irng, fuzz::initiator_ephemeral);
  fuzz::script_ephemeral(rrng, fuzz::responder_ephemeral);
  transport::noise_session initiator(role::initiator, fuzz::initiator_static(), irng, true, choice);
  transport::noise_session responder(role::responder, fuzz::responder_static(), rrng, true, choice);
  fuzz::handshake(initiator, responder);

  fuzz::input_reader in(data, size);
  while (!in.empty()) {
    const byte mode = in.u8();
    const byte_view chunk = in.chunk();
    if ((mode & 1) == 0) {
      const auto pt = responder.decrypt(chunk);
      if (pt) check(pt->size() + transport::tag_size == chunk.size());
      continue;
    }
    const auto ct = responder.encrypt(chunk);
    if (chunk.size() > transport::max_plaintext) {
      check(!ct.has_value() && ct.error() == transport::noise_errc::too_long);
      continue;
    }
    check(ct.has_value() && ct->size() == chunk.size() + transport::tag_size);
    const auto pt = initiator.decrypt(*ct);
    check(pt.has_value() && std::equal(pt->begin(), pt->end(), chunk.begin(), chunk.end()));
    check(!initiator.decrypt(*ct).has_value());  // a replay fails
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // As our client and relay negotiate (AESGCM where the CPU has AES-NI), and ChaChaPoly,
  // which every client without an AES offer gets (crypto/chachapoly.hpp builds its AEAD).
  run(transport::cipher_choice::aesgcm_if_available, data, size);
  run(transport::cipher_choice::chachapoly, data, size);
  return 0;
}
