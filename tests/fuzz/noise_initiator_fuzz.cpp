// Fuzzes noise_session as the initiator (the client's side): we write XX message 1, the input
// is message 2; if it is accepted, message 3 must follow and finish the handshake.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "relay/transport/noise.hpp"

using namespace relay;
using fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  crypto::scripted_random rng;
  fuzz::script_ephemeral(rng, fuzz::initiator_ephemeral);
  // As our client runs it: offering AESGCM, so message 2 may be read twice (the fallback).
  transport::noise_session initiator(transport::noise_session::role::initiator,
                                     fuzz::initiator_static(), rng, true,
                                     transport::cipher_choice::aesgcm_if_available);
  check(initiator.write_handshake(as_bytes(fuzz::payload1)).has_value());

  const auto p2 = initiator.read_handshake(byte_view(data, size));
  if (!p2) {
    check(!initiator.write_handshake({}).has_value());  // a handshake error is final
    return 0;
  }
  // Message 2 carried the relay's static key; ee and es already rejected low-order points.
  check(initiator.remote_static() != nullptr && initiator.my_turn());
  check(initiator.write_handshake(as_bytes(fuzz::payload3)).has_value());
  check(initiator.handshake_done() && initiator.handshake_hash().size() == transport::hash_size);
  return 0;
}
