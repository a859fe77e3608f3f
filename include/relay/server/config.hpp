// Everything the relay can be told on its command line, with the embedded defaults.
#pragma once

#include <cstdint>
#include <string>

#include "relay/crypto/password.hpp"

namespace relay::server {

struct relay_config {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 20001;  ///< 0 picks a free port (tests)
  std::string db_path = "relay.db";
  std::string key_path;            ///< empty: beside the database (<db without extension>.key)
  crypto::argon2_params argon2{};  ///< for new hashes; old hashes keep their own parameters
  unsigned workers = 2;            ///< Argon2 worker threads
  unsigned max_pending_auth = 64;  ///< queued sign-ins beyond this are answered "busy"
  unsigned max_failures_per_connection = 3;
};

}  // namespace relay::server
