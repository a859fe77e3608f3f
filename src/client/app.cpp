// The terminal client: prompts, sign-in/sign-up flow, then the chat loop. Network work runs
// on one io_context thread; a stdin thread reads lines and posts them to it.
#include "relay/client/app.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "relay/client/chat.hpp"
#include "relay/client/data_dir.hpp"
#include "relay/client/display.hpp"
#include "relay/client/input.hpp"
#include "relay/client/link.hpp"
#include "relay/crypto/key_file.hpp"
#include "relay/crypto/secret.hpp"
#include "relay/crypto/sodium.hpp"
#include "relay/proto/names.hpp"
#include "relay/util/line_reader.hpp"

namespace relay::client {
namespace {

/// A password held in guarded memory-friendly form: wiped when it goes out of scope.
struct password_text {
  std::string value;
  ~password_text() { crypto::wipe(value.data(), value.size()); }
};

void say(const std::string& s) {
  std::fputs(s.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void prompt(const char* p) {
  std::fputs(p, stdout);
  std::fflush(stdout);
}

/// Reads a line with terminal echo off (when stdin is a terminal).
std::optional<std::string> read_secret(line_reader& in) {
  termios old{};
  const bool tty = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  auto line = in.next();
  if (tty) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  return line;
}

struct sign_in_outcome {
  std::error_code link_error;            // set when the connection itself failed
  std::optional<proto::error> refused;   // set when the relay said no
  std::optional<proto::closing> closed;  // the relay closed on us
  std::string name;                      // set on welcome
};

/// Connects, checks the relay key against the pin, sends the credentials, awaits the answer.
awaitable<sign_in_outcome> attempt(link& l, const client_config& cfg, const data_dir& dir,
                                   const std::string& relay_id, bool& key_mismatch,
                                   proto::frame credentials) {
  sign_in_outcome out;
  auto check = [&](const crypto::public_key& k) {
    const std::string fp = crypto::fingerprint(k);
    if (cfg.relay_key) {
      std::string want;
      for (char c : *cfg.relay_key) {
        if (c != ' ' && c != ':') want.push_back(static_cast<char>(std::tolower(c)));
      }
      if (want != fp) {
        key_mismatch = true;
        say("error: the relay's key fingerprint is " + fp + ", but --relay-key expects " + want +
            ". Not signing in.");
        return false;
      }
      return true;
    }
    std::optional<crypto::public_key> pinned;
    try {
      pinned = dir.pinned_relay(relay_id);
    } catch (const std::exception& e) {
      say(std::string("error: ") + e.what());
      key_mismatch = true;
      return false;
    }
    if (!pinned) {
      dir.pin_relay(relay_id, k);
      say("* pinned the key of relay " + relay_id + " (first use): " + fp);
      return true;
    }
    if (*pinned != k) {
      key_mismatch = true;
      say("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@");
      say("@    WARNING: THE RELAY'S IDENTIFICATION HAS CHANGED!      @");
      say("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@");
      say("Someone could be impersonating relay " + relay_id +
          ", or its operator replaced its key.");
      say("pinned key:    " + crypto::fingerprint(*pinned));
      say("key presented: " + fp);
      say("Nothing was sent: no password, no key. If the change is legitimate (ask the operator");
      say("for the fingerprint shown by the relay's `key` command), remove the line for " +
          relay_id);
      say("from " + dir.known_relays_path().string() + " and connect again.");
      return false;
    }
    return true;
  };
  auto opened = co_await l.open(cfg.host, cfg.port, check);
  if (!opened) {
    out.link_error = opened.error();
    co_return out;
  }
  l.send(credentials);
  std::visit(
      [](auto& v) {
        if constexpr (requires { v.password; }) crypto::wipe(v.password.data(), v.password.size());
      },
      credentials);
  while (true) {
    auto f = co_await l.receive();
    if (!f) {
      out.link_error = f.error();
      co_return out;
    }
    if (auto* w = std::get_if<proto::welcome>(&*f)) {
      out.name = w->name;
      co_return out;
    }
    if (auto* e = std::get_if<proto::error>(&*f)) {
      out.refused = *e;
      co_return out;
    }
    if (auto* c = std::get_if<proto::closing>(&*f)) {
      out.closed = *c;
      co_return out;
    }
    // Anything else before welcome (e.g. ping) is ignored.
  }
}

template <class T>
T run_until_done(net::io_context& io, awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  // Stop as soon as the task is done: the link's write loop keeps the context busy.
  net::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) result = std::move(v);
    io.stop();
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

std::string roster_line(const chat& c) {
  if (c.online().empty()) return "* nobody else is online";
  std::string s = "* online:";
  for (const auto& [name, key] : c.online()) s += " " + name;
  return s;
}

/// The chat phase: prints what arrives, sends what is typed. Returns the exit code.
int chat_loop(net::io_context& io, link& l, chat& c, line_reader& lines) {
  std::atomic<bool> stop{false};
  int code = exit_ok;
  std::uint32_t next_id = 1;
  bool snapshot_done = false;

  auto reader = [&]() -> awaitable<void> {
    while (true) {
      auto f = co_await l.receive();
      if (!f) {
        if (!stop) {
          say("* connection to the relay lost: " + f.error().message());
          code = exit_failure;
        }
        break;
      }
      if (auto* p = std::get_if<proto::presence>(&*f)) {
        for (const auto& ev : c.apply(*p)) {
          if (p->snapshot) continue;
          switch (ev.what) {
            case roster_event::kind::joined:
              say("* " + ev.name + " joined (key " + crypto::short_fingerprint(ev.key) + ")");
              break;
            case roster_event::kind::left:
              say("* " + ev.name + " left");
              break;
            case roster_event::kind::key_changed:
              say("* " + ev.name + " signed in with a new key " +
                  crypto::short_fingerprint(ev.key));
              break;
          }
        }
        if (p->snapshot && p->last && !snapshot_done) {
          snapshot_done = true;
          say(roster_line(c));
        }
      } else if (auto* d = std::get_if<proto::deliver>(&*f)) {
        auto text = c.open_from(d->from, d->ciphertext);
        if (text) {
          say(printable(d->from) + ": " + printable(*text));
        } else {
          say("! rejected a message said to be from " + printable(d->from) + ": " +
              text.error().message());
        }
      } else if (auto* e = std::get_if<proto::error>(&*f)) {
        say("! " + printable(e->text));
      } else if (auto* cl = std::get_if<proto::closing>(&*f)) {
        say("* the relay closed the connection: " + printable(cl->text));
        code = exit_failure;
        break;
      } else if (auto* pg = std::get_if<proto::ping>(&*f)) {
        l.send(proto::pong{pg->token});
      }
    }
    stop = true;
    l.close();
    io.stop();
  };

  auto on_line = [&](const std::string& line) {
    auto in = parse_input(line);
    if (std::holds_alternative<empty_line>(in)) return;
    if (auto* err = std::get_if<input_error>(&in)) {
      say("! " + err->message);
    } else if (std::holds_alternative<help_line>(in)) {
      std::fputs(std::string(input_help()).c_str(), stdout);
      std::fflush(stdout);
    } else if (std::holds_alternative<who_line>(in)) {
      if (c.online().empty()) say("* nobody else is online");
      for (const auto& [name, key] : c.online()) {
        say("* " + name + "  key " + crypto::short_fingerprint(key));
      }
    } else if (std::holds_alternative<quit_line>(in)) {
      stop = true;
      l.send(proto::bye{});
      net::co_spawn(
          io,
          [&]() -> awaitable<void> {
            co_await l.flush();
            l.close();
            io.stop();
          },
          net::detached);
    } else if (auto* s = std::get_if<send_line>(&in)) {
      if (s->to != c.me() && !c.is_online(s->to)) {
        say("! " + s->to + " is not online: nothing sent");
        return;
      }
      auto sealed = c.seal_to(s->to, s->text);
      if (!sealed) {
        say("! not sent: " + sealed.error().message());
        return;
      }
      l.send(proto::send{next_id++, s->to, std::move(*sealed)});
    }
  };

  net::co_spawn(io, reader, net::detached);
  std::thread input([&] {
    while (auto line = lines.next(&stop)) {
      net::post(io, [&, text = std::move(*line)] {
        if (!stop) on_line(text);
      });
    }
    if (!stop) net::post(io, [&] { on_line("/quit"); });  // Ctrl-D
  });
  io.restart();
  io.run();
  stop = true;
  input.join();
  return code;
}

}  // namespace

int run_client(const client_config& cfg) {
  crypto::init();
  const std::string relay_id = cfg.host + ":" + std::to_string(cfg.port);
  const data_dir dir(default_home(cfg.home));
  line_reader in(STDIN_FILENO);

  prompt("user name: ");
  auto raw_name = in.next();
  if (!raw_name) return exit_failure;
  std::string name = *raw_name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (!proto::valid_name(name)) {
    say("error: invalid user name: names are " + std::string(proto::name_rules));
    return exit_failure;
  }
  prompt("password: ");
  password_text password;
  if (auto pw = read_secret(in))
    password.value = std::move(*pw);
  else
    return exit_failure;
  if (password.value.size() > proto::max_password) {
    say("error: passwords are at most 255 bytes");
    return exit_bad_credentials;
  }

  // The identity key: unlocked from this data directory, or new (a new device).
  std::optional<crypto::key_pair> identity;
  bool new_identity = false;
  try {
    if (auto file = dir.read_identity(relay_id, name)) {
      auto kp = crypto::open_key_file(*file, password.value);
      if (!kp) {
        say("sign-in failed: this password does not unlock " + name + "'s key in " +
            dir.identity_path(relay_id, name).string());
        return exit_bad_credentials;
      }
      identity.emplace(std::move(*kp));
    } else {
      identity.emplace(crypto::key_pair::generate(crypto::os_random()));
      new_identity = true;
    }
  } catch (const std::exception& e) {
    say(std::string("error: ") + e.what());
    return exit_failure;
  }
  proto::key_bytes pub;
  std::copy(identity->pub().begin(), identity->pub().end(), pub.begin());

  net::io_context io(1);
  bool key_mismatch = false;
  auto report_link_error = [&](std::error_code ec) {
    if (key_mismatch) return exit_key_mismatch;
    say("error: " + ec.message() + " (" + relay_id + ")");
    return ec == link_errc::closed || ec == link_errc::protocol ? exit_failure : exit_unreachable;
  };

  auto l = std::make_shared<link>(io);
  auto outcome = run_until_done(
      io, attempt(*l, cfg, dir, relay_id, key_mismatch, proto::sign_in{name, password.value, pub}));
  if (outcome.link_error) return report_link_error(outcome.link_error);
  if (outcome.closed) {
    say("sign-in failed: " + printable(outcome.closed->text));
    return exit_bad_credentials;
  }
  bool signed_up = false;
  if (outcome.refused) {
    if (outcome.refused->code != proto::reason::invalid_credentials) {
      say("sign-in failed: " + printable(outcome.refused->text));
      return exit_bad_credentials;
    }
    say("sign-in failed: invalid credentials");
    prompt(("Create a new account named '" + name + "'? [y/N] ").c_str());
    auto answer = in.next();
    if (!answer || (*answer != "y" && *answer != "Y" && *answer != "yes")) {
      say("no account created");
      return exit_bad_credentials;
    }
    prompt("confirm password: ");
    password_text again;
    if (auto pw = read_secret(in)) again.value = std::move(*pw);
    if (again.value != password.value) {
      say("error: the passwords do not match; no account created");
      return exit_bad_credentials;
    }
    if (!proto::acceptable_password(password.value)) {
      say("error: passwords must be 8 to 255 bytes long; no account created");
      return exit_bad_credentials;
    }
    l->send(proto::bye{});
    l->close();
    l = std::make_shared<link>(io);
    outcome = run_until_done(io, attempt(*l, cfg, dir, relay_id, key_mismatch,
                                         proto::sign_up{name, password.value, pub}));
    if (outcome.link_error) return report_link_error(outcome.link_error);
    if (outcome.refused || outcome.closed) {
      say("sign-up failed: " +
          printable(outcome.refused ? outcome.refused->text : outcome.closed->text));
      return exit_bad_credentials;
    }
    signed_up = true;
  }

  if (new_identity) {
    try {
      dir.write_identity(relay_id, name,
                         crypto::seal_key_file(*identity, password.value, crypto::os_random()));
    } catch (const std::exception& e) {
      say(std::string("warning: could not save your key: ") + e.what());
    }
  }
  say(std::string(signed_up ? "account created; signed in as " : "signed in as ") + name +
      " (your key " + crypto::short_fingerprint(identity->pub()) + ")");
  say("type NAME:MESSAGE to send, /help for commands");
  chat c(name, std::move(*identity), crypto::os_random());
  return chat_loop(io, *l, c, in);
}

}  // namespace relay::client
