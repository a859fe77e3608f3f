// The terminal client: prompts, sign-in/sign-up flow, then the chat loop. Network work runs
// on one io_context thread; a stdin thread reads lines and posts them to it.
#include "relay/client/app.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "relay/client/chat.hpp"
#include "relay/client/contacts.hpp"
#include "relay/client/data_dir.hpp"
#include "relay/client/display.hpp"
#include "relay/client/input.hpp"
#include "relay/client/link.hpp"
#include "relay/crypto/key_file.hpp"
#include "relay/crypto/safety_number.hpp"
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

// Terminal settings to put back if a signal ends us while echo is off.
termios saved_terminal{};
volatile std::sig_atomic_t echo_is_off = 0;

extern "C" void restore_terminal_and_die(int sig) {
  if (echo_is_off) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);  // async-signal-safe
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

/// Reads a line with terminal echo off (when stdin is a terminal). Ctrl-C, SIGTERM or SIGHUP
/// meanwhile still restore echo before the process ends.
std::optional<std::string> read_secret(line_reader& in) {
  const bool tty = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_terminal) == 0;
  struct sigaction act {
  }, old_int{}, old_term{}, old_hup{};
  if (tty) {
    act.sa_handler = restore_terminal_and_die;
    sigemptyset(&act.sa_mask);
    ::sigaction(SIGINT, &act, &old_int);
    ::sigaction(SIGTERM, &act, &old_term);
    ::sigaction(SIGHUP, &act, &old_hup);
    termios quiet = saved_terminal;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    echo_is_off = 1;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  auto line = in.next();
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
    echo_is_off = 0;
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    ::sigaction(SIGHUP, &old_hup, nullptr);
  }
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
int chat_loop(net::io_context& io, link& l, chat& c, line_reader& lines, contact_book& book,
              const std::function<void()>& save_book, const std::function<void()>& save_seen) {
  std::atomic<bool> stop{false};
  int code = exit_ok;
  std::uint32_t next_id = 1;
  bool snapshot_done = false;
  // Contacts whose announced key differs from the pin, and what is waiting for them.
  std::set<std::string> untrusted;
  std::map<std::string, std::vector<std::string>> held;

  auto transmit = [&](const std::string& to, const std::string& text) {
    auto sealed = c.seal_to(to, text);
    if (!sealed) {
      say("! not sent to " + to + ": " + sealed.error().message());
      return;
    }
    l.send(proto::send{next_id++, to, std::move(*sealed)});
  };
  auto release_held = [&](const std::string& name) {
    auto it = held.find(name);
    if (it == held.end()) return;
    auto texts = std::move(it->second);
    held.erase(it);
    if (!c.is_online(name)) {
      held[name] = std::move(texts);  // keep them until name is back
      return;
    }
    say("* sending " + std::to_string(texts.size()) + " held message(s) to " + name);
    for (const auto& t : texts) transmit(name, t);
  };
  // Checks an announced key against the pin; prints what a person must know.
  auto check_key = [&](const std::string& name, const crypto::public_key& key, bool quiet) {
    const contact* before = book.find(name);
    const std::optional<contact> old = before ? std::optional<contact>(*before) : std::nullopt;
    switch (book.see(name, key)) {
      case key_check::new_contact:
        save_book();
        say("* new contact " + name + ": key " + crypto::short_fingerprint(key) +
            " pinned (compare safety numbers with /verify " + name + ")");
        return;
      case key_check::same:
        if (untrusted.erase(name) && !quiet) say("* " + name + " is back on the pinned key");
        release_held(name);
        return;
      case key_check::changed:
      case key_check::changed_verified:
        untrusted.insert(name);
        say("!!! WARNING: " + name + "'s identity key has CHANGED !!!");
        say("!   pinned key:    " + crypto::short_fingerprint(old->key) +
            (old->verified ? "  (verified)" : ""));
        say("!   announced key: " + crypto::short_fingerprint(key));
        say("!   " + name + " may have signed in from a new device, or someone (the relay?)");
        say("!   is impersonating " + name + ". Messages to " + name + " are held until you");
        if (old->verified) {
          say("!   compare safety numbers again: /verify " + name);
        } else {
          say("!   /accept " + name + " (or compare safety numbers: /verify " + name + ")");
        }
        return;
    }
  };

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
          switch (ev.what) {
            case roster_event::kind::joined:
              if (!p->snapshot) {
                say("* " + ev.name + " joined (key " + crypto::short_fingerprint(ev.key) + ")");
              }
              check_key(ev.name, ev.key, p->snapshot);
              break;
            case roster_event::kind::left:
              say("* " + ev.name + " left");
              break;
            case roster_event::kind::key_changed:
              say("* " + ev.name + " signed in again, with key " +
                  crypto::short_fingerprint(ev.key));
              check_key(ev.name, ev.key, false);
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
          save_seen();
          say(printable(d->from) +
              (untrusted.count(d->from) ? " (KEY CHANGED, not accepted)" : "") + ": " +
              printable(*text));
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
        const contact* k = book.find(name);
        const char* trust = untrusted.count(name) ? "KEY CHANGED"
                            : (k && k->verified)  ? "verified"
                                                  : "unverified";
        say("* " + name + "  key " + crypto::short_fingerprint(key) + "  " + trust);
      }
    } else if (auto* a = std::get_if<accept_line>(&in)) {
      const contact* k = book.find(a->name);
      auto it = c.online().find(a->name);
      if (!untrusted.count(a->name) || it == c.online().end()) {
        say("! nothing to accept: " + a->name + "'s key has not changed" +
            (it == c.online().end() ? " (or " + a->name + " is not online)" : ""));
      } else if (k && k->verified) {
        say("! " + a->name + " was verified: compare safety numbers again with /verify " + a->name);
      } else {
        book.accept(a->name, it->second);
        save_book();
        untrusted.erase(a->name);
        say("* accepted " + a->name + "'s new key " + crypto::short_fingerprint(it->second));
        release_held(a->name);
      }
    } else if (auto* v = std::get_if<verify_line>(&in)) {
      auto it = c.online().find(v->name);
      if (it == c.online().end()) {
        say("! " + v->name + " is not online: their current key is unknown");
      } else if (!v->confirm) {
        say("* safety number with " + v->name + ":");
        say("    " + crypto::safety_number(c.me(), c.identity().pub(), v->name, it->second));
        say("* compare it with what " + v->name + " sees (in person or by phone). If it");
        say("* matches, type /verify " + v->name + " confirm");
      } else {
        book.verify(v->name, it->second);
        save_book();
        untrusted.erase(v->name);
        say("* " + v->name + " is now verified (key " + crypto::short_fingerprint(it->second) +
            ")");
        release_held(v->name);
      }
    } else if (std::holds_alternative<quit_line>(in)) {
      for (const auto& [name, texts] : held) {
        if (!texts.empty()) {
          say("! " + std::to_string(texts.size()) + " held message(s) to " + name +
              " were not sent");
        }
      }
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
      if (s->text.size() > crypto::max_text) {
        say("! not sent: messages are at most " + std::to_string(crypto::max_text) + " bytes");
        return;
      }
      if (untrusted.count(s->to)) {
        held[s->to].push_back(s->text);
        const contact* k = book.find(s->to);
        say("! held for " + s->to + " (key changed): " +
            (k && k->verified ? "/verify " + s->to : "/accept " + s->to + " or /verify " + s->to) +
            " to send");
        return;
      }
      transmit(s->to, s->text);
    }
  };

  net::co_spawn(io, reader, net::detached);
  // Ctrl-C and SIGTERM leave like /quit: goodbye sent, exit code 0.
  net::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec && !stop) on_line("/quit");
  });
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
    run_until_done(io, [](std::shared_ptr<link> old) -> awaitable<bool> {
      co_await old->flush();  // so the relay sees a goodbye, not a dropped connection
      old->close();
      co_return true;
    }(l));
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
  auto book = contact_book::parse(dir.read_contacts(relay_id, name));
  if (!book) {
    say("error: " + dir.contacts_path(relay_id, name).string() +
        " is damaged; not continuing (it holds your contacts' pinned keys)");
    return exit_failure;
  }
  auto save_book = [&] {
    try {
      dir.write_contacts(relay_id, name, book->serialise());
    } catch (const std::exception& e) {
      say(std::string("warning: could not save contact keys: ") + e.what());
    }
  };
  chat c(name, std::move(*identity), crypto::os_random());
  c.restore_seen(chat::parse_seen(dir.read_seen(relay_id, name)));
  auto save_seen = [&] {
    try {
      dir.write_seen(relay_id, name, chat::format_seen(c.seen()));
    } catch (const std::exception& e) {
      say(std::string("warning: could not save message counters: ") + e.what());
    }
  };
  return chat_loop(io, *l, c, in, *book, save_book, save_seen);
}

}  // namespace relay::client
