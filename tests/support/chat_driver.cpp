// The pty chat-client driver for end-to-end tests.
#include "support/chat_driver.hpp"

#include <chrono>
#include <thread>

namespace relay::test {
namespace {

/// Matches a short key fingerprint with its closing parenthesis; group 1 is the fingerprint.
const std::string key_pattern = R"(\(key ([0-9a-f]{4}(?: [0-9a-f]{4}){7})\))";

/// Records `r` as a failure unless it succeeded; whether it failed.
bool failed(const ::testing::AssertionResult& r) {
  if (!r) ADD_FAILURE() << r.message();
  return !r;
}

}  // namespace

::testing::AssertionResult saw(pty_process& p, std::string_view text) {
  if (p.wait_for(text)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << p.describe("never printed: " + std::string(text));
}

::testing::AssertionResult saw(pty_process& p, const std::regex& re, std::string_view what) {
  if (p.wait_for(re)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << p.describe("never printed: " + std::string(what));
}

std::string saw_capture(pty_process& p, const std::regex& re, std::string_view what) {
  auto out = p.read_until(re);
  if (!out) {
    ADD_FAILURE() << p.describe("never printed: " + std::string(what));
    return {};
  }
  return capture(*out, re);
}

::testing::AssertionResult exited_with(pty_process& p, int code) {
  auto status = p.wait_exit();
  if (status == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << p.describe("expected exit code " + std::to_string(code) + ", got " +
                       (status ? std::to_string(*status) : std::string("still running")));
}

::testing::AssertionResult never_printed(const pty_process& p, std::string_view secret) {
  if (p.transcript().find(secret) == std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << p.describe("printed the secret " + std::string(secret));
}

std::string capture(const std::string& text, const std::regex& re) {
  std::smatch m;
  return std::regex_search(text, m, re) ? m[1].str() : std::string();
}

std::unique_ptr<pty_process> start_client(const temp_dir& dir, std::uint16_t port,
                                          const std::string& home,
                                          const std::vector<std::string>& extra,
                                          unsigned short columns) {
  std::vector<std::string> argv = {RELAY_NODE_BINARY, "--port", std::to_string(port), "--home",
                                   (dir.path() / home).string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<pty_process>(
      pty_options{.argv = argv,
                  .working_dir = dir.path(),
                  // The line editor, timestamps, but no colour: tests match plain text, and
                  // do not depend on the TERM of whoever runs them.
                  .env = {{"HOME", dir.path().string()},
                          {"XDG_DATA_HOME", dir.file("xdg")},
                          {"TERM", "xterm"},
                          {"NO_COLOR", "1"}},
                  .label = home,
                  .columns = columns});
}

std::size_t occurrences(const std::string& haystack, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

::testing::AssertionResult reach_name_prompt(pty_process& c) {
  // "user name: ", or "user name [alice]: " with the name last used in this --home.
  static const std::regex either(
      R"(user name: |user name \[[a-z0-9_.-]+\]: |\[yes/no/fingerprint\] )");
  auto out = c.read_until(either);
  if (!out) return ::testing::AssertionFailure() << c.describe("no name prompt");
  if (!out->ends_with("[yes/no/fingerprint] ")) return ::testing::AssertionSuccess();
  c.send_line("yes");
  return saw(c, std::regex(R"(user name: |user name \[[a-z0-9_.-]+\]: )"), "the name prompt");
}

::testing::AssertionResult type_credentials(pty_process& c, const std::string& name,
                                            const std::string& password) {
  if (auto r = reach_name_prompt(c); !r) return r;
  c.send_line(name);
  return type_password(c, password);
}

::testing::AssertionResult type_password(pty_process& c, const std::string& password) {
  if (auto r = saw(c, "password: "); !r) return r;
  if (!c.wait_echo_off()) return ::testing::AssertionFailure() << c.describe("echo stays on");
  c.send_line(password);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult reach_sign_up_offer(pty_process& c, const std::string& name,
                                               const std::string& password) {
  if (auto r = type_credentials(c, name, password); !r) return r;
  if (auto r = saw(c, "sign-in failed: invalid credentials"); !r) return r;
  return saw(c, "Create a new account named '" + name + "'? [y/N] ");
}

::testing::AssertionResult accept_sign_up_offer(pty_process& c, const std::string& confirmation) {
  c.send_line("y");
  if (auto r = saw(c, "confirm password: "); !r) return r;
  if (!c.wait_echo_off())
    return ::testing::AssertionFailure() << c.describe("echo stays on at the confirmation prompt");
  c.send_line(confirmation);
  return ::testing::AssertionSuccess();
}

std::string sign_up(pty_process& c, const std::string& name, const std::string& password) {
  if (failed(reach_sign_up_offer(c, name, password)) || failed(accept_sign_up_offer(c, password)))
    return {};
  return saw_capture(c, std::regex("account created\n +signed in as " + name + " " + key_pattern),
                     "sign-up of " + name);
}

std::string sign_in(pty_process& c, const std::string& name, const std::string& password) {
  if (failed(type_credentials(c, name, password))) return {};
  auto out = c.read_until(std::regex("signed in as " + name + " " + key_pattern +
                                     "|Create a new account|sign-in failed"));
  if (!out || out->find(" (key ") == std::string::npos) {
    ADD_FAILURE() << c.describe("sign-in of " + name + " did not succeed");
    return {};
  }
  return capture(*out, std::regex(key_pattern));
}

::testing::AssertionResult type_password_change(pty_process& c, const std::string& current,
                                                const std::string& fresh,
                                                const std::string& again) {
  c.send_line("/password");
  for (const auto& [prompt, typed] :
       {std::pair{"current password: ", &current}, std::pair{"new password: ", &fresh},
        std::pair{"new password again: ", &again}}) {
    if (auto r = saw(c, prompt); !r) return r;
    c.send_line(*typed);
  }
  return ::testing::AssertionSuccess();
}

signed_up_pair sign_up_pair(const temp_dir& dir, std::uint16_t port, const account& first,
                            const account& second) {
  signed_up_pair p;
  p.first = start_client(dir, port, first.name);
  p.second = start_client(dir, port, second.name);
  p.first_key = sign_up(*p.first, first.name, first.password);
  if (!p.first_key.empty()) p.second_key = sign_up(*p.second, second.name, second.password);
  if (p.second_key.empty()) return p;
  // Signed in is not yet knowing of each other: each may send to the other only once its
  // client has the other's key. Waited for without consuming output, which tests go on to read.
  const auto knows = [](const pty_process& c, const std::string& text) {
    const auto end = std::chrono::steady_clock::now() + pty_process::default_timeout;
    while (c.transcript().find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() >= end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  };
  if (!knows(*p.first, "* " + second.name + " joined") ||
      !knows(*p.second, "* online: " + first.name)) {
    ADD_FAILURE() << p.first->describe("the pair never saw each other online")
                  << p.second->describe("");
    p.second_key.clear();
  }
  return p;
}

}  // namespace relay::test
