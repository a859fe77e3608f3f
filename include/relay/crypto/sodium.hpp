// The one place that initialises libsodium. Call init() once, before threads start.
#pragma once

namespace relay::crypto {

/// Initialises libsodium; throws std::runtime_error if it cannot. Safe to call repeatedly.
void init();

}  // namespace relay::crypto
