// `node -s`: run the relay in the foreground with the operator console on stdin.
#pragma once

#include "relay/server/config.hpp"

namespace relay::server {

/// Runs until SIGINT/SIGTERM or the console's `quit`; returns the process exit code.
int run_relay(const relay_config& cfg);

}  // namespace relay::server
