// libsodium initialisation (idempotent; sodium_init is thread-safe after the first call).
#include "relay/crypto/sodium.hpp"

#include <sodium.h>

#include <stdexcept>

namespace relay::crypto {

void init() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace relay::crypto
