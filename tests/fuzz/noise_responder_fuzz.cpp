// Fuzzes noise_session as the responder (the relay's side): XX message 1 from the input, our
// message 2, then message 3 from the rest of the input. Input: u16 len | message 1 | message 3.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "relay/transport/noise.hpp"

using namespace relay;
using fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input_reader in(data, size);
  crypto::scripted_random rng;
  fuzz::script_ephemeral(rng, fuzz::responder_ephemeral);
  // As the relay runs it: AESGCM when message 1 offers it (where the CPU has AES-NI).
  transport::noise_session responder(transport::noise_session::role::responder,
                                     fuzz::responder_static(), rng, true,
                                     transport::cipher_choice::aesgcm_if_available);

  const auto p1 = responder.read_handshake(in.chunk());
  if (!p1) {
    check(!responder.write_handshake({}).has_value());  // a handshake error is final
    return 0;
  }
  check(responder.my_turn() && responder.remote_static() == nullptr);
  const auto m2 = responder.write_handshake(as_bytes(fuzz::payload2));
  if (!m2) {
    // Only a low-order initiator ephemeral can make writing message 2 fail.
    check(m2.error() == transport::noise_errc::low_order_key);
    return 0;
  }
  check(!responder.my_turn() && !responder.handshake_done());

  const auto p3 = responder.read_handshake(in.rest());
  if (!p3) {
    check(!responder.handshake_done() && !responder.encrypt({}).has_value());
    return 0;
  }
  check(responder.handshake_done() && responder.remote_static() != nullptr);
  check(responder.handshake_hash().size() == transport::hash_size);
  check(responder.encrypt(as_bytes(fuzz::payload2)).has_value());
  return 0;
}
