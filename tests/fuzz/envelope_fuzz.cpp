// Fuzzes the end-to-end envelope: the input as a padded plaintext (must re-encode to itself)
// and as a sealed envelope from alice to bob, who also has a session key for version 3 (if it
// opens, its size must be the one seal() gives, and re-sealing a version 1 or 2 envelope with
// its nonce must give the input back).
#include "relay/crypto/envelope.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"

using namespace relay;
using fuzz::check;

namespace {

const crypto::key_pair& alice() {
  static const crypto::key_pair k = fuzz::fixed_key(0x33);
  return k;
}
const crypto::key_pair& bob() {
  static const crypto::key_pair k = fuzz::fixed_key(0x44);
  return k;
}
const crypto::key_pair& bob_session() {
  static const crypto::key_pair k = fuzz::fixed_key(0x55);
  return k;
}

constexpr std::size_t nonce_size = 24;

bool same(const bytes& a, byte_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const byte_view in(data, size);

  if (auto m = crypto::decode_envelope_plaintext(in)) {
    check(m->text.size() <= crypto::max_text);
    check(same(crypto::encode_envelope_plaintext(*m), in));
  }

  auto opened = crypto::open(in, bob(), alice().pub(), &bob_session());
  if (opened) {
    check(in.size() == crypto::sealed_size(opened->from.size(), opened->to.size(),
                                           opened->text.size(), opened->version));
    if (opened->version < crypto::session_envelope_version) {
      crypto::scripted_random rng;
      rng.push(bytes(in.begin(), in.begin() + nonce_size));
      check(same(crypto::seal(*opened, alice(), bob().pub(), rng), in));
    }
  }
  return 0;
}
