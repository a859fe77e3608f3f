// In-process relay for integration tests.
#include "support/relay_fixture.hpp"

#include <cstdlib>
#include <future>

#include "relay/crypto/sodium.hpp"
#include "relay/util/log.hpp"

namespace relay::test {

server::relay_config test_config(const std::string& dir) {
  server::relay_config c;
  c.port = 0;
  c.db_path = dir + "/relay.db";
  c.argon2 = {1, 1024, 1};
  c.workers = 2;
  // Tests sign up crowds from 127.0.0.1; the per-address limit has its own tests, which set it.
  c.max_signups_per_address = 0;
  c.max_pending_auth_per_address = c.max_pending_auth;  // likewise
  return c;
}

relay_fixture::relay_fixture(server::relay_config cfg) {
  crypto::init();
  // Quiet by default; RELAY_TEST_LOG=debug (or info) shows the relay's log.
  log::level level = log::level::warn;
  if (const char* env = std::getenv("RELAY_TEST_LOG")) (void)log::parse_level(env, level);
  log::set_level(level);
  relay_ = std::make_unique<server::relay_server>(io_, std::move(cfg));
  port_ = relay_->port();
  key_ = relay_->static_key().pub();
  relay_->start();
  thread_ = std::thread([this] {
    while (io_.run_one() != 0) ++handlers_;  // io_.run(), counting
  });
}

relay_fixture::~relay_fixture() {
  stop();
  relay_.reset();
}

void relay_fixture::stop() {
  if (stopped_) return;
  stopped_ = true;
  net::post(io_, [this] { relay_->stop([this] { io_.stop(); }); });
  thread_.join();
}

std::string relay_fixture::console(const std::string& name, std::vector<std::string> args) {
  auto answer = std::make_shared<std::promise<std::string>>();
  auto f = answer->get_future();
  net::post(io_, [this, name, args = std::move(args), answer] {
    relay_->run_command(name, args, [answer](std::string s) { answer->set_value(std::move(s)); });
  });
  if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return "<no answer>";
  return f.get();
}

}  // namespace relay::test
