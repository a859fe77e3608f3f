// An in-process relay on 127.0.0.1:0 with its own io thread, database in a temp dir and cheap
// Argon2 parameters, for integration tests over real loopback sockets.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "relay/net.hpp"
#include "relay/server/config.hpp"
#include "relay/server/relay_server.hpp"

namespace relay::test {

/// Config for tests: port 0, database and key in `dir`, Argon2 m=1 MiB t=1.
server::relay_config test_config(const std::string& dir);

class relay_fixture {
 public:
  explicit relay_fixture(server::relay_config cfg);
  /// Stops the relay cleanly (as on SIGTERM) and joins the io thread.
  ~relay_fixture();
  std::uint16_t port() const noexcept { return port_; }
  crypto::public_key key() const { return key_; }
  /// Runs a console command on the io thread and returns its answer.
  std::string console(const std::string& name, std::vector<std::string> args = {});
  /// Stops the relay now (idempotent).
  void stop();
  /// Handlers the relay's io thread has run so far (the event loop's work, counted).
  std::uint64_t handlers_run() const noexcept { return handlers_.load(); }

 private:
  net::io_context io_{1};
  std::unique_ptr<server::relay_server> relay_;
  std::thread thread_;
  std::atomic<std::uint64_t> handlers_{0};
  std::uint16_t port_ = 0;
  crypto::public_key key_{};
  bool stopped_ = false;
};

}  // namespace relay::test
